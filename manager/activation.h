/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * activation — lmmd's side of the service manager's protocol: the listening
 * sockets it was started with (socket activation, sd_listen_fds(3)) and
 * the state it reports (sd_notify(3)). Built with libsystemd (-Dsystemd),
 * through it; without, through the few lines of the same documented
 * protocol here, so that an lmmd built without libsystemd still runs under
 * the units (Type=notify) and systemd-socket-activate.
 */

/* The first fd passed, as SD_LISTEN_FDS_START. */
#define ACTIVATION_FDS_START 3

/*
 * activation_listen_fds() - how many fds, from ACTIVATION_FDS_START on,
 * this process was passed; each is made close-on-exec, and $LISTEN_PID,
 * $LISTEN_FDS and $LISTEN_FDNAMES are unset, so that no child takes them
 * for its own. Return: the number, 0 when none were passed to this
 * process, or -errno.
 */
int activation_listen_fds(void);

/*
 * activation_notify() - send @state ("READY=1", newline-separated
 * assignments) to $NOTIFY_SOCKET. Return: > 0 when sent, 0 when there is
 * no $NOTIFY_SOCKET, or -errno.
 */
int activation_notify(const char *state);
