/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server — the manager core: listening sockets, connections, policy, and the
 * requests that act on the registry. Single-threaded, driven by one epoll fd
 * that a host (lmmd, an embedding service, lmm_manager_run()) waits on.
 *
 * Guarantees:
 *   - a peer is identified by SO_PEERCRED at accept time; a peer whose uid
 *     and gids are not allowed gets EACCES for every request and nothing else;
 *   - a peer that breaks the protocol (malformed message, unexpected fds,
 *     truncated control data) loses its connection and nothing else; every fd
 *     it sent is closed;
 *   - a peer that does not read its replies holds at most one reply in the
 *     manager: its requests are not read until that reply has gone out;
 *   - every handed-out fd is a fresh open file description of the block, so
 *     holders share neither file offsets nor access modes.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>

#include "lmm.h"
#include "registry.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define DEFAULT_MAX_BYTES (UINT64_C(8) << 30)
#define DEFAULT_MAX_BLOCKS 4096
#define DEFAULT_MAX_CONNS 256
/* Requests read from one connection per wake-up, so that a busy client
 * cannot starve the others. */
#define REQUESTS_PER_WAKEUP 16
/* Replies a peer may leave unread (in bytes of socket memory, a small reply
 * with an fd takes about 1 KiB) before its requests are no longer read. This
 * bounds the fds in flight that one connection can make the manager hold. */
#define BACKLOG_MAX (16 * 1024)

typedef enum source_type {
        SOURCE_LISTENER,
        SOURCE_CONNECTION,
        SOURCE_SIGNAL,
} source_type;

typedef struct listener {
        source_type type;
        int fd;
        char *path; /* unlinked at shutdown when we bound it */
        char *dir;  /* removed at shutdown when we created it */
        struct listener *next;
} listener;

typedef struct conn {
        source_type type;
        int fd;
        int pidfd;
        struct ucred cred;
        registry_user *user;
        bool owner;
        bool counted;
        bool draining; /* waiting for the peer to read its replies */
        /* a reply that could not be sent yet */
        uint8_t *out;
        size_t out_len;
        int out_fd;
        struct conn *prev, *next;
} conn;

struct lmm_manager {
        int epoll_fd;
        registry reg;
        uid_t uid;
        uid_t *allow_uids;
        size_t n_allow_uids;
        gid_t *allow_gids;
        size_t n_allow_gids;
        listener *listeners;
        source_type signal_source;
        int signal_fd;
        int reserve_fd; /* given up when accept() runs out of fds */
        int closer_fd;  /* write end of the pipe to the closer thread; -EBADF: close here */
        /* Caps over all users, from RLIMIT_NOFILE: every block is an fd, every
         * connection two (socket, pidfd), and replies in flight carry more. */
        uint64_t max_conns_total;
        uint64_t max_blocks_total;
        int shutdown_result;
        conn *conns;
        uint64_t n_conns;
        bool shut_down;
        bool shutdown_requested;
        lmm_log_func log;
        void *log_userdata;
        uint8_t in[WIRE_MESSAGE_MAX];  /* the request being handled */
        uint8_t buf[WIRE_MESSAGE_MAX]; /* the reply being sent */
        wire_block page[WIRE_LIST_MAX];
};

static void logf_(lmm_manager *m, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void logf_(lmm_manager *m, int level, const char *fmt, ...) {
        char line[512];
        va_list ap;

        if (!m->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        m->log(level, line, m->log_userdata);
}

/*
 * The closer: fds that peers send are closed on a thread of their own. A
 * close() of a file on FUSE waits for that file system's daemon to answer
 * FLUSH, and a peer that controls such a daemon could otherwise stall the
 * event loop, and every other client with it, for as long as it liked.
 */
static void *closer_main(void *arg) {
        int rfd = (int) (intptr_t) arg, fd;

        while (read(rfd, &fd, sizeof(fd)) == (ssize_t) sizeof(fd))
                safe_close(fd);
        safe_close(rfd);
        return NULL;
}

/* closer_start() - Return: the write end of the closer's pipe, or -EBADF (then fds close inline). */
static int closer_start(void) {
        sigset_t all, old;
        pthread_attr_t attr;
        pthread_t t;
        int p[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -EBADF;
        /* Non-blocking writes: with the closer stuck and its pipe full, the
         * loop closes inline rather than wait on the pipe. */
        if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0 || pthread_attr_init(&attr) != 0) {
                close_many(p, 2);
                return -EBADF;
        }
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* No signal for the closer: SIGTERM must reach the loop's signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&t, &attr, closer_main, (void *) (intptr_t) p[0]);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                close_many(p, 2);
                return -EBADF;
        }
        return p[1];
}

/* dispose_fd() - get rid of an fd a peer sent (consumed), without waiting on it. */
static void dispose_fd(int fd, void *userdata) {
        lmm_manager *m = userdata;

        if (fd < 0)
                return;
        if (m->closer_fd >= 0 && write(m->closer_fd, &fd, sizeof(fd)) == (ssize_t) sizeof(fd))
                return;
        safe_close(fd);
}

static void dispose_many(lmm_manager *m, const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                dispose_fd(fds[i], m);
}

_public_ void lmm_manager_set_log(lmm_manager *m, lmm_log_func f, void *userdata) {
        if (!m)
                return;
        m->log = f;
        m->log_userdata = userdata;
}

_public_ int lmm_manager_new(const lmm_manager_opts *o, lmm_manager **ret) {
        static const lmm_manager_opts defaults = {};
        lmm_manager *m;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &defaults;
        if ((o->n_allow_uids && !o->allow_uids) || (o->n_allow_gids && !o->allow_gids))
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->uid = geteuid();
        m->signal_source = SOURCE_SIGNAL;
        m->signal_fd = -EBADF;
        m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        m->closer_fd = closer_start();
        {
                struct rlimit rl = { .rlim_cur = 1024 };
                (void) getrlimit(RLIMIT_NOFILE, &rl);
                if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 30))
                        rl.rlim_cur = 1u << 30;
                /* Half the table for blocks; connections at ~32 fds each
                 * (two of their own plus a backlog of replies in flight). */
                m->max_blocks_total = MAX(rl.rlim_cur / 2, (rlim_t) 16);
                m->max_conns_total = MAX(rl.rlim_cur / 64, (rlim_t) 4);
        }
        registry_init(&m->reg, o->max_bytes_per_uid ?: DEFAULT_MAX_BYTES,
                      o->max_blocks_per_uid ?: DEFAULT_MAX_BLOCKS,
                      o->max_conns_per_uid ?: DEFAULT_MAX_CONNS);
        m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (m->epoll_fd < 0) {
                int r = negative_errno();
                lmm_manager_free(m);
                return r;
        }
        if (o->n_allow_uids) {
                m->allow_uids = calloc(o->n_allow_uids, sizeof(uid_t));
                if (!m->allow_uids)
                        goto oom;
                memcpy(m->allow_uids, o->allow_uids, o->n_allow_uids * sizeof(uid_t));
                m->n_allow_uids = o->n_allow_uids;
        }
        if (o->n_allow_gids) {
                m->allow_gids = calloc(o->n_allow_gids, sizeof(gid_t));
                if (!m->allow_gids)
                        goto oom;
                memcpy(m->allow_gids, o->allow_gids, o->n_allow_gids * sizeof(gid_t));
                m->n_allow_gids = o->n_allow_gids;
        }
        *ret = m;
        return 0;
