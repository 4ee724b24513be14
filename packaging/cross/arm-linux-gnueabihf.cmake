# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-compiling for armhf (Raspberry Pi OS bookworm, 32-bit) with Debian's
# arm-linux-gnueabihf toolchain against a sysroot of Debian armhf packages
# (packaging/dev.sh cross-armhf). Debian's armhf is ARMv7 with VFPv3-D16
# and Thumb-2, the compiler's defaults: the programs run on the Pi 2, 3,
# 4 and Zero 2 W, not on the ARMv6 Pi 1 and Zero (README.md).
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(KVMVNC_CROSS_TRIPLET arm-linux-gnueabihf)
set(KVMVNC_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
