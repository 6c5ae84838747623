#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-archive.sh — liblmm.a from lmm-static: its objects linked into one
# (cc -r), whose hidden symbols, everything but lmm_*, are then made local
# (objcopy --localize-hidden). A program linking the archive then sees
# exactly what the shared library exports.
#   make-archive.sh OUTPUT INPUT.a OBJCOPY AR CC...
set -eu
out=$1 in=$2 objcopy=$3 ar=$4
shift 4
obj="$out.o"
trap 'rm -f "$obj"' EXIT
"$@" -r -nostdlib -o "$obj" -Wl,--whole-archive "$in" -Wl,--no-whole-archive
"$objcopy" --localize-hidden "$obj"
rm -f "$out"
"$ar" crsD "$out" "$obj"