oom:
        lmm_manager_free(m);
        return -ENOMEM;
}

_public_ int lmm_manager_get_fd(const lmm_manager *m) {
        if (!m)
                return -EINVAL;
        return m->epoll_fd;
}

_public_ bool lmm_manager_is_shut_down(const lmm_manager *m) {
        return m && m->shut_down;
}

_public_ void lmm_manager_get_stats(const lmm_manager *m, lmm_manager_stats *ret) {
        if (!m || !ret)
                return;
        *ret = (lmm_manager_stats){
                .n_blocks = m->reg.n_blocks,
                .n_bytes = m->reg.n_bytes,
                .n_connections = m->n_conns,
        };
}

/* ------------------------------------------------------------ listeners */

static int listener_add(lmm_manager *m, int fd, const char *path, const char *dir) {
        listener *l;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->type = SOURCE_LISTENER;
        l->fd = fd;
        if ((path && !(l->path = strdup(path))) || (dir && !(l->dir = strdup(dir)))) {
                free(l->path);
                free(l);
                return -ENOMEM;
        }
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = l }) < 0) {
                int r = negative_errno();
                free(l->path);
                free(l->dir);
                free(l);
                return r;
        }
        l->next = m->listeners;
        m->listeners = l;
        return 0;
}

_public_ int lmm_manager_add_listener(lmm_manager *m, int fd) {
        _cleanup_close_ int owned = fd;
        int type = 0, r;
        socklen_t len = sizeof(type);

        if (!m || fd < 0)
                return -EINVAL;
        if (m->shut_down)
                return -ESHUTDOWN;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return negative_errno();
        if (type != SOCK_SEQPACKET)
                return -ESOCKTNOSUPPORT;
        /* Socket activation hands the fd over without our flags. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                return negative_errno();
        r = listener_add(m, fd, NULL, NULL);
        if (r < 0)
                return r;
        TAKE_FD(owned);
        return 0;
}

static bool others_allowed(const lmm_manager *m) {
        return m->n_allow_uids > 0 || m->n_allow_gids > 0;
}

_public_ int lmm_manager_listen(lmm_manager *m, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        bool open_to_others;
        mode_t old_umask;
        char *slash;
        int r, created;

        if (!m || !path || path[0] != '/')
                return -EINVAL;
        if (m->shut_down)
                return -ESHUTDOWN;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        open_to_others = others_allowed(m);

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        created = mkdir_p_mode(dir, open_to_others ? 0755 : 0700);
        if (created < 0)
                return created;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();

        /* A socket file left by a manager that died is replaced; one that
         * still answers belongs to a live manager and is left alone. */
        struct stat st;
        if (lstat(path, &st) == 0) {
                _cleanup_close_ int probe = -EBADF;

                if (!S_ISSOCK(st.st_mode))
                        return -ENOTSOCK; /* never remove what is not a socket */
                probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (probe < 0)
                        return negative_errno();
                /* Non-blocking: a live manager with a full backlog answers EAGAIN. */
                if (connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0 || errno == EAGAIN)
                        return -EADDRINUSE;
                if (errno != ECONNREFUSED)
                        return negative_errno();
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
        }

        /* Bind under a umask, so that the socket is never, even briefly, more
         * open than it should be. */
        old_umask = umask(open_to_others ? 0111 : 0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old_umask);
        if (r < 0)
                return negative_errno();
        if (listen(fd, SOMAXCONN) < 0) {
                r = negative_errno();
                (void) unlink(path);
                return r;
        }
        r = listener_add(m, fd, path, created > 0 ? dir : NULL);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        TAKE_FD(fd);
        return 0;
}

/* ------------------------------------------------------------ connections */

static bool peer_allowed(const lmm_manager *m, int fd, const struct ucred *cred) {
        gid_t groups[256];
        socklen_t len = sizeof(groups);

        /* Root can read our memory anyway; refusing it would protect nothing. */
        if (cred->uid == m->uid || cred->uid == 0)
                return true;
        for (size_t i = 0; i < m->n_allow_uids; i++)
                if (m->allow_uids[i] == cred->uid)
                        return true;
        if (m->n_allow_gids == 0)
                return false;
        for (size_t i = 0; i < m->n_allow_gids; i++)
                if (m->allow_gids[i] == cred->gid)
                        return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false;
        for (size_t k = 0; k < len / sizeof(gid_t); k++)
                for (size_t i = 0; i < m->n_allow_gids; i++)
                        if (m->allow_gids[i] == groups[k])
                                return true;
        return false;
}

