#!/usr/bin/env bash
# abi-check — liblmm.so exports exactly what lmm.h declares and liblmm.sym lists.
set -euo pipefail
so=$1 header=$2 map=$3
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort -u)
declared=$(grep -oE 'LMM_EXPORT [^(]*[ *](lmm_[a-z_]+)\(' "$header" | grep -oE 'lmm_[a-z_]+\($' | tr -d '(' | sort -u)
listed=$(sed -n 's/^ *\(lmm_[a-z_]*\);$/\1/p' "$map" | sort -u)
ok=1
if [ "$exported" != "$declared" ]; then
  echo "exported vs declared in lmm.h:"; diff <(echo "$exported") <(echo "$declared") || true; ok=0
fi
if [ "$listed" != "$declared" ]; then
  echo "liblmm.sym vs declared in lmm.h:"; diff <(echo "$listed") <(echo "$declared") || true; ok=0
fi
n=$(echo "$exported" | wc -l)
[ $ok = 1 ] && echo "$n symbols exported, all declared and versioned LIBLMM_1"
# (grep on the whole list: grep -q would stop reading early, and with
# pipefail nm's SIGPIPE would fail the pipe.)
grep -q 'LIBLMM_1' <<<"$(nm -D --defined-only "$so")" || { echo "symbols are not versioned"; exit 1; }
[ $ok = 1 ]
