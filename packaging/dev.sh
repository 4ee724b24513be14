#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The developer's entry point on Debian 12 (bookworm):
#
#   packaging/dev.sh run [kvmvncd options]   install what is missing, build, and
#                                            start kvmvncd on the virtual target
#   packaging/dev.sh test                    install what is missing, build, and
#                                            run the whole test suite
#   packaging/dev.sh build                   install what is missing and build
#   packaging/dev.sh package                 build the Debian package
#                                            (build/packages/kvmvnc_*.deb)
#
# Builds go to build/ (KVMVNC_BUILD_DIR to change it). Under CI (CI=true)
# warnings are errors and the suite also runs under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=${KVMVNC_BUILD_DIR:-build}
jobs=$(nproc)

# Debian packages by purpose; the build needs the first list, the tests both.
build_packages=(
    cmake ninja-build g++ pkg-config
    libvncserver-dev libturbojpeg0-dev libyuv-dev libinih-dev libssl-dev
    libgpiod-dev  # ATX buttons and LEDs on GPIO lines (libgpiod 1.6, the v1 API)
    console-setup-linux  # the VGA console font embedded at build time
    libxkbcommon-dev xkb-data  # keymap tables generated from xkb layouts
)
test_packages=(
    libgtest-dev clang-format
    xvfb tigervnc-viewer imagemagick vncsnapshot xdotool  # real viewers for the integration tests
    chromium novnc  # noVNC's UI in a real browser (tests/browser, with Node.js)
)
# The virtual appliance lab (tests/lab): QEMU, the guest's busybox and
# v4l2-ctl, and what builds the initramfs and the out-of-tree gpio-sim module
# (the kernel packages themselves are downloaded, not installed).
lab_packages=(
    qemu-system-x86 busybox-static cpio kmod v4l-utils
    gcc-12 make xz-utils libelf1
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_missing() {
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || { echo "run as root or install sudo: missing ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# Node.js runs the browser tests; Debian's (18) is enough, a newer one that is
# already there (nodesource) is kept.
install_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    install_missing nodejs npm
}

# The browser tests' npm packages, pinned by tests/browser/package-lock.json,
# installed next to the scripts in the build tree when the lock changed.
install_browser_modules() {
    local dir=$1/tests/browser
    [[ -f "$dir/package-lock.json" ]] || return 0
    if [[ ! -f "$dir/node_modules/.package-lock.json" ||
          "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        log "installing the browser tests' npm packages in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}

configure_and_build() {
    local dir=$1
    shift
    log "building in $dir"
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON

command=${1:-}
shift || true
case "$command" in
run)
    install_missing "${build_packages[@]}"
    configure_and_build "$build_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=OFF
    log "kvmvncd on the virtual target: connect with  vncviewer 127.0.0.1::5900  (Ctrl-C stops)"
    exec "$build_dir/src/app/kvmvncd" --config config/virtual.ini "$@"
    ;;
build)
    install_missing "${build_packages[@]}" "${test_packages[@]}" "${lab_packages[@]}"
    install_node
    configure_and_build "$build_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON
    install_browser_modules "$build_dir"
    ;;
test)
    install_missing "${build_packages[@]}" "${test_packages[@]}" "${lab_packages[@]}"
    install_node
    configure_and_build "$build_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON
    install_browser_modules "$build_dir"
    log "running the test suite"
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
    if [[ "${CI:-}" == "true" || -n "${KVMVNC_SANITIZE:-}" ]]; then
        configure_and_build "$build_dir-asan" -DKVMVNC_WERROR="$werror" -DKVMVNC_SANITIZE=ON \
            -DCMAKE_BUILD_TYPE=Debug
        install_browser_modules "$build_dir-asan"
        # The lab proves kernel interfaces, not memory safety; it ran above.
        log "running the test suite under ASan and UBSan (without the lab)"
        ctest --test-dir "$build_dir-asan" --output-on-failure -j "$jobs" -LE lab
    fi
    ;;
package)
    install_missing "${build_packages[@]}" dpkg-dev
    configure_and_build "$build_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON
    log "packaging"
    (cd "$build_dir" && cpack -G DEB | tail -n 1)
    ;;
*)
    sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