static void conn_free(lmm_manager *m, conn *c);

/*
 * error_text() - the text of an ERROR. Cut at WIRE_ERROR_TEXT_MAX bytes, and
 * back to a UTF-8 character boundary: block names are raw bytes, but mostly
 * UTF-8, and a client should not have to mend a character cut in two.
 */
static void error_text(char text[static WIRE_ERROR_TEXT_MAX + 1], const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void error_text(char text[static WIRE_ERROR_TEXT_MAX + 1], const char *fmt, va_list ap) {
        if (vsnprintf(text, WIRE_ERROR_TEXT_MAX + 1, fmt, ap) > WIRE_ERROR_TEXT_MAX)
                utf8_trim_cut(text);
}

/*
 * refuse_fd() - tell the peer on @fd (borrowed) why it is not served: @text
 * in an ERROR it did not ask for, with serial 0, sent without waiting.
 */
static void refuse_fd(lmm_manager *m, int fd, int error, const char *text) {
        wire_msg r = { .type = WIRE_ERROR, .serial = 0, .error = error };
        size_t len;

        snprintf(r.text, sizeof(r.text), "%s", text);
        if (wire_encode(&r, m->buf, sizeof(m->buf), &len) >= 0)
                (void) transport_send(fd, m->buf, len, NULL, 0, true);
}

/*
 * conn_refuse() - tell a peer why it is not served, and close at once.
 * The error goes out unasked, with serial 0, so that a refused peer holds
 * nothing in the manager, not even an fd, while it makes up its mind.
 */
static int conn_refuse(lmm_manager *m, conn *c, int error, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int conn_refuse(lmm_manager *m, conn *c, int error, const char *fmt, ...) {
        char text[WIRE_ERROR_TEXT_MAX + 1];
        va_list ap;

        va_start(ap, fmt);
        error_text(text, fmt, ap);
        va_end(ap);
        refuse_fd(m, c->fd, error, text);
        conn_free(m, c);
        return 0;
}

static int conn_new(lmm_manager *m, int fd, bool owner) {
        socklen_t len = sizeof(struct ucred);
        conn *c;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->type = SOURCE_CONNECTION;
        c->fd = fd;
        c->pidfd = -EBADF;
        c->out_fd = -EBADF;
        c->owner = owner;
        c->next = m->conns;
        if (m->conns)
                m->conns->prev = c;
        m->conns = c;
        m->n_conns++;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                int r = negative_errno();
                conn_free(m, c);
                return r;
        }
        /* The pidfd pins the peer's identity against pid reuse (kernel >= 6.5). */
        len = sizeof(c->pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0)
                c->pidfd = -EBADF; /* ENOPROTOOPT on older kernels, fine */

        if (!peer_allowed(m, fd, &c->cred)) {
                logf_(m, LOG_NOTICE, "refusing pid %d: uid %u is not allowed", (int) c->cred.pid,
                      (unsigned) c->cred.uid);
                return conn_refuse(m, c, EACCES,
                                   "uid %u is not allowed to use this manager (run by uid %u)",
                                   (unsigned) c->cred.uid, (unsigned) m->uid);
        }
        c->user = registry_user_get(&m->reg, c->cred.uid);
        if (!c->user) {
                conn_free(m, c);
                return -ENOMEM;
        }
        /* This connection is counted in n_conns already. The manager's own
         * uid and root are never locked out by other users. */
        if (m->n_conns > m->max_conns_total && c->cred.uid != m->uid && c->cred.uid != 0)
                return conn_refuse(m, c, EUSERS,
                                   "the manager serves %" PRIu64
                                   " connections, its limit (RLIMIT_NOFILE)",
                                   m->max_conns_total);
        if (c->user->n_conns >= m->reg.max_conns_per_uid)
                return conn_refuse(m, c, EUSERS,
                                   "uid %u already has %u connections, the per-user limit",
                                   (unsigned) c->cred.uid, (unsigned) m->reg.max_conns_per_uid);
        c->user->n_conns++;
        c->counted = true;

        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = c }) < 0) {
                int r = negative_errno();
                conn_free(m, c);
                return r;
        }
        return 0;
}

_public_ int lmm_manager_add_connection(lmm_manager *m, int fd, bool owner) {
        int type = 0;
        socklen_t len = sizeof(type);

        if (!m || fd < 0) {
                safe_close(fd);
                return -EINVAL;
        }
        if (m->shut_down) {
                safe_close(fd);
                return -ESHUTDOWN;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
                safe_close(fd);
                return -ESOCKTNOSUPPORT;
        }
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return conn_new(m, fd, owner);
}

static void conn_free(lmm_manager *m, conn *c) {
        bool owner = c->owner;

        /* Connection-scoped blocks die with their connection. */
        for (registry_block *b = m->reg.head, *next; b; b = next) {
                next = b->next;
                if (b->scope == c) {
                        logf_(m, LOG_DEBUG, "releasing block \"%s\": its connection closed",
                              b->name);
                        safe_close(registry_remove(&m->reg, b));
                }
        }

        if (c->fd >= 0) {
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
                safe_close(c->fd);
        }
        safe_close(c->pidfd);
        safe_close(c->out_fd);
        free(c->out);
        if (c->counted)
                c->user->n_conns--;
        if (c->prev)
                c->prev->next = c->next;
        else
                m->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->n_conns--;
        free(c);

        if (owner) {
                logf_(m, LOG_INFO, "the owner connection closed, shutting down");
                m->shutdown_requested = true;
        }
}

