#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds TigerVNC 1.16.2's viewer with H.264 (FFmpeg) from the source tarball
# in the third-party folder, once: into CACHE/<the tarball's sha256>, where a
# later run finds it. Debian 12's viewer (1.12) cannot decode encoding 50.
#
#   tigervnc_h264.sh THIRD_PARTY_DIR CACHE_DIR
#
# Exits 77 (ctest's skip) when the tarball is not there, and prints the
# viewer's path when it is built. The build packages are packaging/dev.sh's.
set -euo pipefail
third_party=$1
cache=$2
tarball=$third_party/tigervnc-1.16.2.tar.gz
if [[ ! -f $tarball ]]; then
    echo "SKIP: no $tarball (KVMVNC_THIRD_PARTY_DIR names the folder)" >&2
    exit 77
fi
sha=$(sha256sum "$tarball" | cut -c1-64)
dir=$cache/$sha
viewer=$dir/build/vncviewer/vncviewer
mkdir -p "$dir"
# Tests that need the viewer may start at once; one of them builds.
exec 9>"$dir/.lock"
flock 9
if [[ ! -x $viewer ]]; then
    start=$SECONDS
    rm -rf "$dir/src" "$dir/build"
    mkdir -p "$dir/src"
    tar -xzf "$tarball" -C "$dir/src"
    # ENABLE_H264=ON: stop if FFmpeg is missing instead of quietly leaving
    # H.264 out (the default, AUTO).
    cmake -S "$dir/src/tigervnc-1.16.2" -B "$dir/build" -G "Unix Makefiles" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_VIEWER=ON -DENABLE_H264=ON >"$dir/configure.log" 2>&1 ||
        { cat "$dir/configure.log" >&2; exit 1; }
    nice -n 10 make -C "$dir/build" -j2 vncviewer >"$dir/build.log" 2>&1 ||
        { tail -50 "$dir/build.log" >&2; exit 1; }
    echo "built TigerVNC 1.16.2's viewer in $((SECONDS - start)) s" >&2
fi
# --help prints to stderr and exits 1; the H.264 build lists it.
help=$("$viewer" --help 2>&1 || true)
if ! grep -qF 'H.264, or Raw' <<<"$help"; then
    echo "$viewer was built without H.264" >&2
    exit 1
fi
echo "$viewer"
