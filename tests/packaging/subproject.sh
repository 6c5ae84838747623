#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# subproject.sh — lmm as the subproject of another meson project
# (subproject/meson.build, with this tree as its subprojects/lmm; no
# network): dependency('liblmm', fallback: 'lmm') finds liblmm through
# meson.override_dependency(), and the consumer builds and runs; lmm's
# tools and tests are not built. Then, asked for them: lmmd, without
# libsystemd and libsmartcols, beside a static liblmm; the consumer links
# that, and lmmd speaks the service manager's protocol on its own.
#   subproject.sh SOURCE_DIR ACTIVATE_CHECK [MESON_SETUP_OPTIONS...]
set -euo pipefail
src=$1 activate_check=$2
shift 2
tmp=$(mktemp -d /tmp/lmm-subproject-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/consumer/subprojects"
cp "$src/tests/packaging/subproject/meson.build" "$src/tests/packaging/consumer.c" "$tmp/consumer/"
ln -s "$src" "$tmp/consumer/subprojects/lmm"

built() { (cd "$tmp/build/subprojects/lmm" && find . -type f -executable -o -name '*.a' |
             grep -v '\.p/' | sed 's|^\./||' | sort | tr '\n' ' '); }

SECONDS=0
meson setup "$tmp/build" "$tmp/consumer" --force-fallback-for=liblmm "$@" >"$tmp/setup.log" ||
  { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
echo "default: built in ${SECONDS}s: $(built)"
extra=$(cd "$tmp/build/subprojects/lmm" && find . -path ./lib -prune -o -type f -executable -print)
[ -z "$extra" ] || { echo "built what nobody asked for: $extra"; exit 1; }
"$tmp/build/consumer"

SECONDS=0
meson configure "$tmp/build" -Dlmm:tools=enabled -Dlmm:systemd=disabled \
  -Dlmm:smartcols=disabled -Dlmm:default_library=static >/dev/null
ninja -C "$tmp/build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
echo "asked for the tools, without libsystemd and libsmartcols, and a static liblmm: built in ${SECONDS}s: $(built)"
lmmd=$tmp/build/subprojects/lmm/manager/lmmd
[ -x "$lmmd" ] || { echo "no lmmd"; exit 1; }
[ ! -e "$tmp/build/subprojects/lmm/tools/lmmctl" ] || { echo "lmmctl without libsmartcols?"; exit 1; }
# (grep, not a pipe into grep -q: with pipefail, a reader that stops
# early fails the pipe.)
if grep 'NEEDED.*libsystemd' <<<"$(readelf -d "$lmmd")"; then echo "lmmd links libsystemd"; exit 1; fi
if grep 'NEEDED.*liblmm' <<<"$(readelf -d "$tmp/build/consumer")"; then
  echo "the consumer links liblmm.so, not liblmm.a"; exit 1
fi
"$tmp/build/consumer"
"$lmmd" --version
"$activate_check" -- "$lmmd"