static void on_accept(lmm_manager *m, listener *l) {
        for (unsigned i = 0; i < 64; i++) {
                int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                int r;

                if (fd < 0 && (errno == EMFILE || errno == ENFILE) && m->reserve_fd >= 0) {
                        /* Out of fds: the pending peer would keep the listener
                         * readable forever. Free the reserve, take the peer,
                         * tell it why, as for the connection limits (EUSERS),
                         * and close it at once, so that it fails fast. */
                        m->reserve_fd = safe_close(m->reserve_fd);
                        fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (fd >= 0)
                                refuse_fd(m, fd, EUSERS,
                                          "the manager has run out of file descriptors "
                                          "(RLIMIT_NOFILE); try again later");
                        safe_close(fd);
                        m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        logf_(m, LOG_WARNING, "out of file descriptors: refused a connection");
                        continue;
                }
                if (fd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                logf_(m, LOG_WARNING, "cannot accept a connection: %m");
                        return;
                }
                r = conn_new(m, fd, false);
                if (r < 0)
                        logf_(m, LOG_WARNING, "cannot set up a connection: %s", strerror(-r));
        }
}

/* ------------------------------------------------------------ replies */

/*
 * conn_watch() - wait for requests (level-triggered), or for the peer to read
 * what we sent (@drain). An AF_UNIX sender is woken each time its peer takes a
 * message off the queue, so edge-triggered EPOLLOUT is exactly "the peer read
 * something": no busy loop while the queue stays long.
 */
static int conn_watch(lmm_manager *m, conn *c, bool drain) {
        if (c->draining == drain)
                return 0;
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, c->fd,
                      &(struct epoll_event){ .events = drain ? EPOLLOUT | EPOLLET : EPOLLIN,
                                             .data.ptr = c }) < 0)
                return negative_errno();
        c->draining = drain;
        return 0;
}

/* conn_backlog() - bytes of replies the peer has not read yet. */
static int conn_backlog(conn *c) {
        int n = 0;

        if (ioctl(c->fd, SIOCOUTQ, &n) < 0)
                return 0;
        return n;
}

/* Send @r to @c, with @fd (consumed) if >= 0. Return: 0, or < 0 when @c must go. */
static int conn_reply(lmm_manager *m, conn *c, const wire_msg *r, int fd) {
        _cleanup_close_ int owned = fd;
        size_t len;
        int ret;

        ret = wire_encode(r, m->buf, sizeof(m->buf), &len);
        if (ret < 0) {
                logf_(m, LOG_ERR, "cannot encode a %s reply: %s", wire_type_name(r->type),
                      strerror(-ret));
                return ret;
        }
        ret = transport_send(c->fd, m->buf, len, fd >= 0 ? &fd : NULL, fd >= 0, true);
        if (ret == -EAGAIN) {
                /* The peer is not reading: keep this one reply and stop
                 * reading its requests until it has gone. */
                c->out = malloc(len);
                if (!c->out)
                        return -ENOMEM;
                memcpy(c->out, m->buf, len);
                c->out_len = len;
                c->out_fd = TAKE_FD(owned);
                return conn_watch(m, c, true);
        }
        return ret;
}

static int conn_flush(lmm_manager *m, conn *c) {
        int r;

        r = transport_send(c->fd, c->out, c->out_len, c->out_fd >= 0 ? &c->out_fd : NULL,
                           c->out_fd >= 0, true);
        if (r == -EAGAIN)
                return 0;
        if (r < 0)
                return r;
        free(c->out);
        c->out = NULL;
        c->out_len = 0;
        c->out_fd = safe_close(c->out_fd);
        return 0;
}

