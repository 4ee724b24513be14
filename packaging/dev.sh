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
#   packaging/dev.sh bench                   install what is missing, build optimised
#                                            into build-bench/ and run every benchmark
#                                            (tables on stdout; JSON and logs in
#                                            build-bench/bench-results/)
#   packaging/dev.sh soak                    install what is missing, build optimised
#                                            into build-bench/ and run the soak: kvmvncd
#                                            under load and faults (docs/reliability.md;
#                                            tables on stdout; JSON and the daemons' logs
#                                            in build-bench/soak-results/)
#   packaging/dev.sh fuzz [SECONDS]          run each fuzz target (tests/fuzz) for
#                                            SECONDS (60) with libFuzzer
#   packaging/dev.sh cross-arm64             cross-build for arm64 (Raspberry Pi
#                                            OS 64-bit) into build-arm64/, package
#                                            it, and smoke-test it under qemu-user
#   packaging/dev.sh cross-armhf             the same for armhf (Raspberry Pi OS
#                                            32-bit on a Pi 2, 3, 4 or Zero 2 W)
#                                            into build-armhf/
#
# Builds go to build/ (KVMVNC_BUILD_DIR to change it). Under CI (CI=true)
# warnings are errors and the suite also runs under AddressSanitizer and
# UndefinedBehaviorSanitizer, the fuzz targets run for 30 s each
# (KVMVNC_FUZZ_SECONDS=N asks for that outside CI), and the arm64 and armhf
# cross builds are made, packaged and smoke-tested (KVMVNC_CROSS=1 asks for
# that outside CI).
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
    libx11-dev libxext-dev libxdamage-dev libxfixes-dev  # [capture] source = x11 (KVMVNC_X11), for benchmarks on Xvfb
    libopenh264-dev  # the software H.264 encoder (KVMVNC_OPENH264)
)
test_packages=(
    libgtest-dev libbenchmark-dev clang-format
    clang-tidy  # tests/lint: the checks in .clang-tidy over src/
    xvfb tigervnc-viewer imagemagick vncsnapshot xdotool  # real viewers for the integration tests
    x11-xserver-utils  # xrandr: the X11 capture follows a resized Xvfb screen
    xclip  # sets the X clipboard TigerVNC sends for the paste chord test
    x11vnc tigervnc-scraping-server  # the peers kvmvnc_peer_bench compares kvmvncd with
    tshark  # what a VeNCrypt session shows on the wire
    clang libclang-rt-14-dev  # libFuzzer, for the fuzz run under CI (tests/fuzz)
    chromium novnc  # noVNC's UI in a real browser (tests/browser, with Node.js)
    edid-decode  # a second opinion on the default EDID (tests/capture)
    libavcodec-dev libavutil-dev  # an independent H.264 decoder (tests/encode, kvmvnc_h264_bench)
    # TigerVNC 1.16.2's viewer with H.264, built from ../shared/third_party
    # by tests/integration/tigervnc_h264.sh (Debian's 1.12 has no encoding 50)
    make gettext zlib1g-dev libpixman-1-dev libjpeg-dev libfltk1.3-dev fluid libxi-dev
    libxrandr-dev libgnutls28-dev nettle-dev libpam0g-dev libswscale-dev
)
# The virtual appliance lab (tests/lab): QEMU, the guest's busybox and
# v4l2-ctl, and what builds the initramfs and the out-of-tree gpio-sim module
# (the kernel packages themselves are downloaded, not installed).
lab_packages=(
    qemu-system-x86 busybox-static cpio kmod v4l-utils
    gcc-12 make xz-utils libelf1
    mmdebstrap e2fsprogs curl  # the package installed into a Debian 12 root and booted (tests/packaging)
)

