#!/usr/bin/env bash
# man3-check — the section 3 pages are there for every function lmm.h
# exports and read cleanly: a page of each function's name (or a ".so" link
# to its family's page) that man finds, that renders without a single groff
# warning, and that names the function and says what it returns; and every
# exported function's comment in lmm.h has a "Return:" (gen-man3.py --check).
#   man3-check.sh PAGES_DIR LMM_H GEN_MAN3_PY PYTHON3
set -euo pipefail
dir=$1 header=$2 gen=$3 python=$4

"$python" "$gen" --check "$header"

if ! command -v man >/dev/null; then
  echo "man3-check: skipped the rendering: man is not installed (Debian: man-db)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/man3"
cp "$dir"/*.3 "$tmp/man3/"

# The functions, as tests/abi-check.sh finds them.
functions=$(grep -oE 'LMM_EXPORT [^(]*[ *](lmm_[a-z_]+)\(' "$header" | grep -oE 'lmm_[a-z_]+\($' |
  tr -d '(' | sort -u)
fails=0
for f in $functions; do
  if [ ! -f "$tmp/man3/$f.3" ]; then
    echo "no page for $f()"
    fails=$((fails + 1))
  fi
done

# Every page as a reader gets it, rendered once: no groff warning. (Bash
# builtins from here on: a process costs a while on a busy machine.)
declare -A text
pages=0 links=0
for page in "$tmp"/man3/*.3; do
  name=${page##*/}
  name=${name%.3}
  read -r first <"$page" || true
  if [[ $first == ".so "* ]]; then
    links=$((links + 1))
    continue
  fi
  MANWIDTH=80 MANPAGER=cat man --warnings -M "$tmp" 3 "$name" >"$tmp/$name.txt" \
    2>"$tmp/$name.err" || true
  text[$name]=$(<"$tmp/$name.txt")
  if [ -s "$tmp/$name.err" ] || [ -z "${text[$name]}" ]; then
    echo "$name(3): $(<"$tmp/$name.err")"
    fails=$((fails + 1))
  fi
  pages=$((pages + 1))
done

# Every name, page or link, leads to a page that names it, and a function's
# page has its entry in RETURN VALUE. man itself follows one link to each
# page; the other links are read.
declare -A asked
for page in "$tmp"/man3/*.3; do
  name=${page##*/}
  name=${name%.3}
  target=$name
  read -r so path <"$page" || true
  if [ "$so" = .so ]; then
    target=${path##*/}
    target=${target%.3}
    if [ -z "${asked[$target]:-}" ]; then
      asked[$target]=1
      where=$(man -w -M "$tmp" 3 "$name" 2>/dev/null) || true
      if [ "$where" != "$tmp/man3/$target.3" ]; then
        echo "$name(3): man finds ${where:-nothing}, not $target(3)"
        fails=$((fails + 1))
      fi
    fi
  fi
  t=${text[$target]:-}
  if [[ $t != *"$name"* ]]; then
    echo "$name(3): leads to $target(3), which does not name it"
    fails=$((fails + 1))
  elif [[ $'\n'$functions$'\n' == *$'\n'"$name"$'\n'* && $'\n'$t$'\n' != *$'\n'"       $name()"$'\n'* ]]; then
    echo "$name(3): no RETURN VALUE entry for $name() in $target(3)"
    fails=$((fails + 1))
  fi
done

echo "man3-check: $pages pages and $links links for $(wc -w <<<"$functions") functions," \
  "$fails problems"
[ $fails = 0 ]