static int reply_error(lmm_manager *m, conn *c, uint32_t serial, int error, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int reply_error(lmm_manager *m, conn *c, uint32_t serial, int error, const char *fmt, ...) {
        wire_msg r = { .type = WIRE_ERROR, .serial = serial, .error = error };
        va_list ap;

        va_start(ap, fmt);
        error_text(r.text, fmt, ap);
        va_end(ap);
        return conn_reply(m, c, &r, -EBADF);
}

static void block_to_wire(const registry_block *b, wire_block *w) {
        int seals = fd_get_seals(b->fd);
        struct stat st;

        *w = (wire_block){
                .id = b->id,
                .size = b->size,
                .seals = seals < 0 ? 0 : (uint32_t) seals,
                .flags = b->flags,
                .uid = b->uid,
                .pid = b->pid,
                .ino = fstat(b->fd, &st) == 0 ? (uint64_t) st.st_ino : 0,
        };
        strcpy(w->name, b->name);
}

/* ------------------------------------------------------------ requests */

static bool may_modify(const lmm_manager *m, const conn *c, const registry_block *b) {
        return c->cred.uid == b->uid || c->cred.uid == m->uid || c->cred.uid == 0;
}

static int block_insert(lmm_manager *m, conn *c, const wire_msg *q, const char *name, int fd,
                        uint64_t size, uint32_t block_flags, wire_msg *reply, int *ret_fd) {
        _cleanup_close_ int handout = -EBADF;
        registry_block *b;
        int r;

        r = fd_reopen(fd, O_RDWR, &handout);
        if (r < 0)
                return reply_error(m, c, q->serial, -r, "cannot open a new fd for block \"%s\": %s",
                                   name, strerror(-r));
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        *b = (registry_block){
                .size = size,
                .flags = block_flags,
                .uid = c->cred.uid,
                .pid = c->cred.pid,
                .fd = fd,
                .scope = (q->flags & LMM_CREATE_SCOPE_CONNECTION) ? c : NULL,
        };
        strcpy(b->name, name);
        r = registry_add(&m->reg, b);
        if (r < 0) {
                free(b);
                /* Checked before, but an adopted memfd may have grown until
                 * its size was sealed: answer, do not drop the connection. */
                if (r == -EDQUOT)
                        return reply_error(m, c, q->serial, EDQUOT,
                                           "cannot add block \"%s\": exceeds a per-user limit",
                                           name);
                if (r == -EEXIST)
                        return reply_error(m, c, q->serial, EEXIST,
                                           "cannot add block \"%s\": the name is in use", name);
                return r;
        }
        reply->type = WIRE_REPLY | q->type;
        block_to_wire(b, &reply->block);
        *ret_fd = TAKE_FD(handout);
        return 1;
}

/*
 * adopted_flags() - what an adopted memfd (borrowed) already is: made on huge
 * pages, or sealed against new writable mappings (F_SEAL_FUTURE_WRITE, what
 * FREEZE adds, or the stronger F_SEAL_WRITE).
 */
static uint32_t adopted_flags(int fd) {
        int seals = fd_get_seals(fd);

        return (fd_is_hugetlb(fd) > 0 ? LMM_BLOCK_HUGETLB : 0) |
               (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ? LMM_BLOCK_FROZEN
                                                                             : 0);
}

/* block_by_inode() - the block whose memfd is the inode behind @fd (borrowed), if any. */
static const registry_block *block_by_inode(const lmm_manager *m, int fd) {
        struct stat st, o;

        if (fstat(fd, &st) < 0)
                return NULL;
        for (const registry_block *b = m->reg.head; b; b = b->next)
                if (fstat(b->fd, &o) == 0 && o.st_ino == st.st_ino && o.st_dev == st.st_dev)
                        return b;
        return NULL;
}

static int limit_error(lmm_manager *m, conn *c, const wire_msg *q, const char *name, uint64_t size,
                       const char *which) {
        char a[32], b[32];

        if (strcmp(which, "blocks") == 0)
                return reply_error(m, c, q->serial, EDQUOT,
                                   "cannot create block \"%s\": uid %u already has %u blocks, the "
                                   "per-user limit",
                                   name, (unsigned) c->cred.uid,
                                   (unsigned) m->reg.max_blocks_per_uid);
        return reply_error(m, c, q->serial, EDQUOT,
                           "cannot create block \"%s\" (%s): exceeds per-user limit of %s", name,
                           format_bytes(size, a, sizeof(a)),
                           format_bytes(m->reg.max_bytes_per_uid, b, sizeof(b)));
}

static int handle_create(lmm_manager *m, conn *c, const wire_msg *q, wire_msg *reply, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        char name[LMM_NAME_MAX + 1], memfd_name[LMM_NAME_MAX + 8], sz[32];
        uint64_t size = q->size;
        const char *which;
        bool huge = q->flags & LMM_CREATE_HUGETLB;
        int r;

        if (q->flags & ~(uint32_t) (LMM_CREATE_HUGETLB | LMM_CREATE_SCOPE_CONNECTION))
                return reply_error(m, c, q->serial, EINVAL, "unknown create flags 0x%x", q->flags);
        if (q->name[0])
                strcpy(name, q->name);
        else
                registry_make_name(&m->reg, name);
        if (size == 0)
                return reply_error(m, c, q->serial, EINVAL,
                                   "cannot create block \"%s\": size must be at least 1 byte",
                                   name);
        if (size > INT64_MAX)
                return reply_error(m, c, q->serial, EFBIG,
                                   "cannot create block \"%s\": size %" PRIu64 " is too large",
                                   name, size);
        if (registry_find(&m->reg, name))
                return reply_error(m, c, q->serial, EEXIST,
                                   "cannot create block \"%s\": the name is in use", name);

        if (huge) {
                uint64_t hps = hugepage_size(), avail = 0;

                if (hps == 0)
                        return reply_error(
                                m, c, q->serial, EOPNOTSUPP,
                                "cannot create block \"%s\": this system has no huge pages", name);
                size = (size + hps - 1) / hps * hps;
                if (hugepages_free_bytes(&avail) < 0 || avail < size)
                        return reply_error(
                                m, c, q->serial, ENOMEM,
                                "cannot create block \"%s\" (%s) on huge pages: only %" PRIu64
                                " free huge pages of %s (see /proc/sys/vm/nr_hugepages)",
                                name, format_bytes(size, sz, sizeof(sz)), avail / hps,
                                format_bytes(hps, memfd_name, sizeof(memfd_name)));
        }

        r = registry_check(&m->reg, c->cred.uid, size, &which);
        if (r == -EDQUOT)
                return limit_error(m, c, q, name, size, which);
        if (r < 0)
                return r;
        if (m->reg.n_blocks >= m->max_blocks_total)
                return reply_error(m, c, q->serial, EMFILE,
                                   "cannot create block \"%s\": the manager holds %" PRIu64
                                   " blocks, its limit (RLIMIT_NOFILE)",
                                   name, m->reg.n_blocks);

        snprintf(memfd_name, sizeof(memfd_name), "lmm:%s", name);
        r = memfd_new_sealed(memfd_name, size, huge, &fd);
        if (r < 0)
                return reply_error(m, c, q->serial, -r, "cannot create block \"%s\" (%s): %s", name,
                                   format_bytes(size, sz, sizeof(sz)), strerror(-r));

        r = block_insert(
                m, c, q, name, fd, size,
                (huge ? LMM_BLOCK_HUGETLB : 0) |
                        ((q->flags & LMM_CREATE_SCOPE_CONNECTION) ? LMM_BLOCK_SCOPE_CONNECTION : 0),
                reply, ret_fd);
        if (r > 0) {
                TAKE_FD(fd);
                logf_(m, LOG_DEBUG, "pid %d created block \"%s\" (%s)", (int) c->cred.pid, name,
                      format_bytes(size, sz, sizeof(sz)));
        }
        return r;
}

static int handle_adopt(lmm_manager *m, conn *c, const wire_msg *q, int *fds, size_t n_fds,
                        wire_msg *reply, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        char name[LMM_NAME_MAX + 1], sz[32];
        const char *which;
        uint64_t size;
        int r, seals;

        if (n_fds != 1)
                return -EBADMSG;
        /* Only what the peer could write may be adopted: reopening through
         * /proc would otherwise turn a read-only fd into a writable one. */
        /* O_RDWR exactly: a write-only fd must not come back readable. */
        r = fcntl(fds[0], F_GETFL);
        if (r < 0 || (r & O_ACCMODE) != O_RDWR) {
                dispose_fd(TAKE_FD(fds[0]), m);
                return reply_error(m, c, q->serial, EPERM,
                                   "cannot adopt: the fd must be a read-write memfd (it is %s)",
                                   r < 0 ? "not valid" : "read-only or write-only");
        }
        /* Is it a memfd, asked of the fd itself, before anything opens it
         * again: a reopen of a peer's FUSE file could hang this loop, and of a
         * tty could give the manager a controlling terminal. F_GET_SEALS fails
         * for anything but shmem and hugetlbfs without calling into a
         * filesystem; readlink() of /proc/self/fd opens nothing. */
        r = fd_get_seals(fds[0]);
        if (r >= 0)
                r = fd_is_memfd(fds[0]);
        if (r <= 0) {
                dispose_fd(TAKE_FD(fds[0]), m);
                return reply_error(m, c, q->serial, EINVAL, "cannot adopt: the fd is not a memfd");
        }
        /* Keep an open file description of our own: the peer's shares its file offset. */
        r = fd_reopen(fds[0], O_RDWR | O_NONBLOCK, &fd);
        dispose_fd(TAKE_FD(fds[0]), m);
        if (r < 0)
                return reply_error(m, c, q->serial, r == -EACCES ? EPERM : -r,
                                   "cannot adopt: the fd must be a read-write memfd (%s)",
                                   strerror(-r));

        if (q->flags & ~(uint32_t) LMM_CREATE_SCOPE_CONNECTION)
                return reply_error(m, c, q->serial, EINVAL, "unknown adopt flags 0x%x", q->flags);
        if (q->name[0])
                strcpy(name, q->name);
        else
                registry_make_name(&m->reg, name);
        if (registry_find(&m->reg, name))
                return reply_error(m, c, q->serial, EEXIST,
                                   "cannot adopt block \"%s\": the name is in use", name);

        r = fd_is_memfd(fd);
        if (r <= 0)
                return reply_error(m, c, q->serial, EINVAL,
                                   "cannot adopt \"%s\": the fd is not a memfd", name);
        seals = fd_get_seals(fd);
        if (seals < 0)
                return reply_error(m, c, q->serial, EINVAL,
                                   "cannot adopt \"%s\": the memfd does not allow sealing", name);
        r = fd_get_size(fd, &size);
        if (r < 0)
                return r;
        if (size == 0)
                return reply_error(m, c, q->serial, EINVAL,
                                   "cannot adopt \"%s\": the memfd is empty", name);
        {
                /* One memory, one block: an alias would let its adopter freeze
                 * or release someone else's block under another name. */
                const registry_block *same = block_by_inode(m, fd);
                if (same)
                        return reply_error(m, c, q->serial, EEXIST,
                                           "cannot adopt \"%s\": it is block \"%s\" already", name,
                                           same->name);
        }
        r = registry_check(&m->reg, c->cred.uid, size, &which);
        if (r == -EDQUOT)
                return limit_error(m, c, q, name, size, which);
        if (r < 0)
                return r;
        if (m->reg.n_blocks >= m->max_blocks_total)
                return reply_error(m, c, q->serial, EMFILE,
                                   "cannot adopt \"%s\": the manager holds %" PRIu64
                                   " blocks, its limit (RLIMIT_NOFILE)",
                                   name, m->reg.n_blocks);
        if (seals & F_SEAL_SEAL)
                /* It could never be frozen nor sealed at shutdown. */
                return reply_error(
                        m, c, q->serial, EPERM,
                        "cannot adopt \"%s\": it is sealed against new seals (F_SEAL_SEAL)", name);
        if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
                r = fd_add_seals(fd, F_SEAL_SHRINK | F_SEAL_GROW);
                if (r < 0)
                        return reply_error(m, c, q->serial, EPERM,
                                           "cannot adopt \"%s\": cannot seal its size (%s)", name,
                                           r == -EPERM ? "it is sealed against new seals"
                                                       : strerror(-r));
        }
        /* Size sealed now: check again, the peer may have resized it meanwhile. */
        r = fd_get_size(fd, &size);
        if (r < 0)
                return r;

        r = block_insert(
                m, c, q, name, fd, size,
                LMM_BLOCK_ADOPTED | adopted_flags(fd) |
                        ((q->flags & LMM_CREATE_SCOPE_CONNECTION) ? LMM_BLOCK_SCOPE_CONNECTION : 0),
                reply, ret_fd);
        if (r > 0) {
                TAKE_FD(fd);
                logf_(m, LOG_DEBUG, "pid %d handed over block \"%s\" (%s)", (int) c->cred.pid, name,
                      format_bytes(size, sz, sizeof(sz)));
        }
        return r;
}

