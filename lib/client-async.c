/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client-async — calls a service drives from its own event loop: started
 * now, completed later by a handler, many in flight on one connection
 * (sd-bus's sd_bus_call_async()). The connection keeps them in order of
 * their serials; each async_call carries the handler its reply goes to.
 *
 * Guarantees: every started call's handler runs exactly once, unless the
 * client is unref'd first; a handler may unref the client (it stays alive
 * until processing returns); a reply's fd goes to its handler inside a
 * segment, or is closed.
 */

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "segment.h"
#include "util.h"

typedef enum async_kind {
        ASYNC_SEGMENT,
        ASYNC_STAT,
        ASYNC_DONE,
} async_kind;

struct async_call {
        connection_call call; /* first: the connection hands it back to async_complete() */
        lmm_client *client;
        async_kind kind;
        union {
                lmm_segment_handler segment;
                lmm_stat_handler stat;
                lmm_done_handler done;
        } handler;
        void *userdata;
        int writable;            /* ASYNC_SEGMENT: the reply's fd is read-write */
        async_call *prev, *next; /* the client's list, for unref */
};

static void async_unlink(lmm_client *c, async_call *a) {
        if (a->prev)
                a->prev->next = a->next;
        else
                c->async = a->next;
        if (a->next)
                a->next->prev = a->prev;
}

static void async_complete(connection_call *call) {
        async_call *a = (async_call *) call;
        lmm_client *c = a->client;
        lmm_segment *s = NULL;
        lmm_block_info info;
        int r = call->result;

        async_unlink(c, a);
        snprintf(c->last_error, sizeof(c->last_error), "%s", r < 0 ? call->error_text : "");
        client_ref(c);
        switch (a->kind) {
        case ASYNC_SEGMENT:
                if (r >= 0)
                        r = segment_new(TAKE_FD(call->reply_fd), call->reply.block.size,
                                        call->reply.block.name, a->writable, &s);
                a->handler.segment(c, r, r < 0 ? NULL : s, a->userdata);
                break;
        case ASYNC_STAT:
                if (r >= 0)
                        client_info_from_wire(&call->reply.block, &info);
                a->handler.stat(c, r, r < 0 ? NULL : &info, a->userdata);
                break;
        case ASYNC_DONE:
                if (a->handler.done)
                        a->handler.done(c, r, a->userdata);
                break;
        }
        safe_close(call->reply_fd);
        if (call->result >= 0)
                wire_msg_done(&call->reply);
        free(a);
        lmm_client_unref(c);
}

void client_async_free_all(lmm_client *c) {
        connection_drop_calls(&c->conn);
        while (c->async) {
                async_call *a = c->async;

                c->async = a->next;
                free(a);
        }
}

/* async_start() - send @q (with @fd, borrowed) and queue a call for @kind's handler. */
static int async_start(lmm_client *c, wire_msg *q, int fd, async_kind kind, void (*handler)(void),
                       void *userdata) {
        async_call *a;
        int r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->client = c;
        a->kind = kind;
        a->userdata = userdata;
        a->writable = client_reply_writable(q);
        switch (kind) {
        case ASYNC_SEGMENT:
                a->handler.segment = (lmm_segment_handler) handler;
                break;
        case ASYNC_STAT:
                a->handler.stat = (lmm_stat_handler) handler;
                break;
        case ASYNC_DONE:
                a->handler.done = (lmm_done_handler) handler;
                break;
        }
        /* Starting may find the manager gone and complete the calls in
         * flight, whose handlers may drop the caller's reference. This call
         * itself completes later, or fails here without its handler: it
         * joins the list only once it is in flight. */
        client_ref(c);
        r = connection_call_start(&c->conn, &a->call, q, fd, async_complete);
        if (r < 0) {
                strcpy(c->last_error, a->call.error_text);
                free(a);
        } else {
                a->next = c->async;
                if (c->async)
                        c->async->prev = a;
                c->async = a;
        }
        lmm_client_unref(c);
        return r;
}

