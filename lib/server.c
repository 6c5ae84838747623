/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server — lmm_server_start(): a manager process forked from the calling
 * program, Python's SharedMemoryManager().start().
 *
 * Guarantees: the manager process holds none of its parent's fds but stdio;
 * it serves only while the owner connection (a socketpair with the parent) is
 * open, so the parent's exit or death ends it with the documented shutdown,
 * after which it removes its socket and the private directory it lives in
 * (lmm_server_shutdown() removes the directory itself, in parallel);
 * lmm_server_start() returns only once the manager accepts connections, or
 * with the reason it could not start; lmm_server_shutdown() returns within
 * about three times the owner client's timeout, with the manager reaped,
 * however stopped or hung it was; the owner client stays valid until
 * lmm_server_unref(); and a forked child's copy of an lmm_server can neither
 * shut down nor signal the parent's manager.
 */

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "client.h"
#include "lmm.h"
#include "manager-internal.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct lmm_server {
        pid_t pid;
        int pidfd;        /* -EBADF on kernels without pidfd_open() (< 5.3) */
        pid_t origin_pid; /* the process that started it; in any other, a copy */
        lmm_client *client;
        char *address;
        char *dir;  /* private directory we made, removed after shutdown */
        int dir_fd; /* it, O_PATH: the socket file is unlinked through it */
        bool shut_down;
        int exit_status;
        int shutdown_result;
};

#define SOCKET_NAME "lmmd.sock"

static int private_socket_path(char **ret_dir, char **ret_path) {
        const char *base = secure_getenv("XDG_RUNTIME_DIR");
        char dir[PATH_MAX];
        char *path;

        if (!base || base[0] != '/' || access(base, W_OK) < 0)
                base = "/tmp";
        if (snprintf(dir, sizeof(dir), "%s/lmm-XXXXXX", base) >= (int) sizeof(dir))
                return -ENAMETOOLONG;
        if (!mkdtemp(dir)) /* 0700 */
                return negative_errno();
        if (asprintf(&path, "%s/" SOCKET_NAME, dir) < 0) {
                (void) rmdir(dir);
                return -ENOMEM;
        }
        if (strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
                free(path);
                (void) rmdir(dir);
                return -ENAMETOOLONG;
        }
        *ret_dir = strdup(dir);
        if (!*ret_dir) {
                free(path);
                (void) rmdir(dir);
                return -ENOMEM;
        }
        *ret_path = path;
        return 0;
}

/*
 * server_main() - the forked manager process. Never returns.
 * @dir: the private directory the socket is in, removed at the end; or NULL.
 */
_Noreturn static void server_main(const lmm_server_opts *o, const char *path, const char *dir,
                                  int owner_fd, int ready_fd) {
        lmm_manager *m = NULL;
        int keep[] = { owner_fd, ready_fd };
        int r;

        /* ^C in a terminal reaches the whole foreground group; the owner's
         * exit is what ends this process, after a clean shutdown. Set
         * before lmm_manager_handle_signals(), which leaves an ignored
         * SIGINT out of its signalfd. */
        signal(SIGINT, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);

        r = close_all_fds_except(keep, ELEMENTSOF(keep));
        if (r >= 0 && o->initializer)
                r = o->initializer(o->initargs);
        if (r >= 0)
                r = lmm_manager_new(o->manager, &m);
        if (r >= 0)
                manager_exit_after_shutdown(m);
        if (r >= 0)
                r = lmm_manager_handle_signals(m);
        if (r >= 0)
                r = lmm_manager_listen(m, path);
        if (r >= 0)
                r = lmm_manager_add_connection(m, owner_fd, true);
        else
                safe_close(owner_fd);

        (void) !write(ready_fd, &r, sizeof(r));
        safe_close(ready_fd);
        if (r >= 0)
                r = lmm_manager_run(m);
        /* Shut down, the manager has let go of its socket and its blocks, and
         * what it still has, memory and fds, the exit takes back at once:
         * freeing them first only adds to what the owner waits for (an
         * munmap() of the manager's buffers, the closer's farewells). On any
         * other way out it is freed, which removes the socket. */
        if (!lmm_manager_is_shut_down(m))
                lmm_manager_free(m);
        /* And so must be its directory: when the owner was killed, nobody
         * else is left to remove it. */
        if (dir)
                (void) rmdir(dir);
        _exit(r < 0 ? 1 : 0);
}

