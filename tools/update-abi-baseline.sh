#!/usr/bin/env bash
# update-abi-baseline.sh — record the ABI of liblmm as built now in the
# stored baseline, tests/abi/liblmm.abi, that the abi-compat test compares
# every build with. Run it when the ABI changed on purpose (functions added,
# a reserved slot taken; docs/abi.md), and commit the baseline with the
# change that made it.
#   tools/update-abi-baseline.sh [BUILDDIR]   (default: build, set up if missing)
# The build must carry debug info (buildtype debug, the default here).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}

[ -f "$dir/build.ninja" ] || meson setup "$dir" --werror >/dev/null
ninja -C "$dir" >/dev/null
exec tests/abi-compat.sh --update "$dir/lib/liblmm.so" lib/lmm.h tests/abi/liblmm.abi
