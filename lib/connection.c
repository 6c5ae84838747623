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
        if (!c->broken) {
                c->broken = true;
                c->broken_error = -ECONNRESET;
                snprintf(c->broken_text, sizeof(c->broken_text), "%s", text ?: "");
        }
        calls_fail(c, error, text);
}

void connection_done(connection *c) {
        while (c->out) {
                connection_out *o = c->out;

                c->out = o->next;
                safe_close(o->fd);
                free(o);
        }
        c->out_tail = NULL;
        c->n_out = 0;
        connection_break(c, -ECONNRESET, NULL);
        c->fd = safe_close(c->fd);
}

static int send_now(connection *c, const uint8_t *data, size_t len, int fd) {
        return transport_send(c->fd, data, len, fd >= 0 ? &fd : NULL, fd >= 0, c->nonblock);
}

int connection_send(connection *c, const wire_msg *m, int fd) {
        _cleanup_close_ int owned = fd;
        connection_out *o;
        size_t len;
        int r;

        r = wire_encode(m, c->buf, WIRE_MESSAGE_MAX, &len);
        if (r < 0)
                return r;
        if (!c->out) {
                r = send_now(c, c->buf, len, fd);
                if (r != -EAGAIN)
                        return r;
        }
        /* The peer is not reading: keep the message, with its fd, for later. */
        o = malloc(sizeof(*o) + len);
        if (!o)
                return -ENOMEM;
        o->next = NULL;
        o->fd = TAKE_FD(owned);
        o->len = len;
        memcpy(o->data, c->buf, len);
        if (c->out_tail)
                c->out_tail->next = o;
        else
                c->out = o;
        c->out_tail = o;
        c->n_out++;
        return 0;
}

int connection_flush(connection *c) {
        while (c->out) {
                connection_out *o = c->out;
                int r;

                r = send_now(c, o->data, o->len, o->fd);
                if (r < 0)
                        return r;
                c->out = o->next;
                if (!c->out)
                        c->out_tail = NULL;
                c->n_out--;
                safe_close(o->fd);
                free(o);
        }
        return 0;
}

ssize_t connection_recv(connection *c, int *ret_fds, size_t max_fds, size_t *ret_n_fds) {
        return transport_recv_dispose(c->fd, c->buf, WIRE_MESSAGE_MAX, ret_fds, max_fds, ret_n_fds,
                                      true, c->dispose, c->dispose_userdata);
}

static void dispose_many(connection *c, const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                c->dispose(fds[i], c->dispose_userdata);
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

int connection_process(connection *c) {
        int fds[WIRE_FDS_MAX];
        connection_call *call = c->calls;
        size_t n_fds = 0;
        wire_msg reply;
        ssize_t n;
        int r;

        if (c->broken)
                return c->broken_error;
        n = connection_recv(c, fds, ELEMENTSOF(fds), &n_fds);
        if (n == -EAGAIN)
                return 0;
        if (n <= 0) {
                /* A manager that closes on unread requests makes the kernel
                 * report ECONNRESET once, ahead of what it sent last: look
                 * for that (a refusal says why) before giving up. */
                if (n == 0 || n == -ECONNRESET)
                        return farewell(c);
                connection_break(c, (int) n, NULL);
                return (int) n;
        }

        r = wire_decode(c->buf, (size_t) n, &reply);
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

int connection_flush_calls(connection *c) {
        int r;

        if (c->broken)
                return c->broken_error;
        r = connection_flush(c);
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
