#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# units.sh — lmmd's units as `meson install` puts them, seen where they
# would be: in a mount namespace of its own, the DESTDIR is laid over the
# prefix (overlayfs), and sysusers.d/lmm.conf applied to a copy of
# /etc/passwd and /etc/group laid over them. Then:
#   - systemd-analyze verify has nothing to say about the system units nor
#     the user units;
#   - the system lmmd.service's ExecStart= line runs as systemd would run
#     it, as far as that goes without systemd: under
#     systemd-socket-activate (lmmd.socket's SocketGroup=, SocketMode=0660),
#     as its User= and Group=, with its AmbientCapabilities= and
#     CapabilityBoundingSet= and NoNewPrivileges= (setpriv), its UMask=, in
#     a network namespace of its own (PrivateNetwork=). It must say READY=1
#     on $NOTIFY_SOCKET, serve root and a member of group lmm (who can also
#     adopt a memfd), refuse a user outside the group, and stop cleanly on
#     SIGTERM (activate-check).
# The seccomp and mount settings are not applied here: see docs/lmmd.md.
#   units.sh BUILD_DIR PREFIX SYSTEM_UNIT_DIR USER_UNIT_DIR SYSUSERS_DIR ACTIVATE_CHECK
set -euo pipefail
build=$1 prefix=$2 sysdir=$3 userdir=$4 sysusersdir=$5 activate_check=$6
skip() { echo "SKIP: $*"; exit 77; }

if [ -z "${LMM_UNITS_TMP:-}" ]; then
  [ -n "$sysdir" ] && [ -n "$userdir" ] && [ -n "$sysusersdir" ] ||
    skip "the units are not installed (no pkg-config systemd; -Dsystemdsystemunitdir=)"
  [ "$(id -u)" = 0 ] || skip "needs root (a mount namespace, setpriv)"
  for p in systemd-analyze systemd-socket-activate systemd-sysusers setpriv unshare; do
    command -v "$p" >/dev/null || skip "$p is not installed"
  done
  # Nothing mounted here may reach the rest of the system: in a chroot, /
  # is no mount point to make private, and a mount could propagate out.
  unshare --mount --propagation private true 2>/dev/null ||
    skip "no private mount namespace here (in a chroot, / is not a mount point)"
  tmp=$(mktemp -d /tmp/lmm-units-XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
  rc=0
  LMM_UNITS_TMP=$tmp unshare --mount --propagation private -- "$0" "$@" || rc=$?
  exit $rc
fi

tmp=$LMM_UNITS_TMP
dest=$tmp/dest
# The installed tree over the prefix, and over each directory outside it.
overlay() {
  [ -d "$1" ] || skip "$1 does not exist here, nothing to lay the installed one over"
  mount -t overlay overlay -o "lowerdir=$dest$1:$1" "$1" ||
    skip "cannot mount an overlay on $1"
}
overlay "$prefix"
for d in "$sysdir" "$userdir" "$sysusersdir"; do
  case "$d" in "$prefix"/*) ;; *) overlay "$d" ;; esac
done

# systemd-analyze verify: silent, or it found something. It checks that
# ExecStart= is there and executable, and the man pages the units name.
man=yes
man -w lmmd >/dev/null 2>&1 || man=no
mkdir -m 0700 "$tmp/runtime"
cd /
out=$(systemd-analyze verify --man=$man "$sysdir/lmmd.socket" "$sysdir/lmmd.service" 2>&1) &&
  [ -z "$out" ] || { echo "systemd-analyze verify, system units:"; echo "$out"; exit 1; }
out=$(XDG_RUNTIME_DIR=$tmp/runtime systemd-analyze --user verify --man=$man \
        "$userdir/lmmd.socket" "$userdir/lmmd.service" 2>&1) &&
  [ -z "$out" ] || { echo "systemd-analyze verify, user units:"; echo "$out"; exit 1; }
echo "systemd-analyze verify: system and user units clean$([ $man = no ] && echo ' (no man pages built: not checked)')"
echo "systemd-analyze security: $(systemd-analyze security --offline=yes "$sysdir/lmmd.service" 2>/dev/null | tail -1)"

# User lmmd and group lmm, as systemd-sysusers would make them.
mkdir -p "$tmp/root/etc"
cp /etc/passwd /etc/group "$tmp/root/etc/"
systemd-sysusers --root="$tmp/root" "$sysusersdir/lmm.conf" 2>/dev/null
mount --bind "$tmp/root/etc/passwd" /etc/passwd
mount --bind "$tmp/root/etc/group" /etc/group

get() { sed -n "s/^$1=//p" "$2" | tail -1; }
service=$sysdir/lmmd.service socket=$sysdir/lmmd.socket
caps() { local c out=-all; for c in $1; do c=${c#CAP_}; out+=",+${c,,}"; done; echo "$out"; }
read -ra exec_start <<<"$(get ExecStart "$service")"
[ "$(get Type "$service")" = notify ] || { echo "lmmd.service is not Type=notify"; exit 1; }
[ "$(get SocketMode "$socket")" = 0660 ] || { echo "lmmd.socket is not SocketMode=0660"; exit 1; }
run=(setpriv --reuid="$(get User "$service")" --regid="$(get Group "$service")" --clear-groups
     --inh-caps="$(caps "$(get AmbientCapabilities "$service")")"
     --ambient-caps="$(caps "$(get AmbientCapabilities "$service")")"
     --bounding-set="$(caps "$(get CapabilityBoundingSet "$service")")")
[ "$(get NoNewPrivileges "$service")" = yes ] && run+=(--no-new-privs)
run=(sh -c "umask $(get UMask "$service") && exec \"\$@\"" sh "${run[@]}")
[ "$(get PrivateNetwork "$service")" = yes ] && run=(unshare --net -- "${run[@]}")
echo "running: ${run[*]} ${exec_start[*]}"
"$activate_check" --socket-group "$(get SocketGroup "$socket")" --member 12345 --stranger 12346 \
  -- "${run[@]}" "${exec_start[@]}"
