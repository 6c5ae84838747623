#!/usr/bin/env bash
# abi/selftest — abi-compat.sh tells an ABI that broke from one that grew,
# shown on a small library of liblmm's shape built in versions: removing a
# function, reordering a struct's members, growing a struct, and taking a
# reserved slot fail the check; adding a function and appending an
# enumerator pass it. The same script, the same abidw options as the check
# of liblmm itself.
#
#   selftest.sh ABI_COMPAT_SH
set -euo pipefail
check=$1 cc=${CC:-cc}

for tool in abidw abidiff readelf; do
  if ! command -v "$tool" >/dev/null; then
    echo "abi selftest: skipped: $tool is not installed (Debian: abigail-tools, binutils)"
    exit 77
  fi
done

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat > "$dir/base.h" <<'H'
#include <stdint.h>
#define X_EXPORT __attribute__((visibility("default")))
typedef struct x_opts {
        uint64_t size;
        const char *name;
        uint32_t flags;
        uint64_t reserved_[8];
        void *reserved_ptr_[8];
} x_opts;
typedef enum x_kind { X_A = 0, X_B = 1 } x_kind;
typedef struct x_item {
        x_kind type;
        uint64_t v;
} x_item;
typedef struct x_private x_private;
X_EXPORT int x_create(const x_opts *o, x_private **ret);
X_EXPORT int x_get(x_private *p, x_item *ret);
X_EXPORT int x_old(void);
H
cat > "$dir/x.c" <<'C'
#include "x.h"
#ifndef PRIVATE_MORE
#define PRIVATE_MORE
#endif
struct x_private { int n; PRIVATE_MORE };
int x_create(const x_opts *o, x_private **ret) { return o->flags + (*ret)->n; }
int x_get(x_private *p, x_item *ret) { return ret->type + p->n; }
#ifndef NO_OLD
__typeof__(x_old()) x_old(void) { return 0; }
#endif
#ifdef NEW
X_EXPORT int x_new(int a);
int x_new(int a) { return a; }
#endif
C

# build VERSION SED_SCRIPT CFLAGS...: the library with its header edited by SED_SCRIPT.
build() {
  local v=$1 edit=$2
  shift 2
  mkdir -p "$dir/$v"
  sed "$edit" "$dir/base.h" > "$dir/$v/x.h"
  cp "$dir/x.c" "$dir/$v/"
  "$cc" -g -shared -fPIC -fvisibility=hidden -I"$dir/$v" "$@" "$dir/$v/x.c" -o "$dir/$v/libx.so"
}

# expect OUTCOME VERSION: abi-compat.sh on VERSION against the baseline passes or fails.
fails=0
expect() {
  local want=$1 v=$2 rc=0
  "$check" "$dir/$v/libx.so" "$dir/$v/x.h" "$dir/baseline.abi" > "$dir/$v.out" 2>&1 || rc=$?
  if { [ "$want" = pass ] && [ $rc = 0 ]; } || { [ "$want" = fail ] && [ $rc = 1 ]; }; then
    echo "ok: $v: ${want}, as it should ($(tail -n 1 "$dir/$v.out" | cut -c1-90))"
  else
    echo "NOT OK: $v should $want, abi-compat.sh exited $rc:"
    cat "$dir/$v.out"
    fails=$((fails + 1))
  fi
}

build base ''
"$check" --update "$dir/base/libx.so" "$dir/base/x.h" "$dir/baseline.abi"

build same ''
build private '' '-DPRIVATE_MORE=long more[4];' # an opaque type grew: not part of the ABI
build added 's/^X_EXPORT int x_old(void);/&\nX_EXPORT int x_new(int a);/' -DNEW
build enum 's/X_B = 1 }/X_B = 1, X_C = 2 }/'
build removed 's/^X_EXPORT int x_old(void);//' -DNO_OLD
build reordered 's/uint64_t size;/const char *name2;/; s/const char \*name;/uint64_t size;/; s/name2/name/'
build grown 's/uint32_t flags;/uint32_t flags;\n        uint64_t more;/'
build slot 's/uint64_t reserved_\[8\];/uint64_t lifetime;\n        uint64_t reserved_[7];/'
build signature 's/^X_EXPORT int x_old(void);/X_EXPORT uint64_t x_old(void);/'

expect pass same
expect pass private
expect pass added
expect pass enum
expect fail removed
expect fail reordered
expect fail grown
expect fail slot
expect fail signature

# A release build, without debug info, is skipped rather than passed.
"$cc" -O2 -shared -fPIC -fvisibility=hidden -I"$dir/base" "$dir/x.c" -o "$dir/release.so"
rc=0
"$check" "$dir/release.so" "$dir/base/x.h" "$dir/baseline.abi" > "$dir/release.out" 2>&1 || rc=$?
if [ $rc = 77 ]; then
  echo "ok: a library without debug info is skipped"
else
  echo "NOT OK: a library without debug info: exit $rc, not 77"
  cat "$dir/release.out"
  fails=$((fails + 1))
fi

[ $fails = 0 ]
