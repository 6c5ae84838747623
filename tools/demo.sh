#!/usr/bin/env bash
# demo.sh — install what is missing, build, and run the lmm tour (examples/demo.c).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/examples/lmm-demo
