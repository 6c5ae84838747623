/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client — the public client API: blocking calls on one connection to a
 * manager (connection.c), each a request sent and a wait for its reply.
 *
 * Guarantees: a call never hangs past the client's timeout and never raises
 * SIGPIPE; when the manager has gone every call fails with -ECONNRESET, and
 * once one listens at the path again (a restart) the next call reaches it,
 * on a new connection; a call is sent twice only when twice is once (see
 * may_send_again()); an fd
 * in a reply that the call does not return is closed; a reply that does not
 * match its request ends the connection (-EBADMSG); a client is used only by
 * the process that made it (sd-bus's rule): in a forked child every call
 * fails with -ECHILD before it touches the shared socket.
 */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "connection.h"
#include "lmm.h"
#include "segment.h"
#include "util.h"
#include "wire.h"

#define DEFAULT_TIMEOUT_USEC (25 * UINT64_C(1000000))

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
        /* Never wait to send: a request that does not fit waits in the
         * queue, so that asynchronous callers are never blocked. */
        connection_init(&c->conn, fd, c->buf, true, NULL, NULL);
        connection_set_slots(&c->conn, c->slots, ELEMENTSOF(c->slots));
        c->n_ref = 1;
        c->pid = getpid_cached();
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
        if (c->pid != getpid_cached())
                return -ECHILD;
        if (c->conn.fd < 0)
                return -ESHUTDOWN;
        return 0;
}

void client_disconnect(lmm_client *c) {
        /* Calls in flight complete, with -ECONNRESET. */
        client_ref(c);
        connection_done(&c->conn);
        lmm_client_unref(c);
}

uint64_t client_get_timeout(const lmm_client *c) {
        return c->timeout_usec;
}

/* connect_path() - a SOCK_SEQPACKET socket connected to @path, and the uid
 * of the process listening there. */
static int connect_path(const char *path, int *ret_fd, uid_t *ret_uid) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct ucred cred = {};
        socklen_t len = sizeof(cred);

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        *ret_uid = cred.uid;
        return 0;
}

_public_ int lmm_client_connect(const char *path, lmm_client **ret) {
        struct sockaddr_un sa;
        char def[sizeof(sa.sun_path)], *copy;
        lmm_client *c;
        uid_t uid;
        int fd, r;

        if (!ret)
                return -EINVAL;
        if (!path) {
                r = lmm_default_socket_path(def, sizeof(def));
                if (r < 0)
                        return r;
                path = def;
        }
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        r = connect_path(path, &fd, &uid);
        if (r >= 0)
                r = client_new_from_fd(fd, &c);
        if (r < 0) {
                free(copy);
                return r;
        }
        c->path = copy;
        c->manager_uid = uid;
        *ret = c;
        return 0;
}

int client_reconnect(lmm_client *c) {
        int fd, keep, r;
        uid_t uid;

        if (!c->conn.broken || !c->path)
                return 0;
        r = connect_path(c->path, &fd, &uid);
        if (r == -ECONNREFUSED || r == -ENOENT)
                return -ECONNRESET; /* what a manager that has gone always gave */
        if (r < 0)
                return r;
        /* A manager restarts as the uid it ran as. Whoever else listens
         * there now took the path once ours had gone (a /tmp directory
         * removed at shutdown and made again by another user): to it go
         * neither names nor data. */
        if (uid != c->manager_uid) {
                safe_close(fd);
                snprintf(c->last_error, sizeof(c->last_error),
                         "%s is served by uid %u now, not by the manager's uid %u: not "
                         "connecting to it again",
                         c->path, (unsigned) uid, (unsigned) c->manager_uid);
                return -ECONNRESET;
        }
        /* The same number, so that a caller's poll() set stays right. */
        if (dup3(fd, c->conn.fd, O_CLOEXEC) < 0) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        safe_close(fd);
        keep = TAKE_FD(c->conn.fd);
        connection_done(&c->conn); /* what was queued on the old one: nothing is in flight */
        connection_init(&c->conn, keep, c->buf, true, NULL, NULL);
        return 0;
}

lmm_client *client_ref(lmm_client *c) {
        c->n_ref++;
        return c;
}

