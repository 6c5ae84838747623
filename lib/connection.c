/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * connection — framing, output queue and calls in flight, for both ends.
 * See connection.h.
 */

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "connection.h"
#include "util.h"

static void dispose_close(int fd, void *userdata) {
        safe_close(fd);
}

void connection_init(connection *c, int fd, uint8_t *buf, bool nonblock,
                     transport_dispose_fn dispose, void *userdata) {
        *c = (connection){
                .fd = fd,
                .nonblock = nonblock,
                .buf = buf,
                .dispose = dispose ?: dispose_close,
                .dispose_userdata = userdata,
        };
}

void connection_set_slots(connection *c, transport_slot *slots, size_t n) {
        c->slots = slots;
        c->n_slots = MIN(n, (size_t) TRANSPORT_RECV_BATCH_MAX);
}

static void dispose_many(connection *c, const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                c->dispose(fds[i], c->dispose_userdata);
}

/* rx_drop() - forget the replies read ahead: nothing will handle them. */
static void rx_drop(connection *c) {
        while (connection_has_pending(c)) {
                transport_slot *s = &c->slots[c->rx_next++];

                if (s->len > 0) /* a slot with an error kept no fd */
                        dispose_many(c, s->fds, s->n_fds);
        }
        c->rx_next = c->rx_count = 0;
}

static void call_complete(connection *c, connection_call *call, int result) {
        c->calls = call->next;
        if (!c->calls)
                c->calls_tail = NULL;
        c->n_calls--;
        call->next = NULL;
        call->done = true;
        call->result = result;
        if (call->complete)
                call->complete(call);
}

static void calls_fail(connection *c, int error, const char *text) {
        while (c->calls) {
                connection_call *call = c->calls;

                call->reply_fd = -EBADF;
                snprintf(call->error_text, sizeof(call->error_text), "%s", text ?: "");
                call_complete(c, call, error); /* may free it, or start calls: c is consistent */
        }
}

void connection_drop_calls(connection *c) {
        while (c->calls) {
                connection_call *call = c->calls;

                c->calls = call->next;
                call->next = NULL;
                call->complete = NULL;
        }
        c->calls_tail = NULL;
        c->n_calls = 0;
}

static void connection_break(connection *c, int error, const char *text) {
        rx_drop(c);
        if (!c->broken) {
                c->broken = true;
                c->broken_error = -ECONNRESET;
                snprintf(c->broken_text, sizeof(c->broken_text), "%s", text ?: "");
        }
        calls_fail(c, error, text);
}

/* out_pop() - forget the first queued message (sent, or never to be): close its fd unless borrowed. */
static void out_pop(connection *c) {
        connection_out *o = c->out;

        c->out = o->next;
        if (!c->out)
                c->out_tail = NULL;
        c->n_out--;
        c->out_bytes -= o->len;
        if (!o->borrowed)
                safe_close(o->fd);
        free(o);
}

void connection_done(connection *c) {
        while (c->out)
                out_pop(c);
        c->stalled = false;
        c->corked = false;
        connection_break(c, -ECONNRESET, NULL);
        c->fd = safe_close(c->fd);
}

static int send_now(connection *c, const uint8_t *data, size_t len, int fd) {
        return transport_send(c->fd, data, len, fd >= 0 ? &fd : NULL, fd >= 0, c->nonblock);
}

/* out_append() - queue the message in c->buf (@len bytes) with @fd: consumed, or @borrowed. */
static int out_append(connection *c, size_t len, int fd, bool borrowed) {
        connection_out *o;

        o = malloc(sizeof(*o) + len);
        if (!o)
                return -ENOMEM;
        *o = (connection_out){ .fd = fd, .borrowed = borrowed, .len = len };
        memcpy(o->data, c->buf, len);
        if (c->out_tail)
                c->out_tail->next = o;
        else
                c->out = o;
        c->out_tail = o;
        c->n_out++;
        c->out_bytes += len;
        return 0;
}

/*
 * own_borrowed() - give every queued message that borrows its fd a copy of
 * its own: the queue now waits for the peer, longer than the fd's owner
 * promised to keep it open.
 */
