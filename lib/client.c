/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client — the public client API: one blocking SOCK_SEQPACKET connection to a
 * manager, one request in flight at a time, each matched to its reply by
 * serial.
 *
 * Guarantees: a call never hangs past the client's timeout and never raises
 * SIGPIPE; when the manager has gone every call fails with -ECONNRESET; an fd
 * in a reply that the call does not return is closed; a reply that does not
 * match its request ends the connection (-EBADMSG); a client is used only by
 * the process that made it (sd-bus's rule): in a forked child every call
 * fails with -ECHILD before it touches the shared socket.
 */

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "lmm.h"
#include "segment.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define DEFAULT_TIMEOUT_USEC (25 * UINT64_C(1000000))

struct lmm_client {
        int fd;    /* -EBADF once client_disconnect() ran */
        pid_t pid; /* the process that made it */
        uint32_t serial;
        uint64_t timeout_usec;
        bool broken;
        char last_error[WIRE_ERROR_TEXT_MAX + 1];
        uint8_t buf[WIRE_MESSAGE_MAX];
};

_public_ int lmm_default_socket_path(char *buf, size_t size) {
        const char *e;
        int n;

        if (!buf)
                return -EINVAL;
        e = secure_getenv("LMM_SOCKET");
        if (e && *e)
                n = snprintf(buf, size, "%s", e);
        else if ((e = secure_getenv("XDG_RUNTIME_DIR")) && *e == '/')
                n = snprintf(buf, size, "%s/lmm/lmmd.sock", e);
        else if (geteuid() == 0)
                n = snprintf(buf, size, "/run/lmm/lmmd.sock");
        else
                return -ENXIO;
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

int client_new_from_fd(int fd, lmm_client **ret) {
        lmm_client *c;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;
        c->pid = getpid();
        c->timeout_usec = DEFAULT_TIMEOUT_USEC;
        *ret = c;
        return 0;
}

int client_enter(lmm_client *c) {
        if (!c)
                return -EINVAL;
        /* A failure the library finds itself has no message from the manager. */
        c->last_error[0] = 0;
        /* A forked child shares the socket: its requests would interleave
         * with the parent's and take the parent's replies. */
        if (c->pid != getpid())
                return -ECHILD;
        if (c->fd < 0)
                return -ESHUTDOWN;
        return 0;
}

void client_disconnect(lmm_client *c) {
        c->fd = safe_close(c->fd);
}

uint64_t client_get_timeout(const lmm_client *c) {
        return c->timeout_usec;
}

_public_ int lmm_client_connect(const char *path, lmm_client **ret) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char def[sizeof(sa.sun_path)];
        int r;

        if (!ret)
                return -EINVAL;
        if (!path) {
                r = lmm_default_socket_path(def, sizeof(def));
                if (r < 0)
                        return r;
                path = def;
        }
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();

        return client_new_from_fd(TAKE_FD(fd), ret);
}

_public_ lmm_client *lmm_client_unref(lmm_client *c) {
        if (!c)
                return NULL;
        safe_close(c->fd);
        free(c);
        return NULL;
}

_public_ const char *lmm_client_last_error(const lmm_client *c) {
        return c && c->last_error[0] ? c->last_error : NULL;
}

_public_ int lmm_client_set_timeout(lmm_client *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        c->timeout_usec = usec;
        return 0;
}

static int wait_readable(lmm_client *c) {
        uint64_t now = now_usec();
        uint64_t deadline = c->timeout_usec == 0 || c->timeout_usec > UINT64_MAX - now
                                    ? 0
                                    : now + c->timeout_usec;

        for (;;) {
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                int timeout = -1, r;

                if (deadline) {
                        now = now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        timeout = (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT32_MAX);
                }
                r = poll(&p, 1, timeout);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return negative_errno();
                if (r > 0)
                        return 0;
        }
}

/*
 * farewell() - after the manager closed on us: the error it left behind, if
 * any (a refused peer is told why before it is closed), else -ECONNRESET.
 */
static int farewell(lmm_client *c) {
        int fds[WIRE_FDS_MAX];
        size_t n_fds = 0;
        wire_msg m;
        ssize_t n;

        n = transport_recv(c->fd, c->buf, sizeof(c->buf), fds, ELEMENTSOF(fds), &n_fds, true);
        if (n <= 0)
                return -ECONNRESET;
        close_many(fds, n_fds);
        if (wire_decode(c->buf, (size_t) n, &m) < 0)
                return -ECONNRESET;
        if (m.type != WIRE_ERROR || m.serial != 0) {
                wire_msg_done(&m);
                return -ECONNRESET;
        }
        strcpy(c->last_error, m.text);
        return -m.error;
}

/*
 * call() - send @q with @send_fd (borrowed, -1 for none) and wait for its reply.
 * @ret_fd: receives the fd the reply carries, if the caller wants it.
 * Return: 0 and *ret (release with wire_msg_done()); -errno from the manager.
 */
static int call(lmm_client *c, wire_msg *q, int send_fd, wire_msg *ret, int *ret_fd) {
        int fds[WIRE_FDS_MAX];
        size_t len, n_fds = 0;
        wire_msg reply;
        ssize_t n;
        int r;

        c->last_error[0] = 0;
        if (c->broken)
                return -ECONNRESET;

        q->serial = ++c->serial;
        r = wire_encode(q, c->buf, sizeof(c->buf), &len);
        if (r < 0)
                return r;
        r = transport_send(c->fd, c->buf, len, send_fd >= 0 ? &send_fd : NULL, send_fd >= 0, false);
        if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) {
                c->broken = true;
                return farewell(c);
        }
        if (r < 0)
                return r;

        r = wait_readable(c);
        if (r < 0) {
                /* A late reply would be taken for the next call's: give up on the connection. */
                c->broken = true;
                return r;
        }
        n = transport_recv(c->fd, c->buf, sizeof(c->buf), fds, ELEMENTSOF(fds), &n_fds, false);
        if (n <= 0) {
                c->broken = true;
                /* A manager that closes on unread requests makes the kernel
                 * report ECONNRESET once, ahead of what it sent last: look
                 * for that (a refusal says why) before giving up. */
                return n == 0 || n == -ECONNRESET ? farewell(c) : (int) n;
        }

        r = wire_decode(c->buf, (size_t) n, &reply);
        if (r == 0 && reply.type == WIRE_ERROR &&
            (reply.serial == q->serial || reply.serial == 0) && n_fds == 0) {
                if (reply.serial == 0)
                        c->broken = true; /* unasked: the manager refuses this connection */
                strcpy(c->last_error, reply.text);
                return -reply.error;
        }
        if (r < 0 || reply.serial != q->serial || n_fds != wire_fds_expected(reply.type) ||
            (reply.type != WIRE_ERROR && reply.type != (WIRE_REPLY | q->type))) {
                close_many(fds, n_fds);
                if (r == 0)
                        wire_msg_done(&reply);
                c->broken = true;
                return -EBADMSG;
        }
        if (ret_fd && n_fds == 1)
                *ret_fd = fds[0];
        else
                close_many(fds, n_fds);
        *ret = reply;
        return 0;
}

