#!/usr/bin/env bash
# deps.sh — make sure what building and testing lmm needs is installed
# (Debian 12). Installs the missing packages as root; otherwise prints the
# exact line to run. Sourced by demo.sh and test.sh.
set -euo pipefail

lmm_packages=(
  meson ninja-build pkg-config gcc libc6-dev
  libcriterion-dev libsmartcols-dev libsystemd-dev
  libseccomp-dev   # the workers' sandbox (lib/sandbox.c)
  scdoc
  abigail-tools    # abidw, abidiff: the ABI check against tests/abi/liblmm.abi
  man-db           # man, that the man3 test renders every page with
  util-linux-extra # lsfd, which the memfd-inspect tests compare against
  systemd          # pkg-config systemd (where the units go), and the units test's
                   # systemd-analyze, systemd-socket-activate, systemd-sysusers
  python3          # the Python package lmm (ctypes) and its tests; a strict JSON
                   # parser for memfd-inspect's --json tests
  bash-completion  # where completions/ installs (pkg-config), and what its tests source
  # and what a script that sources this asks for besides (tests/bench/run: gnuplot)
  ${lmm_extra_packages[@]+"${lmm_extra_packages[@]}"}
)

lmm_missing=()
for p in "${lmm_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || lmm_missing+=("$p")
done

if [ ${#lmm_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "lmm: installing ${lmm_missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${lmm_missing[@]}" >/dev/null
  else
    echo "lmm: missing packages; run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${lmm_missing[*]}" >&2
    exit 1
  fi
fi