_public_ int lmm_server_start(const lmm_server_opts *o, lmm_server **ret) {
        static const lmm_server_opts defaults = {};
        _cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF, dir_fd = -EBADF;
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int pair[2], ready[2], status = 0, r;
        lmm_server *s;
        ssize_t n;
        pid_t pid;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &defaults;
        /* Checked here, not only by lmm_manager_new() in the child: a bad
         * argument must fail before anything runs, the initializer included. */
        if (!OPTS_RESERVED_IS_ZERO(o) || (o->manager && !OPTS_RESERVED_IS_ZERO(o->manager)))
                return -EINVAL;

        if (o->socket_path) {
                if (o->socket_path[0] != '/')
                        return -EINVAL;
                path = strdup(o->socket_path);
                if (!path)
                        return -ENOMEM;
        } else {
                r = private_socket_path(&dir, &path);
                if (r < 0)
                        return r;
                /* Ours, 0700, in a place where no other user can rename it. */
                dir_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dir_fd < 0) {
                        r = negative_errno();
                        goto fail_dir;
                }
                /* The users the manager lets in must reach the socket (0666
                 * then: the manager checks SO_PEERCRED), as in a directory
                 * lmm_manager_listen() makes for them. */
                if (o->manager && (o->manager->n_allow_uids > 0 || o->manager->n_allow_gids > 0) &&
                    chmod(dir, 0755) < 0) {
                        r = negative_errno();
                        goto fail_dir;
                }
        }

        if (pipe2(ready, O_CLOEXEC) < 0) {
                r = negative_errno();
                goto fail_dir;
        }
        ready_r = ready[0];
        ready_w = ready[1];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = negative_errno();
                goto fail_dir;
        }

        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close_many(pair, 2);
                goto fail_dir;
        }
        if (pid == 0) {
                safe_close(pair[0]);
                safe_close(ready_r);
                server_main(o, path, dir, pair[1], ready_w);
        }
        safe_close(pair[1]);
        ready_w = safe_close(ready_w);

        do
                n = read(ready_r, &r, sizeof(r));
        while (n < 0 && errno == EINTR);
        if (n != sizeof(r) || r < 0) {
                if (n != sizeof(r))
                        r = -ECHILD; /* died before it could tell */
                safe_close(pair[0]);
                (void) waitpid(pid, &status, 0);
                goto fail_dir;
        }

        s = calloc(1, sizeof(*s));
        if (!s) {
                safe_close(pair[0]);
                kill(pid, SIGTERM);
                (void) waitpid(pid, &status, 0);
                r = -ENOMEM;
                goto fail_dir;
        }
        s->pid = pid;
        s->origin_pid = getpid();
        /* Our unreaped child: its pid cannot be reused yet. Without a pidfd
         * (Linux < 5.3) shutdown signals and polls through the pid instead. */
        s->pidfd = pidfd_new(pid);
        r = client_new_from_fd(pair[0], &s->client);
        if (r < 0) {
                safe_close(s->pidfd);
                kill(pid, SIGTERM);
                (void) waitpid(pid, &status, 0);
                free(s);
                goto fail_dir;
        }
        s->address = TAKE_PTR(path);
        s->dir = TAKE_PTR(dir);
        s->dir_fd = TAKE_FD(dir_fd);
        *ret = s;
        return 0;

fail_dir:
        if (dir)
                (void) rmdir(dir);
        return r;
}

/*
 * server_remove_dir() - remove the socket file and the private directory
 * lmm_server_start() made, the file through the directory's fd: should the
 * path lead elsewhere by now (the manager removed the directory and another
 * user put a link in its place), nothing there is touched. An rmdir() by
 * path removes only an empty directory (not a link): at worst, as root, an
 * empty one another user made there since. Return: whether the directory
 * is gone.
 */
static bool server_remove_dir(lmm_server *s) {
        if (!s->dir)
                return true;
        (void) unlinkat(s->dir_fd, SOCKET_NAME, 0);
        if (rmdir(s->dir) < 0 && errno != ENOENT)
                return false;
        free(s->dir);
        s->dir = NULL;
        s->dir_fd = safe_close(s->dir_fd);
        return true;
}

_public_ const char *lmm_server_get_address(const lmm_server *s) {
        return s ? s->address : NULL;
}

_public_ lmm_client *lmm_server_get_client(const lmm_server *s) {
        return s ? s->client : NULL;
}

_public_ pid_t lmm_server_get_pid(const lmm_server *s) {
        return s ? s->pid : -1;
}