_public_ lmm_client *lmm_client_unref(lmm_client *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        client_async_free_all(c);
        connection_done(&c->conn);
        free(c->path);
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

/*
 * may_send_again() - whether a call that failed with @r may go out again on
 * a new connection: its connection ended (a refusal or a timeout has an
 * errno of its own), and either its request never left (@sent false) or
 * doing it twice is doing it once. CREATE, ADOPT, RELEASE, SHUTDOWN and
 * REEXEC are not: the manager may have done them before it went.
 */
static bool may_send_again(const lmm_client *c, int r, uint16_t type, bool sent) {
        if (r != -ECONNRESET || !c->path)
                return false;
        return !sent || type == WIRE_STAT || type == WIRE_OPEN || type == WIRE_LIST ||
               type == WIRE_FREEZE;
}

/*
 * call() - send @q with @send_fd (borrowed, -1 for none) and wait for its
 * reply; on a connection that ended, connect again first, and send again
 * once when may_send_again() says so.
 * @ret_fd: receives the fd the reply carries, if the caller wants it.
 * Return: 0 and *ret (release with wire_msg_done()); -errno from the manager.
 */
static int call(lmm_client *c, wire_msg *q, int send_fd, wire_msg *ret, int *ret_fd) {
        connection_call call = { .error_text = "" };
        int r;

        c->last_error[0] = 0;
        /* Waiting runs the handlers of asynchronous calls made before this
         * one, and one of them may drop the caller's reference. */
        client_ref(c);
        for (unsigned attempt = 0;; attempt++) {
                bool sent;

                r = client_reconnect(c);
                if (r < 0) {
                        snprintf(call.error_text, sizeof(call.error_text), "%s", c->last_error);
                        break;
                }
                r = connection_call_start(&c->conn, &call, q, send_fd, NULL);
                sent = r >= 0;
                if (sent)
                        r = connection_wait(&c->conn, &call, c->timeout_usec);
                if (r >= 0 || attempt > 0 || !may_send_again(c, r, q->type, sent))
                        break;
        }
        if (r < 0)
                strcpy(c->last_error, call.error_text);
        lmm_client_unref(c);
        if (r < 0)
                return r;
        if (ret_fd)
                *ret_fd = call.reply_fd;
        else
                safe_close(call.reply_fd);
        *ret = call.reply;
        return 0;
}

int client_name_arg(const char *name, char out[static LMM_NAME_MAX + 1], bool may_be_null) {
        uint32_t uid;
        size_t n, offset;

        if (!name) {
                out[0] = 0;
                return may_be_null ? 0 : -EINVAL;
        }
        n = strnlen(name, LMM_NAME_MAX + 1);
        if (may_be_null ? !name_is_valid(name, n) : name_split(name, n, &uid, &offset) < 0)
                return -EINVAL;
        memcpy(out, name, n + 1);
        return 0;
}

/* segment_from_reply() - the block a reply to @q brought, with its fd (consumed). */
static int segment_from_reply(const wire_msg *q, const wire_msg *reply, int fd, lmm_segment **ret) {
        return segment_new(fd, reply->block.size, reply->block.name, client_reply_writable(q), ret);
}

int client_reply_writable(const wire_msg *q) {
        return q->type != WIRE_OPEN || !(q->flags & LMM_OPEN_RDONLY);
}

int client_create_request(lmm_client *c, const lmm_segment_opts *o, wire_msg *ret) {
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        if (!o || o->size == 0 || o->size > INT64_MAX || !OPTS_RESERVED_IS_ZERO(o))
                return -EINVAL;
        r = client_reconnect(c);
        if (r < 0)
                return r;
        *ret = (wire_msg){ .type = WIRE_CREATE, .size = o->size, .flags = o->flags };
        return client_name_arg(o->name, ret->name, true);
}

_public_ int lmm_segment_create(lmm_client *c, const lmm_segment_opts *o, lmm_segment **ret) {
        wire_msg q, reply;
        int fd = -EBADF, r;

        r = client_create_request(c, o, &q);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        r = call(c, &q, -EBADF, &reply, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(&q, &reply, fd, ret);
}

_public_ int lmm_segment_open(lmm_client *c, const char *name, uint32_t flags, lmm_segment **ret) {
        wire_msg q, reply;
        int fd = -EBADF, r;

        r = client_named_request(c, WIRE_OPEN, name, &q);
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        q.flags = flags;
        r = call(c, &q, -EBADF, &reply, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(&q, &reply, fd, ret);
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
        r = client_name_arg(name, q.name, true);
        if (r < 0)
                return r;
        r = call(c, &q, fd, &reply, &rfd);
        if (r < 0)
                return r;
        return segment_from_reply(&q, &reply, rfd, ret);
}

int client_named_request(lmm_client *c, uint16_t type, const char *name, wire_msg *ret) {
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        r = client_reconnect(c);
        if (r < 0)
                return r;
        *ret = (wire_msg){ .type = type };
        return client_name_arg(name, ret->name, false);
}

static int call_named(lmm_client *c, uint16_t type, const char *name, wire_msg *reply) {
        wire_msg q;
        int r;

        r = client_named_request(c, type, name, &q);
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

void client_info_from_wire(const wire_block *b, lmm_block_info *ret) {
        *ret = (lmm_block_info){
                .id = b->id,
                .size = b->size,
                .seals = b->seals,
                .flags = b->flags,
                .owner_uid = b->uid,
                .owner_pid = b->pid,
                .device = b->dev,
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
        client_info_from_wire(&reply.block, ret);
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
                        client_info_from_wire(&reply.blocks[i], &all[n++]);
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

_public_ int lmm_client_reexec_manager(lmm_client *c) {
        wire_msg q = { .type = WIRE_REEXEC }, reply;
        int r;

        r = client_enter(c);
        if (r < 0)
                return r;
        return call(c, &q, -EBADF, &reply, NULL);
}
