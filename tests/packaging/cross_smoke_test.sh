#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A cross-built kvmvncd (arm64 or armhf) run under qemu-user: it is a program
# for the architecture the package claims, describes its configuration,
# serves the virtual target to a real viewer (vncsnapshot on the host), and
# answers kvmvncctl (cross-built too) over RFB: ATX state, an upload, and a
# disk image larger than 2 GiB listed and inserted (a 32-bit build without a
# 64-bit off_t cannot even stat it).
#   cross_smoke_test.sh BUILD_DIR ARCH SYSROOT      ARCH: arm64 | armhf
set -euo pipefail
build=$1
arch=$2
sysroot=$3
case "$arch" in
arm64) qemu=(qemu-aarch64-static -L "$sysroot") elf="ELF 64-bit LSB .*ARM aarch64" ;;
armhf) qemu=(qemu-arm-static -L "$sysroot") elf="ELF 32-bit LSB .*ARM, EABI5" ;;
*) echo "unknown architecture $arch" >&2; exit 2 ;;
esac
work=$(mktemp -d)
daemon=
cleanup() {
    [[ -z "$daemon" ]] || kill "$daemon" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$work/log" ]] && cat "$work/log" >&2; exit 1; }
ctl() { "${qemu[@]}" "$build/src/ctl/kvmvncctl" --host "127.0.0.1:$port" "$@"; }

for program in src/app/kvmvncd src/ctl/kvmvncctl; do
    file "$build/$program" | grep -Eq "$elf" || fail "$program is not an $arch program: $(file "$build/$program")"
done
if [[ "$arch" == armhf ]]; then
    # Debian's armhf baseline, which the README promises: ARMv7 (so not the
    # ARMv6 Pi 1 and Zero), floating point arguments in VFP registers.
    attributes=$(readelf -A "$build/src/app/kvmvncd")
    grep -q "Tag_CPU_arch: v7$" <<<"$attributes" || fail "kvmvncd is not built for ARMv7: $attributes"
    grep -q "Tag_ABI_VFP_args: VFP registers" <<<"$attributes" || fail "kvmvncd is not hard-float"
fi
help=$("${qemu[@]}" "$build/src/app/kvmvncd" --help-config) || fail "--help-config exited with $?"
grep -q '^\[server\]' <<<"$help" || fail "--help-config does not describe [server]"

port=$((20000 + $$ % 20000))
mkdir "$work/images"
truncate -s 3G "$work/images/big.img"  # sparse: no disk space taken
head -c 1048576 /dev/urandom >"$work/small.img"
cat >"$work/kvmvnc.ini" <<INI
[server]
listen = 127.0.0.1
port = $port
[capture]
width = 1024
height = 768
[virtual]
boot_seconds = 0
animate = false
[msd]
storage = $work/images
free_space_reserve_mib = 0
[security]
tls_dir = $work/tls
INI
"${qemu[@]}" "$build/src/app/kvmvncd" --config "$work/kvmvnc.ini" >"$work/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$daemon" 2>/dev/null || fail "kvmvncd exited"
    sleep 0.2
done

timeout 60 vncsnapshot -quiet -encodings zlib "127.0.0.1::$port" "$work/shot.jpg" 2>"$work/viewer.log" ||
    { cat "$work/viewer.log" >&2; fail "vncsnapshot got no picture"; }
[[ "$(identify -format '%wx%h' "$work/shot.jpg")" == 1024x768 ]] || fail "the picture is not 1024x768"
status=$(ctl atx status) || fail "kvmvncctl atx status"
[[ "$status" == *"power: on"* ]] || fail "kvmvncctl said: $status"

ctl msd upload "$work/small.img" >/dev/null 2>&1 || fail "kvmvncctl msd upload"
cmp -s "$work/small.img" "$work/images/small.img" || fail "the uploaded image differs from the file sent"
list=$(ctl msd list) || fail "kvmvncctl msd list"
grep -qx $'big.img\t3221225472' <<<"$list" || fail "msd list does not show the 3 GiB image: $list"
grep -qx $'small.img\t1048576' <<<"$list" || fail "msd list does not show the upload: $list"
ctl msd insert big.img --cdrom || fail "kvmvncctl msd insert big.img"
drive=$(ctl msd status) || fail "kvmvncctl msd status"
[[ "$drive" == *"big.img inserted as CD-ROM, read-only (3.0 GiB)"* ]] || fail "msd status said: $drive"

kill -TERM "$daemon"
wait "$daemon" || fail "kvmvncd exited with $? after SIGTERM"
daemon=
echo "1 passed, 0 failed"