static int handle_open(lmm_manager *m, conn *c, const wire_msg *q, wire_msg *reply, int *ret_fd) {
        registry_block *b = registry_find(&m->reg, q->name);
        bool rdonly = q->flags & LMM_OPEN_RDONLY;
        int r;

        if (q->flags & ~(uint32_t) LMM_OPEN_RDONLY)
                return reply_error(m, c, q->serial, EINVAL, "unknown open flags 0x%x", q->flags);
        if (!b)
                return reply_error(m, c, q->serial, ENOENT, "no block named \"%s\"", q->name);
        r = fd_reopen(b->fd, rdonly ? O_RDONLY : O_RDWR, ret_fd);
        if (r < 0)
                return reply_error(m, c, q->serial, -r, "cannot open block \"%s\": %s", q->name,
                                   strerror(-r));
        reply->type = WIRE_REPLY | WIRE_OPEN;
        block_to_wire(b, &reply->block);
        return 1;
}

static int handle_named(lmm_manager *m, conn *c, const wire_msg *q, wire_msg *reply) {
        registry_block *b = registry_find(&m->reg, q->name);
        int r;

        if (!b)
                return reply_error(m, c, q->serial, ENOENT, "no block named \"%s\"", q->name);
        reply->type = WIRE_REPLY | q->type;

        switch (q->type) {
        case WIRE_STAT:
                block_to_wire(b, &reply->block);
                return 1;
        case WIRE_FREEZE:
                if (!may_modify(m, c, b))
                        return reply_error(m, c, q->serial, EPERM,
                                           "cannot freeze block \"%s\": it belongs to uid %u",
                                           q->name, (unsigned) b->uid);
                r = fd_add_seals(b->fd, F_SEAL_FUTURE_WRITE);
                if (r < 0)
                        return reply_error(m, c, q->serial, -r, "cannot freeze block \"%s\": %s",
                                           q->name, strerror(-r));
                b->flags |= LMM_BLOCK_FROZEN;
                return 1;
        case WIRE_RELEASE:
                if (!may_modify(m, c, b))
                        return reply_error(m, c, q->serial, EPERM,
                                           "cannot release block \"%s\": it belongs to uid %u",
                                           q->name, (unsigned) b->uid);
                logf_(m, LOG_DEBUG, "pid %d released block \"%s\"", (int) c->cred.pid, b->name);
                safe_close(registry_remove(&m->reg, b));
                return 1;
        default:
                return -EBADMSG;
        }
}

