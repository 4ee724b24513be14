# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-compiling for arm64 (Raspberry Pi OS bookworm, 64-bit) with Debian's
# aarch64-linux-gnu toolchain against a sysroot of Debian arm64 packages
# (packaging/dev.sh cross-arm64 makes one with mmdebstrap). Programs the
# build runs (the keymap generator) run under qemu-user.
#   cmake -DCMAKE_TOOLCHAIN_FILE=packaging/cross/aarch64-linux-gnu.cmake \
#         -DKVMVNC_SYSROOT=/path/to/sysroot ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT KVMVNC_SYSROOT)
    set(KVMVNC_SYSROOT "$ENV{KVMVNC_SYSROOT}")
endif()
if(NOT IS_DIRECTORY "${KVMVNC_SYSROOT}/usr/lib/aarch64-linux-gnu")
    message(FATAL_ERROR "KVMVNC_SYSROOT (${KVMVNC_SYSROOT}) is not an arm64 sysroot")
endif()
# Seen again by try_compile's own projects.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KVMVNC_SYSROOT)
set(CMAKE_SYSROOT "${KVMVNC_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${KVMVNC_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L "${KVMVNC_SYSROOT}")

set(ENV{PKG_CONFIG_SYSROOT_DIR} "${KVMVNC_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${KVMVNC_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${KVMVNC_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
