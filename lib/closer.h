/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * closer — threads that close the fds peers sent, so that the thread serving
 * clients never waits on one. A close() of a file on FUSE waits for that
 * file system's daemon to answer FLUSH, and a lingering TCP socket's waits
 * out its linger time: a peer that controls either could otherwise stall the
 * event loop, and every other client with it. The same holds for a peer's
 * Unix socket, whose release drops every fd still queued in it.
 *
 * A close that never returns costs a thread, not an fd: close() frees its
 * slot in the fd table before the release that waits. So the closer is a
 * pool of workers that cannot be wedged for good: a supervisor, which never
 * closes anything itself, starts one more worker whenever fds wait and no
 * worker has taken one for a while, up to a bound; a worker idle for long
 * ends, but the last. No thread starts before the first fd comes. Nothing is ever closed on the caller's thread, not
 * even when every worker is wedged: the fds wait, and each waits counted
 * against the uid it came from.
 *
 * Each fd may come with a user charge (user.h) for its uid. The closer keeps
 * it until the fd is closed; closer_process(), on the caller's thread, then
 * releases it, so that charges are only ever touched there. A uid's fds are
 * closed by a few workers at most at a time: one uid that wedges its own
 * closes cannot wedge the whole pool.
 */

#include "user.h"

typedef struct closer closer;

/* closer_new() - a closer; its supervisor starts with the first fd it is given. Return: 0 or -errno. */
int closer_new(closer **ret);

/* closer_get_fd() - an eventfd that is readable when closes have finished
 * whose charges wait for closer_process(). */
int closer_get_fd(const closer *c);

/*
 * closer_dispose() - close @fd (consumed) on a worker. @charge (may be NULL)
 * is moved into the closer, which releases it through closer_process() once
 * @fd is closed; a charge's user also decides which fds share that user's
 * few workers. Out of memory, @fd is kept open for good rather than closed
 * here.
 */
void closer_dispose(closer *c, int fd, user_charge *charge);

/* closer_pending() - fds queued or being closed: 0 once everything handed
 * over is closed (the eventfd is then readable if charges wait). */
unsigned closer_pending(closer *c);

/* closer_process() - release the charges of the closes that have finished. Return: how many. */
unsigned closer_process(closer *c);

/*
 * closer_free() - release every charge now, on this thread; the workers then
 * close what is queued and end, and the last one frees the closer, even if
 * that is long after. Return: NULL.
 */
closer *closer_free(closer *c);
