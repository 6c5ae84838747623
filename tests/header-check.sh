#!/usr/bin/env bash
# header-check — lmm.h compiles on its own in strict ISO C11 (and C++ where a
# C++ compiler is installed), warning-free, as users' code will include it:
# with lmm-version.h, which meson generates, beside it.
#   header-check.sh SRC/lib/lmm.h BUILD/lib/lmm-version.h
set -euo pipefail
header=$1 version_header=$2 cc=${CC:-cc}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$header" "$version_header" "$dir"
cat > "$dir/t.c" <<'C'
#include "lmm.h"
#if LMM_VERSION_MAJOR < 0 || LMM_VERSION_MINOR < 0 || LMM_VERSION_MICRO < 0
#error "no version"
#endif
int main(void) { lmm_item i = lmm_item_int(1); return (int) i.i - 1; }
C
"$cc" -std=c11 -pedantic -Wall -Wextra -Werror -I"$dir" -c "$dir/t.c" -o "$dir/t.o"
echo "lmm.h: clean under -std=c11 -pedantic -Wall -Wextra"
if command -v c++ >/dev/null; then
  cp "$dir/t.c" "$dir/t.cc"
  c++ -std=c++17 -Wall -Wextra -Werror -I"$dir" -c "$dir/t.cc" -o "$dir/t2.o"
  echo "lmm.h: clean as C++17"
fi
