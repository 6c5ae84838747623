/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager-listener — the sockets a manager accepts on: one it binds itself
 * (the directory made, a stale socket file probed and replaced, the bind
 * under a umask), or one handed over by socket activation; and accepting.
 *
 * Guarantees: the socket file is never, even briefly, more open than the
 * allowed users need; a socket file that still answers is never replaced,
 * and nothing that is not a socket is ever removed; no socket is bound
 * where a user other than root and the manager's could replace it or a
 * directory on the way (socket-path.c); at shutdown only the socket file
 * it bound is unlinked, through the directory it bound it in, never what
 * its path may lead to by then; a manager out of fds refuses new peers at
 * once instead of letting them wait.
 */

#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>

#include "manager-internal.h"
#include "socket-path.h"
#include "util.h"

static listener *listener_free(listener *l) {
        if (!l)
                return NULL;
        safe_close(l->dir_fd);
        free(l->name);
        free(l->dir);
        free(l);
        return NULL;
}

static void listener_freep(listener **l) {
        listener_free(*l);
}

/* No file to unlink: inode 0 is none. */
static const uint64_t NO_FILE[2] = { 0, 0 };

/*
 * listener_remember_file() - what listeners_close() will unlink: the socket
 * file at @path, through its directory's fd, while it is @file (st_dev,
 * st_ino; NO_FILE: never), or with @file NULL the one there now. A path
 * with no socket file there any more leaves nothing to unlink.
 */
static int listener_remember_file(listener *l, const char *path, const uint64_t *file) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        if (file && file[1] == 0)
                return 0;
        dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        l->name = strdup(slash + 1);
        if (!dir || !l->name)
                return -ENOMEM;
        l->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (l->dir_fd < 0)
                return negative_errno();
        if (file) {
                l->dev = file[0];
                l->ino = file[1];
        } else if (fstatat(l->dir_fd, l->name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                   S_ISSOCK(st.st_mode)) {
                l->dev = (uint64_t) st.st_dev;
                l->ino = (uint64_t) st.st_ino;
        } else
                l->dir_fd = safe_close(l->dir_fd);
        return 0;
}

/* listener_add() - serve @fd; @path: a socket file this manager bound, to
 * unlink at shutdown as listener_remember_file() says; @dir: a directory
 * it made, to remove then. */
static int listener_add(lmm_manager *m, int fd, const char *path, const uint64_t *file,
                        const char *dir) {
        _cleanup_(listener_freep) listener *l = NULL;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->type = SOURCE_LISTENER;
        l->fd = -EBADF; /* the caller's until the end */
        l->dir_fd = -EBADF;
        if (path) {
                l->bound = true;
                r = listener_remember_file(l, path, file);
                if (r < 0)
                        return r;
        }
        if (dir && !(l->dir = strdup(dir)))
                return -ENOMEM;
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = l }) < 0)
                return negative_errno();
        l->fd = fd;
        l->next = m->listeners;
        m->listeners = TAKE_PTR(l);
        return 0;
}

void listeners_close(lmm_manager *m) {
        while (m->listeners) {
                listener *l = m->listeners;

                m->listeners = l->next;
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, l->fd, NULL);
                safe_close(l->fd);
                if (l->dir_fd >= 0) {
                        struct stat st;

                        if (fstatat(l->dir_fd, l->name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                            (uint64_t) st.st_dev == l->dev && (uint64_t) st.st_ino == l->ino)
                                (void) unlinkat(l->dir_fd, l->name, 0);
                }
                /* By its path: only an empty directory goes (never what a
                 * link leads to); at worst, for a root manager, an empty
                 * one that another user put in its place. */
                if (l->dir)
                        (void) rmdir(l->dir);
                listener_free(l);
        }
}

/* listener_take() - serve @fd (consumed), a listening socket handed over; the rest as listener_add(). */
static int listener_take(lmm_manager *m, int fd, const char *path, const uint64_t *file,
                         const char *dir) {
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
        r = listener_add(m, fd, path, file, dir);
        if (r < 0)
                return r;
        TAKE_FD(owned);
        return 0;
}