# The cross builds for the Pi, one per Debian architecture: Debian's cross
# compiler for its triplet (packaging/cross/TRIPLET.cmake), qemu-user for the
# programs the build and the smoke test run, and a sysroot of Debian packages
# of that architecture (unpacked with mmdebstrap, cached in
# /var/cache/kvmvnc-ARCH/sysroot or KVMVNC_ARM64_SYSROOT, KVMVNC_ARMHF_SYSROOT:
# another architecture's -dev packages cannot be installed beside the native
# ones). armhf is Debian's: ARMv7, so not the ARMv6 Pi 1 and Zero.
cross_architectures=(arm64 armhf)
declare -A cross_triplet=([arm64]=aarch64-linux-gnu [armhf]=arm-linux-gnueabihf)
declare -A cross_qemu=([arm64]=qemu-aarch64-static [armhf]=qemu-arm-static)
cross_packages=(mmdebstrap qemu-user-static dpkg-dev file)
cross_sysroot_packages=(
    libc6-dev libstdc++-12-dev libvncserver-dev libturbojpeg0-dev libyuv-dev libinih-dev
    libssl-dev libgpiod-dev libxkbcommon-dev libopenh264-dev
)
debian_mirror=${KVMVNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian_security_mirror=${KVMVNC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

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

cross_sysroot() {
    local variable="KVMVNC_${1^^}_SYSROOT"
    echo "${!variable:-/var/cache/kvmvnc-$1/sysroot}"
}

make_sysroot() {
    local arch=$1 sysroot=$2
    local wanted="bookworm $arch ${cross_sysroot_packages[*]}"
    [[ -f "$sysroot/.kvmvnc-sysroot" && "$(cat "$sysroot/.kvmvnc-sysroot")" == "$wanted" ]] &&
        return 0
    log "unpacking an $arch sysroot into $sysroot"
    rm -rf "$sysroot.new"
    mkdir -p "$(dirname "$sysroot")"
    mmdebstrap --quiet --variant=extract --architectures="$arch" \
        --include="$(IFS=,; echo "${cross_sysroot_packages[*]}")" bookworm "$sysroot.new" \
        "deb $debian_mirror bookworm main" "deb $debian_mirror bookworm-updates main" \
        "deb $debian_security_mirror bookworm-security main"
    echo "$wanted" >"$sysroot.new/.kvmvnc-sysroot"
    rm -rf "$sysroot"
    mv "$sysroot.new" "$sysroot"
}

# Cross-builds for ARCH (arm64, armhf) into build-ARCH/, packages it and
# tests the package and the programs under qemu-user.
cross_build() {
    local arch=$1
    local dir=$build_dir-$arch triplet=${cross_triplet[$arch]} sysroot
    sysroot=$(cross_sysroot "$arch")
    install_missing "${build_packages[@]}" "${cross_packages[@]}" "g++-$triplet" vncsnapshot imagemagick
    make_sysroot "$arch" "$sysroot"
    # No X11 capture on the Pi: it is for benchmarks on a desktop machine.
    configure_and_build "$dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=OFF -DKVMVNC_X11=OFF \
        -DCMAKE_TOOLCHAIN_FILE="packaging/cross/$triplet.cmake" -DKVMVNC_SYSROOT="$sysroot"
    log "packaging for $arch"
    (cd "$dir" && cpack -G DEB | tail -n 1)
    log "testing the $arch package and programs under qemu-user"
    KVMVNC_EMULATOR="${cross_qemu[$arch]} -L $sysroot" \
        tests/packaging/deb_package_test.sh "$dir" tests/packaging/deb-files.txt
    tests/packaging/cross_smoke_test.sh "$dir" "$arch" "$sysroot"
}

# What faces the network (the door's parsers, the RFB server's client
# messages), under libFuzzer (clang, with ASan and
# UBSan) for SECONDS each, starting from the committed corpus. New inputs go
# to a scratch folder, crashes to build-fuzz/crashes/ (the run fails).
fuzz_targets=(http_request websocket_frames rfb_security rfb_client_messages)
fuzz() {
    local seconds=$1 dir=$build_dir-fuzz target
    log "building the fuzz targets in $dir (clang)"
    CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DKVMVNC_FUZZ=ON -DKVMVNC_WERROR="$werror" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$dir" -j "$jobs" --target "${fuzz_targets[@]/#/kvmvnc_fuzz_}"
    mkdir -p "$dir/crashes"
    for target in "${fuzz_targets[@]}"; do
        log "fuzzing $target for $seconds s"
        rm -rf "$dir/scratch/$target" && mkdir -p "$dir/scratch/$target"
        "$dir/tests/fuzz/kvmvnc_fuzz_$target" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/crashes/$target-" \
            "$dir/scratch/$target" "tests/fuzz/corpus/$target" 2>"$dir/fuzz-$target.log" || {
            tail -n 40 "$dir/fuzz-$target.log" >&2
            echo "fuzzing $target found a crash: $dir/crashes/" >&2
            return 1
        }
        grep -E '^stat::number_of_executed_units' "$dir/fuzz-$target.log" | sed "s/^/$target: /" >&2
    done
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
        # The lab proves kernel interfaces, not memory safety, and lint reads
        # the same sources: both ran above.
        log "running the test suite under ASan and UBSan (without the lab)"
        ctest --test-dir "$build_dir-asan" --output-on-failure -j "$jobs" -LE "lab|lint"
    fi
    if [[ "${CI:-}" == "true" || -n "${KVMVNC_FUZZ_SECONDS:-}" ]]; then
        fuzz "${KVMVNC_FUZZ_SECONDS:-30}"
    fi
    if [[ "${CI:-}" == "true" || -n "${KVMVNC_CROSS:-}" ]]; then
        for arch in "${cross_architectures[@]}"; do
            cross_build "$arch"
        done
    fi
    ;;
bench)
    install_missing "${build_packages[@]}" "${test_packages[@]}"
    bench_dir=${KVMVNC_BUILD_DIR:-build-bench}
    configure_and_build "$bench_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON \
        -DCMAKE_BUILD_TYPE=Release
    results=$bench_dir/bench-results
    mkdir -p "$results"
    bench=$bench_dir/tests/bench
    log "screen: kvmvnc against the whole-frame baseline (about 2 minutes)"
    "$bench/kvmvnc_screen_bench" --json "$results/screen.json" | tee "$results/screen.txt"
    if [[ -x "$bench/kvmvnc_peer_bench" ]]; then
        log "peers: kvmvncd, x11vnc and x0vncserver on one Xvfb (about 2 minutes)"
        "$bench/kvmvnc_peer_bench" --json "$results/peers.json" | tee "$results/peers.txt"
    fi
    if [[ -x "$bench/hot_path/kvmvnc_hot_path_bench" ]]; then
        log "hot path: conversion, diff and JPEG against memcpy, memcmp and TurboJPEG"
        "$bench/hot_path/kvmvnc_hot_path_bench" --benchmark_min_time=0.2 \
            --benchmark_out="$results/hot_path.json" --benchmark_out_format=json |
            tee "$results/hot_path.txt"
    fi
    if [[ -x "$bench/h264/kvmvnc_h264_bench" ]]; then
        log "H.264: OpenH264 against TurboJPEG on the same frames"
        "$bench/h264/kvmvnc_h264_bench" --benchmark_min_time=0.5 \
            --benchmark_out="$results/h264.json" --benchmark_out_format=json |
            tee "$results/h264.txt"
    fi
    log "screen h264: Tight against H.264 in software, to 1 and 16 viewers (about 3 minutes)"
    "$bench/kvmvnc_screen_bench" --suites h264 --json "$results/screen_h264.json" |
        tee "$results/screen_h264.txt"
    log "input: a keystroke from viewer to HID report"
    "$bench/kvmvnc_input_latency_bench" --events 5000 --json "$results/input_latency.json" |
        tee "$results/input_latency.txt"
    log "results in $results"
    ;;
soak)
    install_missing "${build_packages[@]}" "${test_packages[@]}"
    bench_dir=${KVMVNC_BUILD_DIR:-build-bench}
    configure_and_build "$bench_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON \
        -DCMAKE_BUILD_TYPE=Release
    results=$bench_dir/soak-results
    rm -rf "$results"
    mkdir -p "$results"
    log "soak: kvmvncd under load and faults (about 5 minutes)"
    status=0
    "$bench_dir/tests/soak/kvmvnc_soak" --json "$results/soak.json" --logs "$results/logs" |
        tee "$results/soak.txt" || status=$?
    log "results in $results"
    exit "$status"
    ;;
fuzz)
    install_missing "${build_packages[@]}" clang libclang-rt-14-dev
    fuzz "${1:-60}"
    ;;
cross-arm64 | cross-armhf)
    cross_build "${command#cross-}"
    ;;
package)
    install_missing "${build_packages[@]}" dpkg-dev
    configure_and_build "$build_dir" -DKVMVNC_WERROR="$werror" -DKVMVNC_BUILD_TESTS=ON
    log "packaging"
    (cd "$build_dir" && cpack -G DEB | tail -n 1)
    ;;
*)
    sed -n '4,36p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
