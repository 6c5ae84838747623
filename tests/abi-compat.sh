#!/usr/bin/env bash
# abi-compat — the ABI of the built liblmm.so against the stored baseline
# (tests/abi/liblmm.abi), with libabigail's abidw and abidiff. Fails when
# the ABI changed in a way that can break a program built against the
# baseline: a function or symbol removed, a function's signature or a
# type's layout changed (taking a reserved slot included: that is for a
# person to confirm, by updating the baseline). Passes, and says so, when
# it only grew: functions added, enumerators appended. Only types that
# lmm.h defines are public; the rest are opaque. docs/abi.md is the policy.
#
#   abi-compat.sh LIBLMM_SO LMM_H BASELINE           check
#   abi-compat.sh --update LIBLMM_SO LMM_H BASELINE  record the baseline
#
# Exit status 77 (meson's "skipped") when libabigail is not installed or
# the library has no debug info (a release build).
set -euo pipefail

update=0
if [ "${1:-}" = --update ]; then
  update=1
  shift
fi
if [ $# -ne 3 ]; then
  echo "usage: $0 [--update] LIBLMM_SO LMM_H BASELINE" >&2
  exit 2
fi
so=$1 header=$2 baseline=$3

for tool in abidw abidiff readelf; do
  if ! command -v "$tool" >/dev/null; then
    echo "abi-compat: skipped: $tool is not installed (Debian: abigail-tools, binutils)"
    exit 77
  fi
done
if ! readelf -S --wide "$so" | grep -q '\.debug_info'; then
  echo "abi-compat: skipped: $so has no debug info (a release build?); the ABI check reads the types from it, build with -g (buildtype debug or debugoptimized)"
  exit 77
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# lmm.h alone in a directory of its own: types defined in any other header
# (client.h, the definitions of the opaque handles) are private.
mkdir "$dir/include"
cp "$header" "$dir/include/"
dump() {
  abidw --headers-dir "$dir/include" --drop-private-types --exported-interfaces-only \
    --no-show-locs --no-corpus-path --no-comp-dir-path --type-id-style hash \
    --out-file "$1" "$so"
}

if [ $update = 1 ]; then
  dump "$baseline"
  echo "abi-compat: recorded the ABI of $so in $baseline:" \
    "$(grep -c '<elf-symbol ' "$baseline") symbols"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  echo "abi-compat: no baseline at $baseline; record one with tools/update-abi-baseline.sh" >&2
  exit 1
fi
dump "$dir/current.abi"
# The baseline is one architecture's (the one it was recorded on); sizes
# and offsets differ on others.
arch() { sed -n "s/^<abi-corpus [^>]*architecture='\([^']*\)'.*/\1/p" "$1"; }
if [ "$(arch "$baseline")" != "$(arch "$dir/current.abi")" ]; then
  echo "abi-compat: skipped: the baseline is for $(arch "$baseline"), this build for" \
    "$(arch "$dir/current.abi")"
  exit 77
fi
rc=0
abidiff --no-show-locs "$baseline" "$dir/current.abi" > "$dir/report" 2>&1 || rc=$?
n=$(grep -c '<elf-symbol ' "$dir/current.abi")

# abidiff's status is a bit field: 1 error, 2 usage error, 4 a change,
# 8 an incompatible change (something removed). A layout change sets only
# 4, like an added function: tell them apart by the summary lines.
if [ $((rc & 3)) != 0 ]; then
  cat "$dir/report"
  echo "abi-compat: abidiff failed (status $rc) comparing $so with $baseline" >&2
  exit 1
fi
if [ $rc = 0 ]; then
  echo "abi-compat: $n symbols, the ABI is the baseline's"
  exit 0
fi
cat "$dir/report"
if [ $((rc & 8)) != 0 ] || grep -qE '[1-9][0-9]* (Removed|Changed)' "$dir/report"; then
  echo "abi-compat: the ABI changed incompatibly with $baseline (above): a program built" \
    "against it may break. Undo the change, or, when every change is a field that took a" \
    "reserved slot as docs/abi.md describes, record it with tools/update-abi-baseline.sh." >&2
  exit 1
fi
echo "abi-compat: $n symbols; the ABI only grew (above), compatibly; record it in the baseline with tools/update-abi-baseline.sh"
exit 0
