/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * closer — a thread that closes the fds peers sent, so that the thread
 * serving clients never waits on one. A close() of a file on FUSE waits for
 * that file system's daemon to answer FLUSH, and a lingering TCP socket's
 * waits out its linger time: a peer that controls either could otherwise
 * stall the event loop, and every other client with it.
 */

/* closer_start() - Return: the write end of the closer's pipe, or -EBADF when no thread could be made. */
int closer_start(void);

/*
 * closer_dispose() - close @fd (consumed) on the closer thread, or here when
 * @closer_fd is -EBADF or its pipe is full (the closer is itself wedged).
 */
void closer_dispose(int closer_fd, int fd);

/* closer_stop() - close the pipe (consumed): the closer drains what is queued, then ends. */
void closer_stop(int closer_fd);
