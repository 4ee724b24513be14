#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# clang-tidy with the repository's .clang-tidy over the files under src/
# (FILES, a regular expression, narrows them); any finding fails. A
# .clang-tidy that clang-tidy cannot read fails first: clang-tidy would
# print an error for every file, fall back to its defaults and pass.
#   clang_tidy.sh RUN_CLANG_TIDY CLANG_TIDY BUILD_DIR SOURCE_DIR JOBS [FILES]
set -uo pipefail
run_clang_tidy=$1 clang_tidy=$2 build_dir=$3 source_dir=$4 jobs=$5
files=${6:-^$source_dir/src/}

checks=$("$clang_tidy" --list-checks -p "$build_dir" "$source_dir/src/base/log.cpp" 2>&1)
if grep -q "error" <<<"$checks" || ! grep -q "concurrency-mt-unsafe" <<<"$checks"; then
    echo "clang-tidy does not read $source_dir/.clang-tidy as written:"
    echo "$checks"
    exit 1
fi

# GCC-only warning flags in the compile commands are unknown to clang.
output=$("$run_clang_tidy" -quiet -clang-tidy-binary "$clang_tidy" -p "$build_dir" -j "$jobs" \
    -extra-arg=-Wno-unknown-warning-option "$files" 2>&1)
status=$?
echo "$output"
if [[ $status -ne 0 ]] || grep -q "error:" <<<"$output"; then
    echo "clang-tidy: findings above (exit $status)"
    exit 1
fi
echo "clang-tidy: no findings"
