/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * activation — lmmd's side of the service manager's protocol: the fds it
 * was started with, and their names (socket activation, the fd store,
 * sd_listen_fds(3)); whether a socket among them is one lmmd can serve;
 * and the state it reports (sd_notify(3)). Built with libsystemd
 * (-Dsystemd), through it; without, through the few lines of the same
 * documented protocol here, so that an lmmd built without libsystemd
 * still runs under the units (Type=notify) and systemd-socket-activate.
 */

#include <stddef.h>

/* The first fd passed, as SD_LISTEN_FDS_START. */
#define ACTIVATION_FDS_START 3

/*
 * activation_listen_fds() - how many fds, from ACTIVATION_FDS_START on,
 * this process was passed, and in *@ret_names (NULL-terminated, each and
 * the array for the caller to free(); may be NULL when there are none)
 * their names from $LISTEN_FDNAMES, "unknown" where it says none. Each fd
 * is made close-on-exec, and $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES
 * are unset, so that no child takes them for its own.
 * Return: the number, 0 when none were passed to this process, or -errno
 * (-EINVAL when $LISTEN_FDNAMES names another number of fds).
 */
int activation_listen_fds(char ***ret_names);

/*
 * activation_check_socket() - whether the socket @fd (borrowed) is one
 * lmmd serves: listening, AF_UNIX, SOCK_SEQPACKET. Logs why not, naming
 * what it is (a .socket unit with ListenStream= by mistake): "lmmd needs a
 * SOCK_SEQPACKET socket". Return: 0 or a negative errno.
 */
int activation_check_socket(int fd);

/* activation_socket_name() - the path @fd (borrowed) is bound to, for the log. */
void activation_socket_name(int fd, char *ret, size_t size);

/*
 * activation_notify() - send @state ("READY=1", newline-separated
 * assignments) to $NOTIFY_SOCKET. Return: > 0 when sent, 0 when there is
 * no $NOTIFY_SOCKET, or -errno.
 */
int activation_notify(const char *state);