/*
 * server_reap() - wait at most @usec (UINT64_MAX: for ever) for the manager
 * to exit, and reap it, through its pidfd where there is one.
 * Return: 1 reaped (s->exit_status set), 0 still running, or -errno.
 */
static int server_reap(lmm_server *s, uint64_t usec) {
        uint64_t start = now_usec();

        for (;;) {
                siginfo_t si = {};
                uint64_t waited;
                int r;

                if (s->pidfd >= 0)
                        r = waitid(P_PIDFD, (id_t) s->pidfd, &si, WEXITED | WNOHANG);
                else
                        r = waitid(P_PID, (id_t) s->pid, &si, WEXITED | WNOHANG);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && errno == ECHILD) { /* reaped elsewhere (SIGCHLD ignored) */
                        s->exit_status = 0;
                        return 1;
                }
                if (r < 0)
                        return negative_errno();
                if (si.si_pid != 0) {
                        s->exit_status =
                                si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
                        return 1;
                }

                waited = now_usec() - start;
                if (waited >= usec)
                        return 0;
                if (s->pidfd >= 0) /* readable once the process has exited */
                        (void) poll(&(struct pollfd){ .fd = s->pidfd, .events = POLLIN }, 1,
                                    usec == UINT64_MAX ? -1
                                                       : (int) MIN((usec - waited + 999) / 1000,
                                                                   (uint64_t) INT32_MAX));
                else
                        (void) nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
}

static void server_signal(lmm_server *s, int sig) {
        if (s->pidfd >= 0)
                (void) pidfd_signal(s->pidfd, sig);
        else
                (void) kill(s->pid, sig); /* not reaped yet, so still our child's pid */
}

_public_ int lmm_server_shutdown(lmm_server *s) {
        bool escalated = false;
        uint64_t timeout;
        int r, k;

        if (!s)
                return -EINVAL;
        /* A forked child's copy: the manager is the parent's to end. */
        if (s->origin_pid != getpid())
                return -ECHILD;
        if (s->shut_down)
                return s->shutdown_result;

        /* Every wait is bounded by the owner client's call timeout (0: none,
         * as for its calls). */
        timeout = client_get_timeout(s->client) ?: UINT64_MAX;
        r = lmm_client_shutdown_manager(s->client);
        /* Closing the owner connection ends the manager too, should the
         * request have failed. The client stays valid for the caller, and
         * fails every call with -ESHUTDOWN from now on. */
        client_disconnect(s->client);
        /* A manager that answered has stopped listening: remove its socket
         * file and directory here, while it seals, so that on a second CPU
         * the file system's part of a shutdown is off the caller's path.
         * The manager still tries both at its end (should this process die
         * now, nobody else would): whichever of the two comes second finds
         * nothing left, at worst after waiting on the directory's lock.
         * Should this fail, it is tried again once the manager is reaped. */
        if (r >= 0)
                (void) server_remove_dir(s);
        /* A manager that did not answer in time gets no more time to exit. */
        k = server_reap(s, r == -ETIMEDOUT ? 0 : timeout);
        if (k == 0) {
                /* Stopped or hung. SIGCONT with the SIGTERM, as systemd
                 * sends, lets a stopped manager still seal its blocks; what
                 * cannot go on even so (a tracer holds it) gets SIGKILL. */
                escalated = true;
                server_signal(s, SIGTERM);
                server_signal(s, SIGCONT);
                k = server_reap(s, timeout);
                if (k == 0) {
                        server_signal(s, SIGKILL);
                        k = server_reap(s, UINT64_MAX);
                }
        }
        if (k < 0)
                return k;

        s->shut_down = true;
        s->pidfd = safe_close(s->pidfd);
        /* The manager removes both itself, unless it was killed. */
        (void) server_remove_dir(s);
        if (escalated)
                s->shutdown_result = -ETIMEDOUT;
        else if (r < 0 && r != -ECONNRESET)
                s->shutdown_result = r;
        else
                s->shutdown_result = s->exit_status == 0 ? 0 : -EIO;
        return s->shutdown_result;
}

_public_ lmm_server *lmm_server_unref(lmm_server *s) {
        if (!s)
                return NULL;
        /* In a forked child (a scope cleanup that runs there too) free the
         * copy only: no shutdown, no signal, no rmdir. */
        if (s->origin_pid == getpid())
                (void) lmm_server_shutdown(s);
        lmm_client_unref(s->client);
        safe_close(s->pidfd);
        safe_close(s->dir_fd);
        free(s->address);
        free(s->dir);
        free(s);
        return NULL;
}
