/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * connection — one end of an lmm connection, the same object for the client
 * and the manager (libwayland's wl_connection): wire messages framed over a
 * SOCK_SEQPACKET socket, an output queue whose messages carry their fds, and
 * the requests this end sent that still wait for their replies, by serial.
 *
 * The manager sends replies with connection_send() and, when the peer does
 * not read, keeps them queued (fds and all) until connection_flush() gets
 * them out. Between connection_cork() and connection_uncork() it queues
 * them on purpose, and the queue goes out with one sendmmsg(): the replies
 * to a turn's requests cost one syscall, not one each.
 *
 * The client batches both ways: a call started while others are in flight
 * waits in the queue for the next flush (connection_flush_calls()), so the
 * calls a caller starts together leave together; and, given slots
 * (connection_set_slots()), replies are read up to a slot-full per
 * recvmmsg() while no LIST reply, which can be larger than a slot, is
 * among them. Replies read ahead wait in the slots and are handled one per
 * connection_process(), in order, nested calls included. The client sends requests with connection_call_start() and
 * collects replies with connection_process(), which completes the call each
 * one answers; a blocking call is a start plus connection_wait(). Replies
 * come in the order of their requests, so the calls in flight are a queue.
 *
 * Guarantees: every fd handed to a connection is closed or sent on every
 * path; a borrowed fd (connection_send_borrowed()) is never closed here and
 * is sent, or copied, before connection_uncork() returns, so that its owner
 * may close it afterwards; an fd in a message that no call wants is given to the dispose
 * function; a reply that does not match the oldest call in flight (serial,
 * type, fds) breaks the connection, and every call in flight and every later
 * one fails.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "transport.h"
#include "wire.h"

typedef struct connection_out {
        struct connection_out *next;
        int fd;        /* sent with the message; -EBADF: none */
        bool borrowed; /* @fd is its owner's (corked only): sent or copied at the uncork */
        size_t len;
        uint8_t data[];
} connection_out;

/* A request in flight. The caller owns it and keeps it alive until it is done. */
typedef struct connection_call {
        struct connection_call *next;
        /* Called once the call is done, if set (an asynchronous call); it may
         * free the call. connection_done() completes calls in flight too:
         * drop them first (connection_drop_calls()) where that must not be. */
        void (*complete)(struct connection_call *call);
        uint32_t serial;
        uint16_t type;
        bool done;
        int result;     /* 0, or a negative errno: the manager's, or the connection's */
        wire_msg reply; /* result 0: release with wire_msg_done() */
        int reply_fd;   /* result 0: the fd the reply carried, owned by the caller; else -EBADF */
        char error_text[WIRE_ERROR_TEXT_MAX + 1]; /* the manager's words for a failure, or "" */
} connection_call;

typedef struct connection {
        int fd;
        bool nonblock; /* never wait to send: queue instead */
        bool broken;
        int broken_error; /* what calls started on a broken connection get */
        char broken_text[WIRE_ERROR_TEXT_MAX + 1]; /* the manager's last words, or "" */
        uint8_t *buf;                              /* WIRE_MESSAGE_MAX bytes of scratch, borrowed */
        transport_dispose_fn dispose;
        void *dispose_userdata;
        connection_out *out, *out_tail;
        size_t n_out;
        size_t out_bytes;  /* of the messages in out */
        bool corked;       /* queue what is sent until connection_uncork() */
        size_t cork_bytes; /* of the messages sent since connection_cork() */
        size_t cork_count; /* messages sent since connection_cork() */
        bool stalled;      /* a send found the peer's socket full: what is queued waits for it */
        transport_slot *slots; /* borrowed: replies read ahead, NULL: read one at a time */
        size_t n_slots;
        size_t rx_next, rx_count; /* slots[rx_next..rx_count) wait to be handled */
        uint32_t serial;          /* the last serial this end sent */
        connection_call *calls, *calls_tail;
        size_t n_calls;
} connection;

/*
 * connection_init() - @fd is consumed; @buf (borrowed) is scratch for one
 * message; @dispose gets unwanted fds a peer sent (NULL: close them).
 */
void connection_init(connection *c, int fd, uint8_t *buf, bool nonblock,
                     transport_dispose_fn dispose, void *userdata);

/* connection_set_slots() - read replies ahead into @slots (borrowed, @n of them). */
void connection_set_slots(connection *c, transport_slot *slots, size_t n);

/* connection_has_pending() - whether replies read ahead wait to be handled. */
static inline bool connection_has_pending(const connection *c) {
        return c->rx_next < c->rx_count;
}

/* connection_done() - close the socket and every queued fd; calls in flight fail with -ECONNRESET. */
void connection_done(connection *c);

/* connection_send() - send @m with @fd (consumed; -EBADF: none), or queue it. Return: 0, or < 0: the connection is dead. */
int connection_send(connection *c, const wire_msg *m, int fd);

/*
 * connection_send_borrowed() - connection_send() with @fd borrowed: it goes
 * out now, or with the cork's queue; should it have to wait longer, a copy
 * of it waits. Return: as connection_send().
 */
int connection_send_borrowed(connection *c, const wire_msg *m, int fd);

/* connection_flush() - send what is queued. Return: 0 all sent, -EAGAIN some left, < 0 dead. */
int connection_flush(connection *c);

/*
 * connection_cork() - queue every message sent from now on, until
 * connection_uncork(); a queue that grows past a batch (CONNECTION_CORK_MAX
 * messages or bytes) goes out early. Corking changes no order: messages go
 * out in the order they were sent.
 */
void connection_cork(connection *c);

/* connection_uncork() - send what the cork queued, in as few sendmmsg() as
 * will take it. Return: as connection_flush(). */
int connection_uncork(connection *c);

/* The cork's bound: past this many messages or bytes queued, they go out. */
#define CONNECTION_CORK_MAX 16
#define CONNECTION_CORK_BYTES (16 * 1024)

/* connection_has_output() - whether messages wait to be sent. */
static inline bool connection_has_output(const connection *c) {
        return c->out != NULL;
}

/* connection_is_stalled() - whether messages wait because the peer's socket is full. */
static inline bool connection_is_stalled(const connection *c) {
        return c->stalled;
}

/*
 * connection_recv() - receive one message into c->buf, with up to @max_fds
 * fds (owned by the caller on success). Return: its length; 0 at end of
 * stream; -EAGAIN; -EBADMSG for bad control data or fds; -EMSGSIZE.
 */
ssize_t connection_recv(connection *c, int *ret_fds, size_t max_fds, size_t *ret_n_fds);

/*
 * connection_call_start() - send request @q (its serial is assigned here)
 * with @fd (borrowed; -EBADF: none), or queue it (always while other calls
 * are in flight: it then goes out with the next flush), and queue @call to
 * receive its reply; @complete (NULL for a blocking call) runs once it is done.
 * Return: 0; < 0 and @call is done with that result and @complete is not
 * run (when the manager had closed the connection, every other call in
 * flight completes with its last words).
 */
int connection_call_start(connection *c, connection_call *call, wire_msg *q, int fd,
                          void (*complete)(connection_call *call));

/*
 * connection_process() - handle one message, read ahead or read now if there
 * is one, and complete the call it answers. Return: 1 a message was
 * handled; 0 nothing to read; < 0 the connection broke (every call in
 * flight is done with an error).
 */
int connection_process(connection *c);

/*
 * connection_wait() - send what is queued and process messages until @call
 * is done, waiting at most @timeout_usec (0: for ever). A call that times out
 * breaks the connection: a late reply would be taken for the next call's.
 * Return: call->result.
 */
int connection_wait(connection *c, connection_call *call, uint64_t timeout_usec);

/*
 * connection_flush_calls() - send the calls that wait in the queue, the end
 * that makes calls' connection_flush(): a manager that has gone breaks the
 * connection, and the calls in flight complete with its last words.
 * Return: 0, -EAGAIN (some left), < 0 broken.
 */
int connection_flush_calls(connection *c);

/* connection_drop_calls() - forget every call in flight without completing any. */
void connection_drop_calls(connection *c);