static int handle_list(lmm_manager *m, const wire_msg *q, wire_msg *reply) {
        wire_block *page = m->page;
        registry_block *b = registry_after(&m->reg, q->cursor);
        size_t n = 0;

        for (; b && n < WIRE_LIST_MAX; b = b->next)
                block_to_wire(b, &page[n++]);
        reply->type = WIRE_REPLY | WIRE_LIST;
        reply->blocks = page;
        reply->n_blocks = n;
        reply->next_cursor = b ? page[n - 1].id : 0;
        return 1;
}

/* Return: 0 handled; < 0 the connection must be closed. */
static int conn_handle(lmm_manager *m, conn *c, const uint8_t *buf, size_t len, int *fds,
                       size_t n_fds) {
        wire_msg q = {}, reply = {};
        int fd = -EBADF, r;

        r = wire_decode(buf, len, &q);
        if (r == -EPROTONOSUPPORT) {
                dispose_many(m, fds, n_fds);
                /* Answer in our version, so the peer learns which one we speak. */
                (void) reply_error(m, c, 0, EPROTONOSUPPORT,
                                   "this manager speaks protocol version %d", WIRE_VERSION);
                return r;
        }
        if (r < 0 || q.type & WIRE_REPLY || n_fds != wire_fds_expected(q.type)) {
                dispose_many(m, fds, n_fds);
                if (r == 0) /* wire_decode() writes q only on success */
                        wire_msg_done(&q);
                return r < 0 ? r : -EBADMSG;
        }

        switch (q.type) {
        case WIRE_CREATE:
                r = handle_create(m, c, &q, &reply, &fd);
                break;
        case WIRE_ADOPT:
                r = handle_adopt(m, c, &q, fds, n_fds, &reply, &fd);
                dispose_many(m, fds, n_fds); /* handle_adopt() took it, or we do */
                break;
        case WIRE_OPEN:
                r = handle_open(m, c, &q, &reply, &fd);
                break;
        case WIRE_STAT:
        case WIRE_FREEZE:
        case WIRE_RELEASE:
                r = handle_named(m, c, &q, &reply);
                break;
        case WIRE_LIST:
                r = handle_list(m, &q, &reply);
                break;
        case WIRE_SHUTDOWN:
                if (c->cred.uid != m->uid && c->cred.uid != 0) {
                        r = reply_error(m, c, q.serial, EPERM,
                                        "only uid %u may shut this manager down",
                                        (unsigned) m->uid);
                        break;
                }
                logf_(m, LOG_INFO, "pid %d asked for shutdown", (int) c->cred.pid);
                m->shutdown_requested = true;
                reply.type = WIRE_REPLY | WIRE_SHUTDOWN;
                r = 1;
                break;
        default:
                r = -EBADMSG;
        }

        if (r == -ENOMEM)
                r = reply_error(m, c, q.serial, ENOMEM, "the manager is out of memory");
        else if (r > 0) {
                reply.serial = q.serial;
                r = conn_reply(m, c, &reply, fd);
        } else
                safe_close(fd);
        return r;
}

static void on_conn(lmm_manager *m, conn *c, uint32_t events) {
        int r = 0;

        if (c->out) {
                if (events & (EPOLLERR | EPOLLHUP))
                        r = -ECONNRESET;
                else
                        r = conn_flush(m, c);
                if (r < 0 || c->out) {
                        if (r < 0)
                                conn_free(m, c);
                        return;
                }
        }

        for (unsigned i = 0; i < REQUESTS_PER_WAKEUP && !c->out && !m->shutdown_requested; i++) {
                int fds[WIRE_FDS_MAX];
                size_t n_fds = 0;
                ssize_t n;

                /* A peer that pipelines without reading waits until it reads. */
                r = conn_watch(m, c, conn_backlog(c) > BACKLOG_MAX);
                if (r < 0) {
                        conn_free(m, c);
                        return;
                }
                if (c->draining)
                        return;

                n = transport_recv_dispose(c->fd, m->in, sizeof(m->in), fds, ELEMENTSOF(fds),
                                           &n_fds, true, dispose_fd, m);
                if (n == -EAGAIN)
                        return;
                if (n <= 0) {
                        if (n < 0 && n != -ECONNRESET)
                                logf_(m, LOG_NOTICE, "closing connection of pid %d: %s",
                                      (int) c->cred.pid,
                                      n == -EBADMSG ? "bad control data or fds"
                                                    : strerror((int) -n));
                        conn_free(m, c);
                        return;
                }
                r = conn_handle(m, c, m->in, (size_t) n, fds, n_fds);
                if (r < 0) {
                        if (r == -EBADMSG || r == -EPROTONOSUPPORT)
                                logf_(m, LOG_NOTICE, "closing connection of pid %d: %s",
                                      (int) c->cred.pid,
                                      r == -EBADMSG ? "malformed message"
                                                    : "unsupported protocol version");
                        conn_free(m, c);
                        return;
                }
        }
}

