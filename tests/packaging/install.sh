#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# install.sh — what `meson install` gives a packager, used as a consumer
# would: installed into a temporary DESTDIR, a program (consumer.c) is
# built against the installed lmm.h and liblmm.pc alone, through
# pkg-config with PKG_CONFIG_SYSROOT_DIR, and run against the installed
# liblmm.so.1; where the build made liblmm.a (-Ddefault_library=static or
# both), linked against that too (pkg-config --static).
#   install.sh BUILD_DIR SOURCE_DIR VERSION [CFLAGS...]
# CFLAGS: what the consumer needs besides, the build's -fsanitize=.
set -euo pipefail
build=$1 src=$2 version=$3
shift 3
cc=${CC:-cc}
tmp=$(mktemp -d /tmp/lmm-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name liblmm.pc)
[ -n "$pc" ] || { echo "no liblmm.pc installed"; exit 1; }
echo "installed: $(cd "$dest" && find . -type f -o -type l | sed 's|^\.||' | sort | tr '\n' ' ')"

# The DESTDIR's liblmm.pc first, the paths in it under the DESTDIR; what it
# requires (libseccomp) from this machine.
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$dest
[ "$(pkg-config --modversion liblmm)" = "$version" ] ||
  { echo "liblmm.pc says version $(pkg-config --modversion liblmm), not $version"; exit 1; }
read -ra cflags <<<"$(pkg-config --cflags liblmm)"
read -ra libs <<<"$(pkg-config --libs liblmm)"
libdir=
for f in "${libs[@]}"; do [[ $f == -L* ]] && libdir=${f#-L}; done
[ -n "$libdir" ] && [ -e "$libdir/liblmm.so.1" ] ||
  { echo "no liblmm.so.1 where liblmm.pc says (${libs[*]})"; exit 1; }
soname=$(readelf -d "$libdir/liblmm.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = liblmm.so.1 ] || { echo "liblmm.so.1's soname is '$soname'"; exit 1; }

"$cc" -std=c11 -Wall -Wextra -Werror "${cflags[@]}" "$@" "$src/tests/packaging/consumer.c" \
  -o "$tmp/consumer" "${libs[@]}"
LD_LIBRARY_PATH=$libdir "$tmp/consumer"
# The liblmm it ran with was the installed one.
loaded=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer")
grep -F "liblmm.so.1 => $libdir/liblmm.so.1 " <<<"$loaded" >/dev/null ||
  { echo "the consumer did not load $libdir/liblmm.so.1:"; echo "$loaded"; exit 1; }
echo "shared: built with $(pkg-config --cflags --libs liblmm), ran with $libdir/liblmm.so.1" |
  sed "s|$dest||g"

if [ -e "$libdir/liblmm.a" ]; then
  read -ra static_libs <<<"$(pkg-config --static --libs liblmm)"
  "$cc" -std=c11 -Wall -Wextra -Werror "${cflags[@]}" "$@" "$src/tests/packaging/consumer.c" \
    -o "$tmp/consumer-static" "${static_libs[@]/#-llmm/-l:liblmm.a}"
  if grep 'NEEDED.*liblmm' <<<"$(readelf -d "$tmp/consumer-static")"; then
    echo "the static consumer still needs liblmm.so"; exit 1
  fi
  "$tmp/consumer-static"
  echo "static: linked liblmm.a ($(pkg-config --static --libs liblmm | sed "s|$dest||g"))"
fi
