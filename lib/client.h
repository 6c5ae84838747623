/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * client — what the client's two files share: the client object, and the
 * checks and conversions both the blocking calls (client.c) and the
 * asynchronous ones (client-async.c) make.
 */

#include "connection.h"
#include "lmm.h"
#include "wire.h"

typedef struct async_call async_call;

/* Replies one read takes at most: about 1.3 KiB each, with room for the fds. */
#define CLIENT_RECV_SLOTS 8

struct lmm_client {
        unsigned n_ref; /* the caller's, plus one while handlers run */
        pid_t pid;      /* the process that made it: a forked child's calls fail */
        connection conn;
        uint64_t timeout_usec;
        char *path;        /* where to connect again once the connection ended; NULL: never */
        uid_t manager_uid; /* whose manager @path led to: the only one connected to again */
        async_call *async; /* asynchronous calls in flight, to free at unref */
        char last_error[WIRE_ERROR_TEXT_MAX + 1];
        uint8_t buf[WIRE_MESSAGE_MAX];
        /* Replies read ahead, a recvmmsg() at a time (connection.h). */
        transport_slot slots[CLIENT_RECV_SLOTS];
};

/* client_new_from_fd() - a client on an already connected SOCK_SEQPACKET socket @fd (consumed). */
int client_new_from_fd(int fd, lmm_client **ret);

/* client_ref() - keep @c alive while handlers that may unref it run. */
lmm_client *client_ref(lmm_client *c);

/*
 * client_name_arg() - check a name argument into @out. @may_be_null: a new
 * block, which the manager may name; otherwise a block to find, which may be
 * another user's (UID/NAME).
 */
int client_name_arg(const char *name, char out[static LMM_NAME_MAX + 1], bool may_be_null);

/*
 * client_reply_writable() - whether the fd in the reply to @q (CREATE, OPEN
 * or ADOPT) is read-write: what the request asked for.
 */
int client_reply_writable(const wire_msg *q);

/*
 * client_reconnect() - when @c's connection has ended and @c knows its
 * manager's path, connect there again, under the same fd number: nothing
 * is in flight on a connection that ended. Return: 0 (connected again, or
 * nothing to do); -ECONNRESET when nothing listens there any more; the
 * error of connect().
 */
int client_reconnect(lmm_client *c);

/* client_named_request() - enter @c and make the request of @type for block @name in @ret. */
int client_named_request(lmm_client *c, uint16_t type, const char *name, wire_msg *ret);

/* client_create_request() - enter @c and make the CREATE request @o asks for in @ret. */
int client_create_request(lmm_client *c, const lmm_segment_opts *o, wire_msg *ret);

/* client_info_from_wire() - a block record as lmm_block_info. */
void client_info_from_wire(const wire_block *b, lmm_block_info *ret);

/* client_async_free_all() - forget the asynchronous calls in flight (their handlers never run). */
void client_async_free_all(lmm_client *c);

/*
 * client_enter() - what every public call on @c does first: forget the
 * manager's last message, and refuse a client that another process made
 * (-ECHILD, a forked child) or that client_disconnect() closed (-ESHUTDOWN).
 */
int client_enter(lmm_client *c);

/* client_disconnect() - close the connection; @c stays valid and every call fails with -ESHUTDOWN. */
void client_disconnect(lmm_client *c);

/* client_get_timeout() - the call timeout in microseconds, 0 for none. */
uint64_t client_get_timeout(const lmm_client *c);
