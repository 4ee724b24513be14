#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A cross-built kvmvncd (arm64) run under qemu-user: it describes its
# configuration, serves the virtual target to a real viewer (vncsnapshot
# on the host), and answers kvmvncctl (cross-built too) over RFB.
#   cross_smoke_test.sh BUILD_DIR SYSROOT
set -euo pipefail
build=$1
sysroot=$2
qemu=(qemu-aarch64-static -L "$sysroot")
work=$(mktemp -d)
daemon=
cleanup() {
    [[ -z "$daemon" ]] || kill "$daemon" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$work/log" ]] && cat "$work/log" >&2; exit 1; }

file "$build/src/app/kvmvncd" | grep -q "ARM aarch64" || fail "kvmvncd is not an arm64 program"
help=$("${qemu[@]}" "$build/src/app/kvmvncd" --help-config) || fail "--help-config exited with $?"
grep -q '^\[server\]' <<<"$help" || fail "--help-config does not describe [server]"

port=$((20000 + $$ % 20000))
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
status=$("${qemu[@]}" "$build/src/ctl/kvmvncctl" --host "127.0.0.1:$port" atx status) ||
    fail "kvmvncctl atx status"
[[ "$status" == *"power: on"* ]] || fail "kvmvncctl said: $status"

kill -TERM "$daemon"
wait "$daemon" || fail "kvmvncd exited with $? after SIGTERM"
daemon=
echo "1 passed, 0 failed"