_public_ int lmm_segment_create_async(lmm_client *c, const lmm_segment_opts *o,
                                      lmm_segment_handler handler, void *userdata) {
        wire_msg q;
        int r;

        r = client_create_request(c, o, &q);
        if (r < 0)
                return r;
        if (!handler)
                return -EINVAL;
        return async_start(c, &q, -EBADF, ASYNC_SEGMENT, (void (*)(void)) handler, userdata);
}

_public_ int lmm_segment_open_async(lmm_client *c, const char *name, uint32_t flags,
                                    lmm_segment_handler handler, void *userdata) {
        wire_msg q;
        int r;

        r = client_named_request(c, WIRE_OPEN, name, &q);
        if (r < 0)
                return r;
        if (!handler)
                return -EINVAL;
        q.flags = flags;
        return async_start(c, &q, -EBADF, ASYNC_SEGMENT, (void (*)(void)) handler, userdata);
}

static int named_async(lmm_client *c, uint16_t type, const char *name, async_kind kind,
                       void (*handler)(void), void *userdata) {
        wire_msg q;
        int r;

        r = client_named_request(c, type, name, &q);
        if (r < 0)
                return r;
        return async_start(c, &q, -EBADF, kind, handler, userdata);
}

_public_ int lmm_block_stat_async(lmm_client *c, const char *name, lmm_stat_handler handler,
                                  void *userdata) {
        if (c && !handler)
                return -EINVAL;
        return named_async(c, WIRE_STAT, name, ASYNC_STAT, (void (*)(void)) handler, userdata);
}

_public_ int lmm_block_release_async(lmm_client *c, const char *name, lmm_done_handler handler,
                                     void *userdata) {
        return named_async(c, WIRE_RELEASE, name, ASYNC_DONE, (void (*)(void)) handler, userdata);
}

_public_ int lmm_block_freeze_async(lmm_client *c, const char *name, lmm_done_handler handler,
                                    void *userdata) {
        return named_async(c, WIRE_FREEZE, name, ASYNC_DONE, (void (*)(void)) handler, userdata);
}

_public_ int lmm_client_get_fd(const lmm_client *c) {
        return c ? c->conn.fd : -EINVAL;
}

_public_ int lmm_client_get_events(const lmm_client *c) {
        if (!c)
                return -EINVAL;
        return POLLIN | (connection_has_output(&c->conn) ? POLLOUT : 0);
}

_public_ size_t lmm_client_get_n_pending(const lmm_client *c) {
        return c ? c->conn.n_calls : 0;
}

/* Replies handled per lmm_client_process(), so that one busy client cannot hold its loop. */
#define PROCESS_MAX 64

_public_ int lmm_client_process(lmm_client *c) {
        bool did = false;
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        client_ref(c);
        r = connection_flush_calls(&c->conn);
        if (r == -EAGAIN)
                r = 0;
        /* Replies read ahead are handled to the last, PROCESS_MAX or not:
         * no poll() would say that they are there. */
        for (unsigned i = 0; r >= 0 && (i < PROCESS_MAX || connection_has_pending(&c->conn)); i++) {
                r = connection_process(&c->conn);
                if (r <= 0)
                        break;
                did = true;
                if (!c->conn.calls && !connection_has_pending(&c->conn))
                        break; /* nothing more can be waiting for us */
        }
        /* What the handlers started goes out now, together. */
        if (r >= 0 && connection_has_output(&c->conn)) {
                r = connection_flush_calls(&c->conn);
                if (r == -EAGAIN)
                        r = 0;
        }
        lmm_client_unref(c);
        return r < 0 ? r : did;
}

_public_ int lmm_client_wait(lmm_client *c, uint64_t usec) {
        struct pollfd p;
        int timeout, r;

        if (!c)
                return -EINVAL;
        p = (struct pollfd){ .fd = c->conn.fd, .events = (short) lmm_client_get_events(c) };
        timeout = usec == UINT64_MAX ? -1 : (int) MIN((usec + 999) / 1000, (uint64_t) INT32_MAX);
        r = poll(&p, 1, timeout);
        if (r < 0)
                return errno == EINTR ? 0 : negative_errno();
        return r > 0;
}
