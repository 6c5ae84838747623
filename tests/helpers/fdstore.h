/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fdstore — a stand-in for systemd running lmmd.service with lmmd.socket,
 * FileDescriptorStoreMax= and Restart=on-failure: it owns the listening
 * SOCK_SEQPACKET socket and a NOTIFY_SOCKET datagram socket, starts the
 * built lmmd with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (the socket,
 * then every fd in its store), keeps the store as sd_notify(3) says
 * (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1; duplicates of one open file
 * kept once), and when lmmd dies, first takes every notification it sent
 * (as systemd does, before SIGCHLD) and then starts it again, unless it
 * exited 0. A thread of the test's process does it all; the test drives
 * it through these calls and looks at the store.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fdstore fdstore;

typedef struct fdstore_opts {
        const char *const *args; /* more lmmd arguments, NULL-terminated; may be NULL */
        int log_fd;              /* lmmd's stderr (borrowed); < 0: the test's */
} fdstore_opts;

typedef struct fdstore_entry {
        char name[256];
        uint64_t dev, ino;
} fdstore_entry;

/* fdstore_start() - make the sockets, start lmmd, wait for its READY=1. Return: 0 or -errno. */
int fdstore_start(const fdstore_opts *o, fdstore **ret);

/* fdstore_free() - SIGKILL lmmd if it runs, reap it, close the store and the sockets. */
void fdstore_free(fdstore *s);

/* fdstore_socket() - the path lmmd serves (the stand-in's socket). */
const char *fdstore_socket(const fdstore *s);

/* fdstore_pid() - the lmmd that runs now; 0 when none does. */
pid_t fdstore_pid(fdstore *s);

/* fdstore_starts() - how many times lmmd was started and said READY=1. */
unsigned fdstore_starts(fdstore *s);

/* fdstore_wait_ready() - wait until lmmd has said READY=1 @starts times. Return: 0, -ETIMEDOUT. */
int fdstore_wait_ready(fdstore *s, unsigned starts, int timeout_ms);

/* fdstore_kill() - SIGKILL lmmd now; it is started again (unless held). Return: 0, -ESRCH. */
int fdstore_kill(fdstore *s);

/*
 * fdstore_kill_on() - SIGKILL lmmd as soon as the @nth notification from
 * now with a line equal to @line ("FDSTORE=1", "FDSTOREREMOVE=1") has been
 * taken in (at once: it may or may not have sent its reply). One at a time.
 */
void fdstore_kill_on(fdstore *s, const char *line, unsigned nth);

/* fdstore_killed_on() - whether the trigger of fdstore_kill_on() has fired. */
bool fdstore_killed_on(fdstore *s);

/* fdstore_hold() - while held, a dead lmmd is not started again. */
void fdstore_hold(fdstore *s, bool hold);

/* fdstore_wait_dead() - wait until no lmmd runs. Return: its wait status, -ETIMEDOUT. */
int fdstore_wait_dead(fdstore *s, int timeout_ms);

/* fdstore_restart() - start lmmd if none runs, and wait for its READY=1. Return: 0 or -errno. */
int fdstore_restart(fdstore *s, int timeout_ms);

/*
 * fdstore_sync() - take in every notification sent so far: what lmmd sent
 * before the test received a reply is in the store when this returns.
 */
void fdstore_sync(fdstore *s);

/* fdstore_list() - the store as it is: name, st_dev and st_ino of each fd. free() it. */
size_t fdstore_list(fdstore *s, fdstore_entry **ret);

/* fdstore_take() - take the first fd stored under @name out of the store. Return: it, -ENOENT. */
int fdstore_take(fdstore *s, const char *name);

/* fdstore_put() - store @fd (consumed) under @name, as an FDSTORE=1 would. */
void fdstore_put(fdstore *s, const char *name, int fd);

/*
 * fdstore_stop() - SIGTERM lmmd and wait for it to exit (never started
 * again after that). Return: its exit status, -1 for a signal, -ETIMEDOUT.
 */
int fdstore_stop(fdstore *s, int timeout_ms);