static int own_borrowed(connection *c) {
        for (connection_out *o = c->out; o; o = o->next) {
                int copy;

                if (!o->borrowed)
                        continue;
                copy = fcntl(o->fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return negative_errno();
                o->fd = copy;
                o->borrowed = false;
        }
        return 0;
}

int connection_flush(connection *c) {
        transport_msg msgs[TRANSPORT_BATCH_MAX];
        int r = 0;

        while (c->out) {
                size_t n = 0;

                for (connection_out *o = c->out; o && n < ELEMENTSOF(msgs); o = o->next)
                        msgs[n++] = (transport_msg){ .data = o->data, .len = o->len, .fd = o->fd };
                r = transport_send_many(c->fd, msgs, n, c->nonblock);
                if (r < 0)
                        break;
                for (int i = 0; i < r; i++)
                        out_pop(c);
        }
        if (!c->out) {
                c->stalled = false;
                return 0;
        }
        if (r == -EAGAIN) {
                int k;

                c->stalled = true;
                k = own_borrowed(c);
                if (k < 0)
                        return k;
        }
        return r;
}

/* send_or_queue() - the one way a message goes out: @fd is borrowed if @borrowed, else consumed. */
static int send_or_queue(connection *c, const wire_msg *m, int fd, bool borrowed) {
        _cleanup_close_ int owned = borrowed ? -EBADF : fd;
        size_t len;
        int r;

        if (fd < 0)
                borrowed = false;
        r = wire_encode(m, c->buf, WIRE_MESSAGE_MAX, &len);
        if (r < 0)
                return r;
        c->cork_bytes += len;
        c->cork_count++;
        if (!c->out && !c->corked) {
                r = send_now(c, c->buf, len, fd);
                if (r != -EAGAIN)
                        return r;
                c->stalled = true;
        }
        /* Queued: by the cork, until it is pulled; or because the peer is not
         * reading, for as long as it takes, and then a borrowed fd is copied. */
        if (borrowed && c->stalled) {
                owned = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (owned < 0)
                        return negative_errno();
                borrowed = false;
        }
        r = out_append(c, len, borrowed ? fd : owned, borrowed);
        if (r < 0)
                return r;
        TAKE_FD(owned);
        if (c->corked && !c->stalled &&
            (c->n_out >= CONNECTION_CORK_MAX || c->out_bytes >= CONNECTION_CORK_BYTES)) {
                r = connection_flush(c);
                return r == -EAGAIN ? 0 : r;
        }
        return 0;
}

int connection_send(connection *c, const wire_msg *m, int fd) {
        return send_or_queue(c, m, fd, false);
}

int connection_send_borrowed(connection *c, const wire_msg *m, int fd) {
        return send_or_queue(c, m, fd, true);
}

void connection_cork(connection *c) {
        c->corked = true;
        c->cork_bytes = 0;
        c->cork_count = 0;
}

int connection_uncork(connection *c) {
        c->corked = false;
        return c->out ? connection_flush(c) : 0;
}

ssize_t connection_recv(connection *c, int *ret_fds, size_t max_fds, size_t *ret_n_fds) {
        return transport_recv_dispose(c->fd, c->buf, WIRE_MESSAGE_MAX, ret_fds, max_fds, ret_n_fds,
                                      true, c->dispose, c->dispose_userdata);
}

/*
 * farewell() - after the manager closed on us: the error it left behind, if
 * any (a refused peer is told why, with serial 0, before it is closed), else
 * -ECONNRESET. Every call in flight fails with it.
 */
static int farewell(connection *c) {
        int fds[WIRE_FDS_MAX], error = -ECONNRESET;
        size_t n_fds = 0;
        wire_msg m;
        ssize_t n;

        n = connection_recv(c, fds, ELEMENTSOF(fds), &n_fds);
        if (n > 0) {
                dispose_many(c, fds, n_fds);
                if (wire_decode(c->buf, (size_t) n, &m) == 0) {
                        if (m.type == WIRE_ERROR && m.serial == 0) {
                                connection_break(c, -m.error, m.text);
                                return -m.error;
                        }
                        wire_msg_done(&m);
                }
        }
        connection_break(c, error, NULL);
        return error;
}

int connection_call_start(connection *c, connection_call *call, wire_msg *q, int fd,
                          void (*complete)(connection_call *call)) {
        int dup = -EBADF, r;

        *call = (connection_call){ .type = q->type, .reply_fd = -EBADF, .complete = complete };
        if (c->broken) { /* as below: the return value says it, complete() is not called */
                call->done = true;
                call->result = c->broken_error;
                return call->result;
        }
        if (fd >= 0) {
                dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (dup < 0) {
                        call->done = true;
                        call->result = negative_errno();
                        return call->result;
                }
        }
        /* Serial 0 is what the manager's unasked refusals carry: never ours. */
        if (++c->serial == 0)
                c->serial = 1;
        q->serial = c->serial;
        call->serial = q->serial;
        /* Calls in flight: this one waits for the next flush, and goes out
         * with every call started meanwhile, in one sendmmsg(). Their replies
         * wake the caller anyway, and the queue makes POLLOUT wanted
         * (lmm_client_get_events()), so it waits one turn of the caller's
         * loop at most. */
        if (c->calls)
                connection_cork(c);
        r = connection_send(c, q, dup);
        if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) {
                /* The manager has closed on us: its last words, if it left
                 * any, for this call and every call in flight. */
                call->result = farewell(c);
                call->done = true;
                snprintf(call->error_text, sizeof(call->error_text), "%s", c->broken_text);
                return call->result;
        }
        if (r < 0) {
                /* Nothing went out: the connection is as it was. The caller
                 * learns it from the return value; complete() is not called. */
                call->done = true;
                call->result = r;
                return r;
        }
        if (c->calls_tail)
                c->calls_tail->next = call;
        else
                c->calls = call;
        c->calls_tail = call;
        c->n_calls++;
        return 0;
}

