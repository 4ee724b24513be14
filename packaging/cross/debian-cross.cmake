# SPDX-License-Identifier: GPL-2.0-or-later
# What Debian's cross toolchains have in common, included by one file per
# target (aarch64-linux-gnu.cmake, arm-linux-gnueabihf.cmake), which first
# sets CMAKE_SYSTEM_PROCESSOR, KVMVNC_CROSS_TRIPLET (Debian's multiarch
# triplet, which also names the compilers) and KVMVNC_CROSS_QEMU (the
# qemu-user program for the target). Libraries and headers come from a
# sysroot of Debian packages for the target (packaging/dev.sh cross-ARCH
# unpacks one with mmdebstrap); programs the build runs (the keymap
# generator) run under qemu-user.
#   cmake -DCMAKE_TOOLCHAIN_FILE=packaging/cross/<triplet>.cmake \
#         -DKVMVNC_SYSROOT=/path/to/sysroot ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${KVMVNC_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${KVMVNC_CROSS_TRIPLET}-g++)

if(NOT KVMVNC_SYSROOT)
    set(KVMVNC_SYSROOT "$ENV{KVMVNC_SYSROOT}")
endif()
if(NOT IS_DIRECTORY "${KVMVNC_SYSROOT}/usr/lib/${KVMVNC_CROSS_TRIPLET}")
    message(FATAL_ERROR "KVMVNC_SYSROOT (${KVMVNC_SYSROOT}) is not a ${KVMVNC_CROSS_TRIPLET} sysroot")
endif()
# Seen again by try_compile's own projects.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KVMVNC_SYSROOT)
set(CMAKE_SYSROOT "${KVMVNC_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${KVMVNC_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR ${KVMVNC_CROSS_QEMU} -L "${KVMVNC_SYSROOT}")

set(ENV{PKG_CONFIG_SYSROOT_DIR} "${KVMVNC_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${KVMVNC_SYSROOT}/usr/lib/${KVMVNC_CROSS_TRIPLET}/pkgconfig:${KVMVNC_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
