# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-compiling for arm64 (Raspberry Pi OS bookworm, 64-bit) with Debian's
# aarch64-linux-gnu toolchain against a sysroot of Debian arm64 packages
# (packaging/dev.sh cross-arm64).
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(KVMVNC_CROSS_TRIPLET aarch64-linux-gnu)
set(KVMVNC_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