/*
 * handle() - the message read into @data (@n bytes, or what the read gave:
 * 0 at end of stream, < 0 an error) with @fds (consumed): complete the call
 * it answers. Return: 1, or < 0 when the connection broke.
 */
static int handle(connection *c, const uint8_t *data, ssize_t n, int *fds, size_t n_fds) {
        connection_call *call = c->calls;
        wire_msg reply;
        int r;

        if (n <= 0) {
                /* A manager that closes on unread requests makes the kernel
                 * report ECONNRESET once, ahead of what it sent last: look
                 * for that (a refusal says why) before giving up. */
                if (n == 0 || n == -ECONNRESET)
                        return farewell(c);
                connection_break(c, (int) n, NULL);
                return (int) n;
        }

        r = wire_decode(data, (size_t) n, &reply);
        if (r == 0 && reply.type == WIRE_ERROR && reply.serial == 0 && n_fds == 0) {
                /* Unasked: the manager refuses this connection. */
                connection_break(c, -reply.error, reply.text);
                return -reply.error;
        }
        if (r < 0 || !call || reply.serial != call->serial ||
            n_fds != wire_fds_expected(reply.type) ||
            (reply.type != WIRE_ERROR && reply.type != (WIRE_REPLY | call->type))) {
                dispose_many(c, fds, n_fds);
                if (r == 0)
                        wire_msg_done(&reply);
                connection_break(c, -EBADMSG, NULL);
                return -EBADMSG;
        }
        if (reply.type == WIRE_ERROR) {
                strcpy(call->error_text, reply.text);
                call_complete(c, call, -reply.error);
                return 1;
        }
        call->reply = reply;
        call->reply_fd = n_fds == 1 ? fds[0] : -EBADF;
        call_complete(c, call, 0);
        return 1;
}

/* small_replies_ahead() - how many of the calls in flight, from the oldest,
 * have replies that fit a slot: all but LIST's; at most a slot each. */
static size_t small_replies_ahead(const connection *c) {
        size_t n = 0;

        for (const connection_call *call = c->calls; call && n < c->n_slots; call = call->next) {
                if (call->type == WIRE_LIST)
                        break;
                n++;
        }
        return n;
}

int connection_process(connection *c) {
        int fds[WIRE_FDS_MAX];
        transport_slot *slot;
        size_t n_fds = 0, k;
        ssize_t n;

        if (c->broken)
                return c->broken_error;
        if (!connection_has_pending(c)) {
                k = small_replies_ahead(c);
                if (k < 2) {
                        /* One at a time: into c->buf, which has room for a LIST reply. */
                        n = connection_recv(c, fds, ELEMENTSOF(fds), &n_fds);
                        if (n == -EAGAIN)
                                return 0;
                        return handle(c, c->buf, n, fds, n_fds);
                }
                n = transport_recv_many(c->fd, c->slots, k, c->dispose, c->dispose_userdata);
                if (n == -EAGAIN)
                        return 0;
                if (n < 0)
                        return handle(c, NULL, n, NULL, 0);
                c->rx_next = 0;
                c->rx_count = (size_t) n;
        }
        /* Taken before it is handled: a handler that waits for a call of
         * its own handles the next ones, in order. */
        slot = &c->slots[c->rx_next++];
        return handle(c, slot->data, slot->len, slot->fds, slot->n_fds);
}

int connection_flush_calls(connection *c) {
        int r;

        if (c->broken)
                return c->broken_error;
        r = connection_uncork(c);
        if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
                return farewell(c);
        if (r < 0 && r != -EAGAIN)
                connection_break(c, r, NULL);
        return r;
}

int connection_wait(connection *c, connection_call *call, uint64_t timeout_usec) {
        uint64_t now = now_usec();
        uint64_t deadline =
                timeout_usec == 0 || timeout_usec > UINT64_MAX - now ? 0 : now + timeout_usec;

        while (!call->done) {
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                int timeout = -1, r;

                /* Replies read ahead are not on the socket any more. */
                if (connection_has_pending(c)) {
                        (void) connection_process(c);
                        continue;
                }

                r = connection_flush_calls(c);
                if (r < 0 && r != -EAGAIN)
                        break;
                if (connection_has_output(c))
                        p.events |= POLLOUT;

                if (deadline) {
                        now = now_usec();
                        if (now >= deadline) {
                                connection_break(c, -ETIMEDOUT, NULL);
                                break;
                        }
                        timeout = (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT32_MAX);
                }
                r = poll(&p, 1, timeout);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        connection_break(c, negative_errno(), NULL);
                        break;
                }
                if (r > 0)
                        (void) connection_process(c);
        }
        return call->result;
}
