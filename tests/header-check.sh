#!/usr/bin/env bash
# header-check — lmm.h compiles on its own in strict ISO C11 (and C++ where a
# C++ compiler is installed), warning-free, as users' code will include it.
set -euo pipefail
header=$1 cc=${CC:-cc}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#include "lmm.h"\nint main(void) { lmm_item i = lmm_item_int(1); return (int) i.i - 1; }\n' > "$dir/t.c"
"$cc" -std=c11 -pedantic -Wall -Wextra -Werror -I"$(dirname "$header")" -c "$dir/t.c" -o "$dir/t.o"
echo "lmm.h: clean under -std=c11 -pedantic -Wall -Wextra"
if command -v c++ >/dev/null; then
  cp "$dir/t.c" "$dir/t.cc"
  c++ -std=c++17 -Wall -Wextra -Werror -I"$(dirname "$header")" -c "$dir/t.cc" -o "$dir/t2.o"
  echo "lmm.h: clean as C++17"
fi