/* ------------------------------------------------------------ loop */

_public_ int lmm_manager_handle_signals(lmm_manager *m) {
        struct sigaction sa = {};
        sigset_t mask;
        int fd;

        if (!m)
                return -EINVAL;
        if (m->signal_fd >= 0)
                return 0;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        /* A SIGINT the process ignores stays ignored: blocked, it would be
         * queued for the signalfd instead of dropped. lmm_server_start()'s
         * manager ignores it, so that a terminal's ^C to its process group
         * does not end it (bpo-36368); so does any program a shell starts in
         * the background without job control. */
        if (sigaction(SIGINT, NULL, &sa) < 0 || sa.sa_handler != SIG_IGN)
                sigaddset(&mask, SIGINT);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &m->signal_source }) <
            0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        /* Blocked only once the signalfd is there to take them. */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        m->signal_fd = fd;
        return 0;
}

static void on_signal(lmm_manager *m) {
        struct signalfd_siginfo si;

        if (read(m->signal_fd, &si, sizeof(si)) != sizeof(si))
                return;
        logf_(m, LOG_INFO, "%s received, shutting down",
              sigabbrev_np((int) si.ssi_signo) ?: "signal");
        m->shutdown_requested = true;
}

_public_ int lmm_manager_shutdown(lmm_manager *m) {
        unsigned failed = 0;

        if (!m)
                return -EINVAL;
        if (m->shut_down)
                return 0;
        m->shut_down = true;

        /* Stop accepting first, so that nobody gets a block that is about to be sealed. */
        while (m->listeners) {
                listener *l = m->listeners;

                m->listeners = l->next;
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, l->fd, NULL);
                safe_close(l->fd);
                if (l->path)
                        (void) unlink(l->path);
                if (l->dir)
                        (void) rmdir(l->dir);
                free(l->path);
                free(l->dir);
                free(l);
        }

        /* Seal every block for good: no new writable mapping, no size
         * change, no seal change; then drop our references. */
        while (m->reg.head) {
                registry_block *b = m->reg.head;
                int r = fd_add_seals(b->fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
                                                    F_SEAL_SEAL);

                if (r < 0) {
                        failed++;
                        logf_(m, LOG_WARNING, "cannot seal block \"%s\" at shutdown: %s", b->name,
                              strerror(-r));
                }
                safe_close(registry_remove(&m->reg, b));
        }

        while (m->conns) {
                m->conns->owner = false;
                conn_free(m, m->conns);
        }
        logf_(m, LOG_INFO, "shut down");
        return failed ? -EIO : 0;
}

_public_ int lmm_manager_dispatch(lmm_manager *m, uint64_t timeout_usec) {
        struct epoll_event ev[16];
        int n, timeout;

        if (!m)
                return -EINVAL;
        if (m->shut_down)
                return 1;

        if (timeout_usec == UINT64_MAX)
                timeout = -1;
        else
                timeout = (int) MIN(timeout_usec / 1000 + (timeout_usec % 1000 != 0),
                                    (uint64_t) INT32_MAX);
        n = epoll_wait(m->epoll_fd, ev, ELEMENTSOF(ev), timeout);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();

        for (int i = 0; i < n && !m->shutdown_requested; i++) {
                source_type *t = ev[i].data.ptr;

                /* Handling a connection frees at most that connection, and
                 * each fd appears once per batch: no pointer here is stale. */
                if (*t == SOURCE_CONNECTION)
                        on_conn(m, (conn *) t, ev[i].events);
                else if (*t == SOURCE_LISTENER)
                        on_accept(m, (listener *) t);
                else
                        on_signal(m);
        }

        if (m->shutdown_requested) {
                m->shutdown_result = lmm_manager_shutdown(m);
                return 1;
        }
        return 0;
}

_public_ int lmm_manager_run(lmm_manager *m) {
        int r;

        do
                r = lmm_manager_dispatch(m, UINT64_MAX);
        while (r == 0);
        /* A block that could not be sealed at shutdown is a failure to report. */
        return r < 0 ? r : m->shutdown_result;
}

_public_ lmm_manager *lmm_manager_free(lmm_manager *m) {
        if (!m)
                return NULL;
        while (m->conns) {
                m->conns->owner = false;
                conn_free(m, m->conns);
        }
        while (m->listeners) {
                listener *l = m->listeners;
                m->listeners = l->next;
                safe_close(l->fd);
                /* Freed without a shutdown (an error path): leave no socket file behind. */
                if (l->path)
                        (void) unlink(l->path);
                if (l->dir)
                        (void) rmdir(l->dir);
                free(l->path);
                free(l->dir);
                free(l);
        }
        while (m->reg.head)
                safe_close(registry_remove(&m->reg, m->reg.head));
        registry_done(&m->reg);
        if (m->signal_fd >= 0) {
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, m->signal_fd, NULL);
                safe_close(m->signal_fd);
        }
        safe_close(m->epoll_fd);
        safe_close(m->reserve_fd);
        safe_close(m->closer_fd); /* the closer drains what is queued, then ends */
        free(m->allow_uids);
        free(m->allow_gids);
        free(m);
        return NULL;
}