static int name_arg(const char *name, char out[static LMM_NAME_MAX + 1], bool may_be_null) {
        size_t n;

        if (!name) {
                out[0] = 0;
                return may_be_null ? 0 : -EINVAL;
        }
        n = strnlen(name, LMM_NAME_MAX + 1);
        if (!name_is_valid(name, n))
                return -EINVAL;
        memcpy(out, name, n + 1);
        return 0;
}

static int segment_from_reply(const wire_msg *reply, int fd, lmm_segment **ret) {
        return segment_new(fd, reply->block.size, reply->block.name, ret);
}

_public_ int lmm_segment_create(lmm_client *c, const lmm_segment_opts *o, lmm_segment **ret) {
        wire_msg q = { .type = WIRE_CREATE }, reply;
        int fd = -EBADF, r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!o || !ret)
                return -EINVAL;
        if (o->size == 0 || o->size > INT64_MAX)
                return -EINVAL;
        r = name_arg(o->name, q.name, true);
        if (r < 0)
                return r;
        q.size = o->size;
        q.flags = o->flags;
        r = call(c, &q, -EBADF, &reply, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(&reply, fd, ret);
}

_public_ int lmm_segment_open(lmm_client *c, const char *name, uint32_t flags, lmm_segment **ret) {
        wire_msg q = { .type = WIRE_OPEN, .flags = flags }, reply;
        int fd = -EBADF, r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        r = name_arg(name, q.name, false);
        if (r < 0)
                return r;
        r = call(c, &q, -EBADF, &reply, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(&reply, fd, ret);
}

_public_ int lmm_segment_adopt(lmm_client *c, int fd, const char *name, uint32_t flags,
                               lmm_segment **ret) {
        wire_msg q = { .type = WIRE_ADOPT, .flags = flags }, reply;
        int rfd = -EBADF, r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        if (fd < 0 || fcntl(fd, F_GETFD) < 0)
                return -EBADF;
        r = name_arg(name, q.name, true);
        if (r < 0)
                return r;
        r = call(c, &q, fd, &reply, &rfd);
        if (r < 0)
                return r;
        return segment_from_reply(&reply, rfd, ret);
}

static int call_named(lmm_client *c, uint16_t type, const char *name, wire_msg *reply) {
        wire_msg q = { .type = type };
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        r = name_arg(name, q.name, false);
        if (r < 0)
                return r;
        return call(c, &q, -EBADF, reply, NULL);
}

_public_ int lmm_block_release(lmm_client *c, const char *name) {
        wire_msg reply;
        return call_named(c, WIRE_RELEASE, name, &reply);
}

_public_ int lmm_block_freeze(lmm_client *c, const char *name) {
        wire_msg reply;
        return call_named(c, WIRE_FREEZE, name, &reply);
}

static void info_from_wire(const wire_block *b, lmm_block_info *ret) {
        *ret = (lmm_block_info){
                .id = b->id,
                .size = b->size,
                .seals = b->seals,
                .flags = b->flags,
                .owner_uid = b->uid,
                .owner_pid = b->pid,
                .inode = b->ino,
        };
        strcpy(ret->name, b->name);
}

_public_ int lmm_block_stat(lmm_client *c, const char *name, lmm_block_info *ret) {
        wire_msg reply;
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        r = call_named(c, WIRE_STAT, name, &reply);
        if (r < 0)
                return r;
        info_from_wire(&reply.block, ret);
        return 0;
}

_public_ int lmm_block_list(lmm_client *c, lmm_block_info **ret_blocks, size_t *ret_n) {
        _cleanup_free_ lmm_block_info *all = NULL;
        uint64_t cursor = 0;
        size_t n = 0;
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!ret_blocks || !ret_n)
                return -EINVAL;
        do {
                wire_msg q = { .type = WIRE_LIST, .cursor = cursor }, reply;
                lmm_block_info *p;

                r = call(c, &q, -EBADF, &reply, NULL);
                if (r < 0)
                        return r;
                p = reallocarray(all, n + reply.n_blocks + 1, sizeof(*all));
                if (!p) {
                        wire_msg_done(&reply);
                        return -ENOMEM;
                }
                all = p;
                for (size_t i = 0; i < reply.n_blocks; i++)
                        info_from_wire(&reply.blocks[i], &all[n++]);
                /* The cursor only moves forward, so a manager cannot keep us here. */
                if (reply.next_cursor && reply.next_cursor <= cursor) {
                        wire_msg_done(&reply);
                        return -EBADMSG;
                }
                cursor = reply.next_cursor;
                wire_msg_done(&reply);
        } while (cursor != 0);

        *ret_blocks = TAKE_PTR(all);
        *ret_n = n;
        return 0;
}

_public_ int lmm_client_shutdown_manager(lmm_client *c) {
        wire_msg q = { .type = WIRE_SHUTDOWN }, reply;
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        return call(c, &q, -EBADF, &reply, NULL);
}
