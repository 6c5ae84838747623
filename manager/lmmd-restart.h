/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * lmmd-restart — lmmd's side of a restart (lib/manager-state.h is the
 * manager's): the service manager's fd store through sd_notify(3), the fds
 * a start is handed through LISTEN_FDS, and re-execution, which hands the
 * next program the same fds in the same layout, so that one restore serves
 * a restart by systemd and a re-execution alike.
 */

#include "lmm.h"

/*
 * restart_init() - first thing in main(): remember what to execute again
 * (the path this binary was started from, and @argv), and, after a
 * re-execution, put the fds it passed where socket activation puts them:
 * from fd 3 on, in the order of LISTEN_FDNAMES.
 * Return: 0, or a negative errno when the fds could not be put in place.
 */
int restart_init(char **argv);

/*
 * restart_take_fds() - keep a restart state in @m, handed to the service
 * manager's fd store when $NOTIFY_SOCKET is set; serve the listening
 * sockets among the fds handed over (LISTEN_FDS), and rebuild the blocks
 * from the others. Call it before lmm_manager_handle_signals(), so that
 * SIGHUP re-executes. Logs why it fails.
 * Return: how many listening sockets were handed over, or a negative errno.
 */
int restart_take_fds(lmm_manager *m);

/*
 * restart_reexec() - execute lmmd again, handing over every listening
 * socket, the state and every block. Returns only when that failed, having
 * logged why; @m then serves on as before.
 */
void restart_reexec(lmm_manager *m);
