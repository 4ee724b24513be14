#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, built with CPack from this build tree: its files, its
# conffiles, maintainer scripts that parse, dependencies that cover every
# library the binaries load, and units that keep their hardening.
#   deb_package_test.sh BUILD_DIR EXPECTED_FILES
# For a cross build, KVMVNC_EMULATOR runs its programs ("qemu-aarch64-static
# -L SYSROOT").
set -euo pipefail
build=$1
expected=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out/staging" -D CPACK_OUTPUT_FILE_PREFIX="$out" >"$out/cpack.log" 2>&1 ||
    { cat "$out/cpack.log"; fail "cpack failed"; }
deb=$(ls "$out"/*.deb)
[[ "$(basename "$deb")" =~ ^kvmvnc_[0-9.]+_(amd64|arm64|armhf)\.deb$ ]] || fail "package name $deb"

# Files, directories left out and keymaps counted.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' >"$out/files"
grep -v '\.kmap$' "$out/files" | grep -v '^/usr/share/kvmvnc/web/novnc/' | sort >"$out/other"
diff -u "$expected" "$out/other" || fail "the package's files differ from $expected"
keymaps=$(grep -c '^/usr/share/kvmvnc/keymaps/.*\.kmap$' "$out/files" || true)
((keymaps >= 500)) || fail "only $keymaps keymaps"
# noVNC's RFB client, pinned from npm, beside the panel.
for file in core/rfb.js core/websock.js vendor/pako/lib/zlib/inflate.js LICENSE.txt; do
    grep -qx "/usr/share/kvmvnc/web/novnc/$file" "$out/files" || fail "no noVNC $file in the panel"
done
for layout in us de fr; do
    grep -qx "/usr/share/kvmvnc/keymaps/$layout.kmap" "$out/files" || fail "no $layout keymap"
done

# Control: conffiles, scripts, architecture.
dpkg-deb -e "$deb" "$out/control"
[[ "$(cat "$out/control/conffiles")" == /etc/kvmvnc/kvmvncd.ini ]] || fail "conffiles"
for script in postinst prerm postrm; do
    sh -n "$out/control/$script" || fail "$script does not parse"
    [[ -x "$out/control/$script" ]] || fail "$script is not executable"
done
depends=$(dpkg-deb -f "$deb" Depends)

# Every shared library the binaries need comes from a package in Depends.
dpkg-deb -x "$deb" "$out/root"
for binary in "$out/root/usr/bin/kvmvncd" "$out/root/usr/bin/kvmvncctl"; do
    for library in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldconfig -p | awk -v lib="$library" '$1 == lib && !found {print $NF; found = 1}')
        [[ -n "$path" ]] || fail "$library (of $binary) not found on this system"
        # dpkg knows the path it installed (/lib or /usr/lib on a merged /usr).
        package=$(dpkg -S "$path" "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1 || true)
        [[ -n "$package" ]] || fail "no package owns $path"
        [[ ",$depends," == *", $package"[\ ,]* || ",$depends," == *",$package"[\ ,]* ]] ||
            fail "$binary needs $library from $package, which Depends lacks: $depends"
    done
done

# The packaged programs run.
emulator=(${KVMVNC_EMULATOR:-})
"${emulator[@]}" "$out/root/usr/bin/kvmvncd" --version >/dev/null || fail "kvmvncd --version"
"${emulator[@]}" "$out/root/usr/bin/kvmvncctl" --help >/dev/null 2>&1 || fail "kvmvncctl --help"
usage=$("$out/root/usr/sbin/kvmvnc-gadget" 2>&1 || true)
[[ "$usage" == *"kvmvnc-gadget up"* ]] || fail "kvmvnc-gadget usage: $usage"

# Units: installed paths, and the daemon's sandbox (systemd-analyze's
# exposure score, 0 best .. 10 worst) not loosened by accident.
grep -qx 'ExecStart=/usr/bin/kvmvncd --config /etc/kvmvnc/kvmvncd.ini' \
    "$out/root/lib/systemd/system/kvmvncd.service" || fail "kvmvncd.service ExecStart"
grep -qx 'User=kvmvnc' "$out/root/lib/systemd/system/kvmvncd.service" || fail "kvmvncd runs as root"
if command -v systemd-analyze >/dev/null; then
    for unit in kvmvncd:2.5 kvmvnc-gadget:5.0; do
        name=${unit%%:*} limit=${unit##*:}
        score=$(systemd-analyze security --offline=yes "$out/root/lib/systemd/system/$name.service" 2>&1 |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        [[ -n "$score" ]] || fail "systemd-analyze could not read $name.service"
        awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }' ||
            fail "$name.service exposure $score is above $limit"
    done
fi
echo "1 passed, 0 failed"
