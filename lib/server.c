/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server — lmm_server_start(): a manager process forked from the calling
 * program, Python's SharedMemoryManager().start().
 *
 * Guarantees: the manager process holds none of its parent's fds but stdio;
 * it serves only while the owner connection (a socketpair with the parent) is
 * open, so the parent's exit or death ends it with the documented shutdown;
 * lmm_server_start() returns only once the manager accepts connections, or
 * with the reason it could not start.
 */

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "client.h"
#include "lmm.h"
#include "util.h"

struct lmm_server {
        pid_t pid;
        lmm_client *client;
        char *address;
        char *dir; /* private directory we made, removed after shutdown */
        bool shut_down;
        int exit_status;
};

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
        if (asprintf(&path, "%s/lmmd.sock", dir) < 0) {
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

/* The forked manager process. Never returns. */
_Noreturn static void server_main(const lmm_server_opts *o, const char *path, int owner_fd,
                                  int ready_fd) {
        lmm_manager *m = NULL;
        int keep[] = { owner_fd, ready_fd };
        int r;

        /* ^C in a terminal reaches the whole foreground group; the owner's
         * exit is what ends this process, after a clean shutdown. */
        signal(SIGINT, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);

        r = close_all_fds_except(keep, ELEMENTSOF(keep));
        if (r >= 0 && o->initializer)
                r = o->initializer(o->initargs);
        if (r >= 0)
                r = lmm_manager_new(o->manager, &m);
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
        if (r < 0) {
                lmm_manager_free(m);
                _exit(1);
        }
        r = lmm_manager_run(m);
        lmm_manager_free(m);
        _exit(r < 0 ? 1 : 0);
}

_public_ int lmm_server_start(const lmm_server_opts *o, lmm_server **ret) {
        static const lmm_server_opts defaults = {};
        _cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF;
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int pair[2], ready[2], status = 0, r;
        lmm_server *s;
        ssize_t n;
        pid_t pid;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &defaults;

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
                server_main(o, path, pair[1], ready_w);
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
        r = client_new_from_fd(pair[0], &s->client);
        if (r < 0) {
                kill(pid, SIGTERM);
                (void) waitpid(pid, &status, 0);
                free(s);
                goto fail_dir;
        }
        s->address = TAKE_PTR(path);
        s->dir = TAKE_PTR(dir);
        *ret = s;
        return 0;

fail_dir:
        if (dir)
                (void) rmdir(dir);
        return r;
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

_public_ int lmm_server_shutdown(lmm_server *s) {
        int status, r;

        if (!s)
                return -EINVAL;
        if (s->shut_down)
                return s->exit_status == 0 ? 0 : -EIO;

        r = lmm_client_shutdown_manager(s->client);
        /* Closing the owner connection ends the manager too, should the
         * request have failed. */
        s->client = lmm_client_unref(s->client);
        while (waitpid(s->pid, &status, 0) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno != ECHILD) /* ECHILD: reaped elsewhere (SIGCHLD ignored) */
                        return negative_errno();
                status = 0;
                break;
        }
        s->shut_down = true;
        s->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (s->dir)
                (void) rmdir(s->dir);
        if (r < 0 && r != -ECONNRESET)
                return r;
        return s->exit_status == 0 ? 0 : -EIO;
}

_public_ lmm_server *lmm_server_unref(lmm_server *s) {
        if (!s)
                return NULL;
        (void) lmm_server_shutdown(s);
        lmm_client_unref(s->client);
        free(s->address);
        free(s->dir);
        free(s);
        return NULL;
}
