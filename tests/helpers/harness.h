/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * harness — what the integration tests share: start the built lmmd on a
 * private socket, stop it, and look at processes through /proc (fd counts,
 * memfds held, Shmem).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct harness_lmmd {
        pid_t pid;
        char dir[256];  /* private directory, removed by harness_lmmd_stop() */
        char sock[300]; /* dir + "/lmmd.sock" */
} harness_lmmd;

/* harness_lmmd_start() - start $LMMD with --socket in a fresh directory and extra
 * arguments (NULL-terminated, may be NULL); waits until it accepts. Return: 0 or -errno. */
int harness_lmmd_start(harness_lmmd *h, const char *const *args);

/* harness_lmmd_start_logged() - harness_lmmd_start(), with lmmd's stderr going to @log_fd
 * (borrowed; < 0: this process's stderr). */
int harness_lmmd_start_logged(harness_lmmd *h, const char *const *args, int log_fd);

/* harness_lmmd_stop() - SIGTERM, wait. Return: its exit status, or -1 if it died by a signal. */
int harness_lmmd_stop(harness_lmmd *h);

/* harness_lmmd_kill() - SIGKILL, wait. */
void harness_lmmd_kill(harness_lmmd *h);

/* harness_wait_exit() - wait for @pid to exit within @timeout_ms. Return: exit status, -1 signal, -2 timeout. */
int harness_wait_exit(pid_t pid, int timeout_ms);

/* harness_count_fds() - number of open fds of @pid (0 for self). */
int harness_count_fds(pid_t pid);

/* harness_settled_fds() - the fd count of @pid once it has not changed for 30 ms: the
 * manager closes a connection's fds after the peer already saw the close. */
int harness_settled_fds(pid_t pid);

/* harness_count_memfds() - fds of @pid whose link is "/memfd:@name (deleted)"; NULL name: any memfd. */
int harness_count_memfds(pid_t pid, const char *name);

/* harness_memfd_anywhere() - whether any process on the system holds an fd to memfd "@name". */
bool harness_memfd_anywhere(const char *name);

/* harness_shmem_kib() - Shmem from /proc/meminfo. */
uint64_t harness_shmem_kib(void);

/* harness_userns_available() - whether this process may make a user and a mount namespace
 * (not in a chroot, where the kernel refuses CLONE_NEWUSER, nor where an administrator turned
 * them off). Probed once, in a child. */
bool harness_userns_available(void);

/* harness_getenv() - the environment variable meson passes, or abort with a message. */
const char *harness_getenv(const char *name);

/* harness_run() - run argv, feed @input (may be NULL) on stdin, capture stdout into @out (size
 * @size, NUL-terminated) and stderr into @err. Return: exit status, -1 for a signal. */
int harness_run(const char *const *argv, const char *input, char *out, size_t size, char *err,
                size_t esize);

/*
 * The weapon of the stall tests: a TCP socket whose last close() waits out
 * its linger time, in whichever thread drops the last reference.
 * harness_tcp_sink() - a TCP listener on 127.0.0.1 that never accepts, with a
 * small receive buffer that its pending connections inherit; closing it
 * resets them all, which ends every linger at once. Return: the fd or -errno.
 * harness_lingering_socket() - a socket connected to @sink with SO_LINGER set
 * to @linger_sec and its send queue full toward a peer that never reads.
 * Return: the fd or -errno.
 */
int harness_tcp_sink(void);
int harness_lingering_socket(int sink, int linger_sec);
