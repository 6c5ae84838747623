/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fixture — what the criterion suites share, built on the harness: a real
 * lmmd for a suite (.init/.fini), clients and blocks that must work, the raw
 * protocol (messages the library would never send, replies as the manager
 * wrote them), and a manager core in the test's own process whose peers have
 * the credentials the test makes up. Every call asserts: a fixture that
 * fails ends the test that used it, with the cause. Only test binaries link
 * this.
 */

#include <stdint.h>

#include "harness.h"
#include "lmm.h"
#include "policy.h"
#include "wire.h"

/* The lmmd of fixture_lmmd_start(): its pid (0 once stopped or reaped) and socket. */
extern harness_lmmd fixture_lmmd;

/* fixture_lmmd_start() - start the built lmmd on a private socket; a TestSuite's .init. */
void fixture_lmmd_start(void);

/* fixture_lmmd_start_with() - the same, with extra lmmd arguments (NULL-terminated). */
void fixture_lmmd_start_with(const char *const *args);

/* fixture_lmmd_stop() - SIGTERM it and wait, if it still runs; a TestSuite's .fini. */
void fixture_lmmd_stop(void);

/* fixture_lmmd_wait_exit() - wait for the lmmd to exit on its own (after a SHUTDOWN) and
 * reap it. Return: its exit status, -1 for a signal, -2 when it still runs after @timeout_ms. */
int fixture_lmmd_wait_exit(int timeout_ms);

/* fixture_client() - a client connected to the fixture's lmmd. */
lmm_client *fixture_client(void);

/* fixture_create() - create block @name of @size bytes through @c. */
lmm_segment *fixture_create(lmm_client *c, const char *name, uint64_t size);

/* fixture_raw_connect() - a SOCK_SEQPACKET socket connected to the manager at @path. */
int fixture_raw_connect(const char *path);

/* fixture_raw_send() - encode @m and send it on @sock, with @fd (borrowed; < 0: none). */
void fixture_raw_send(int sock, const wire_msg *m, int fd);

/*
 * fixture_raw_recv() - receive one message on @sock and decode it into @ret
 * (wire_msg_done() releases a LIST reply's blocks). @ret_fd, when not NULL,
 * is always set: the fd the message carried, or -EBADF; with NULL that fd is
 * closed. A non-blocking @sock is not waited on.
 * Return: wire_decode()'s result; -ECONNRESET at end of stream; or
 * transport_recv()'s error (-EAGAIN: nothing there yet).
 */
int fixture_raw_recv(int sock, wire_msg *ret, int *ret_fd);

/* fixture_manager_new() - a manager core in this process (@o: NULL for the defaults); free it
 * with lmm_manager_free(). */
lmm_manager *fixture_manager_new(const lmm_manager_opts *o);

/*
 * fixture_manager_connect() - a connection to @m over a socketpair: @m serves
 * one end as a peer with credentials @creds (made up: any uid, gid and
 * groups, without root), or with NULL the kernel's, as
 * lmm_manager_add_connection() takes them. A refused peer is closed at once,
 * its ERROR waiting. Return: the other end, non-blocking (nothing answers
 * before fixture_manager_pump()), for the caller to close.
 */
int fixture_manager_connect(lmm_manager *m, const peer_creds *creds);

/* fixture_manager_pump() - let @m handle what is pending until it has nothing left to do,
 * its closer included: a connection the manager dropped is closed when this returns. */
void fixture_manager_pump(lmm_manager *m);
