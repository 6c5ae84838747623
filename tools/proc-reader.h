/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * proc-reader — open and read files of other processes in /proc with a bound
 * on how long any one call may take.
 *
 * Some /proc files wait on locks of the process they describe: reading or
 * following the links in fd/ (since the stable fix "proc: protect
 * ptrace_may_access() with exec_update_lock") and opening maps, smaps or
 * map_files/ take its exec_update_lock, reading maps and smaps its mmap lock.
 * A process can hold those for as long as it likes — an exec that closes a
 * FUSE file whose FLUSH is never answered holds exec_update_lock; a FUSE page
 * fault under a queued writer stalls the mmap lock — and these waits end only
 * when the lock is released or the waiter is killed. So each call runs on a
 * worker thread; when it makes no progress for the stall timeout, the caller
 * gets -ETIMEDOUT and the worker is abandoned where it is stuck (it cleans up
 * after itself if it ever returns; exit kills it otherwise: the waits are
 * killable), and a new worker takes the next call.
 *
 * Guarantees: every fd is O_CLOEXEC; a call returns once it makes no progress
 * for the stall timeout (plus scheduling); a call that timed out leaves nothing
 * of the caller's in use (the worker works on copies of the fds and on its own
 * buffers). Only killable waits belong here: a thread stuck uninterruptibly
 * would keep the process from exiting.
 * At most PROC_READER_MAX_STUCK workers are left stuck at any time, over all
 * readers; past that, calls fail with -ETIMEDOUT at once. Not thread-safe: one
 * reader serves one thread.
 */

#include <stddef.h>
#include <sys/types.h>

#define PROC_READER_MAX_STUCK 16

typedef struct proc_reader proc_reader;

/* proc_reader_stuck() - how many workers are left stuck in the kernel now, over all readers.
 * While any is, nothing may try to stop every thread of the process (a leak checker at exit
 * does): it would wait for one that cannot stop. Exit with _exit() then. */
unsigned proc_reader_stuck(void);

/* proc_reader_new() - a reader whose calls give up after @stall_ms. Return: 0 or -ENOMEM. */
int proc_reader_new(unsigned stall_ms, proc_reader **ret);

/* proc_reader_free() - stop the worker (waits for it, unless it was abandoned). Return: NULL.
 * Accepts NULL. */
proc_reader *proc_reader_free(proc_reader *r);

/* proc_reader_open() - openat(@dirfd (borrowed), @path, @flags | O_CLOEXEC). Return: the new
 * fd (owned by the caller), -ETIMEDOUT, or -errno. */
int proc_reader_open(proc_reader *r, int dirfd, const char *path, int flags);

/* proc_reader_read() - read(@fd (borrowed), up to @size bytes into @buf). Return: bytes read,
 * -ETIMEDOUT (@buf untouched), or -errno. */
ssize_t proc_reader_read(proc_reader *r, int fd, void *buf, size_t size);

/* proc_reader_read_file() - the whole of @path under @dirfd (borrowed), in one call; a stall is
 * no progress from one read() to the next. Return: 0 with, in *ret (owned by the caller), its
 * *ret_size bytes and a NUL; -ETIMEDOUT; -errno. */
int proc_reader_read_file(proc_reader *r, int dirfd, const char *path, char **ret,
                          size_t *ret_size);

/* proc_reader_readlinks() - readlink() every entry of the directory @path under @dirfd
 * (borrowed), skipping entries that vanish meanwhile. A stall is no progress from one link to
 * the next. Return: 0 with, in *ret (owned by the caller), *ret_size bytes of "NAME\0TARGET\0"
 * pairs; -ETIMEDOUT; -errno (also when a link may not be read). */
int proc_reader_readlinks(proc_reader *r, int dirfd, const char *path, char **ret,
                          size_t *ret_size);
