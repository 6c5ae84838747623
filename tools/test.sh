#!/usr/bin/env bash
# test.sh — install what is missing, build with warnings as errors, run every test.
#   tools/test.sh              the plain build, in build/
#   tools/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh

dir=build
opts=(--werror)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  opts+=(-Db_sanitize=address,undefined -Db_lundef=false)
  # Any sanitizer report fails the test that caused it.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

[ -f "$dir/build.ninja" ] || meson setup "$dir" "${opts[@]}" >/dev/null
ninja -C "$dir"
meson test -C "$dir" --print-errorlogs --num-processes 2