bool listener_file_id(const listener *l, uint64_t ret[static 2]) {
        if (l->dir_fd < 0)
                return false;
        ret[0] = l->dev;
        ret[1] = l->ino;
        return true;
}

_public_ int lmm_manager_add_listener(lmm_manager *m, int fd) {
        return listener_take(m, fd, NULL, NULL, NULL);
}

int listener_adopt(lmm_manager *m, int fd, bool remove_dir, const uint64_t *file) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char dir[sizeof(sa.sun_path)], *slash;

        /* An unnamed or abstract socket has no file to remove. */
        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return listener_take(m, fd, NULL, NULL, NULL);
        sa.sun_path[MIN((size_t) len - offsetof(struct sockaddr_un, sun_path),
                        sizeof(sa.sun_path) - 1)] = 0;
        strcpy(dir, sa.sun_path);
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        /* The file at the path now need not be the one bound before the
         * re-execution (its directory removed and a link put in its place):
         * only the one bound, by its identity, is ever unlinked; with none
         * handed over, nothing is. */
        return listener_take(m, fd, sa.sun_path, file ?: NO_FILE, remove_dir ? dir : NULL);
}

/*
 * replace_stale() - make way at @sa for our socket: a socket file left by a
 * manager that died is removed; one that still answers belongs to a live
 * manager and is left alone (-EADDRINUSE). Only a file of root's or of
 * @manager_uid is probed or removed (-EPERM for any other): socket-path.c
 * checked the name before, but another user may have made the file since,
 * in a sticky directory, and switch it for a link between our looking and
 * our connecting. A file of ours or root's, nobody else can take away or
 * replace there.
 */
static int replace_stale(const struct sockaddr_un *sa, uid_t manager_uid) {
        _cleanup_close_ int probe = -EBADF;
        struct stat st;

        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK; /* never remove what is not a socket */
        if (st.st_uid != 0 && st.st_uid != manager_uid)
                return -EPERM;
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0)
                return negative_errno();
        /* Non-blocking: a live manager with a full backlog answers EAGAIN. */
        if (connect(probe, (const struct sockaddr *) sa, sizeof(*sa)) == 0 || errno == EAGAIN)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return negative_errno();
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

_public_ int lmm_manager_listen(lmm_manager *m, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        bool open_to_others, created = false;
        char why[PATH_MAX + 128];
        mode_t old_umask;
        char *slash;
        int r;

        if (!m || !path || path[0] != '/')
                return -EINVAL;
        if (m->shut_down)
                return -ESHUTDOWN;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        open_to_others = policy_others_allowed(&m->policy);

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        /* Every directory on the way, made or found, is one that only root
         * and we can change; lmmd calls this again to say why not. */
        r = socket_path_check(path, m->policy.manager_uid, true, open_to_others ? 0755 : 0700,
                              &created, why, sizeof(why));
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        r = replace_stale(&sa, m->policy.manager_uid);
        if (r < 0)
                return r;

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
        r = listener_add(m, fd, path, NULL, created ? dir : NULL);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        TAKE_FD(fd);
        return 0;
}

void listener_accept(lmm_manager *m, listener *l) {
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
                                peer_refuse_fd(m, fd, EUSERS,
                                               "the manager has run out of file descriptors "
                                               "(RLIMIT_NOFILE); try again later");
                        safe_close(fd);
                        m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        manager_log_limited(m, RATELIMIT_NO_UID, LOG_REASON_ACCEPT, LOG_WARNING,
                                            "out of file descriptors: refused a connection");
                        continue;
                }
                if (fd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                manager_log_limited(m, RATELIMIT_NO_UID, LOG_REASON_ACCEPT,
                                                    LOG_WARNING, "cannot accept a connection: %s",
                                                    strerror(errno));
                        return;
                }
                r = peer_add(m, fd, NULL, false);
                if (r < 0)
                        manager_log_limited(m, RATELIMIT_NO_UID, LOG_REASON_ACCEPT, LOG_WARNING,
                                            "cannot set up a connection: %s", strerror(-r));
        }
}
