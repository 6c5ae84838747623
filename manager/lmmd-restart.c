/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmmd-restart — the fd store, the fds handed over at start, re-execution.
 * See lmmd-restart.h; docs/lmmd.md says what survives and how.
 *
 * A re-execution passes fds as socket activation does (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES), but leaves them at the numbers they have:
 * the closer's threads (lib/closer.c) may be about to close() any other
 * number, so the old program must not dup2() onto one. The new program,
 * single-threaded at its start, puts them from fd 3 on (LMMD_REEXEC_FDS
 * lists where they are); from there on, a re-execution and a restart by
 * systemd look the same.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "activation.h"
#include "lmmd-restart.h"
#include "log.h"
#include "manager-state.h"
#include "util.h"

#define REEXEC_FDS_ENV "LMMD_REEXEC_FDS"

extern char **environ;

static char **saved_argv;
static char exe_path[PATH_MAX];

/* ---------------------------------------------------------------- the fd store */

/*
 * Every create and every release sends one notification before its reply,
 * so it is sent on one socket kept connected to $NOTIFY_SOCKET: 2 us a
 * message here, where sd_pid_notify_with_fds(), which makes a socket for
 * each, took 27 (median, this machine). The service manager learns who
 * sent it as from sd_notify(): the kernel adds the sender's credentials to
 * every datagram on a socket with SO_PASSCRED, as systemd's is.
 */
static int notify_fd = -EBADF;

static int notify_connect(void) {
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len;
        int fd;

        if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
                return -EAFNOSUPPORT;
        strcpy(sa.sun_path, path);
        if (path[0] == '@')
                sa.sun_path[0] = 0; /* the abstract namespace */
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) +
                           (path[0] == '/'));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, len) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        safe_close(notify_fd);
        notify_fd = fd;
        return 0;
}

/* notify() - send @msg with @fd (borrowed; < 0: none), connecting again once if the socket went. */
static int notify(const char *msg, int fd) {
        union {
                struct cmsghdr h;
                uint8_t b[CMSG_SPACE(sizeof(int))];
        } cm = {};
        struct iovec iov = { .iov_base = (void *) msg, .iov_len = strlen(msg) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int r;

        if (fd >= 0) {
                mh.msg_control = &cm;
                mh.msg_controllen = sizeof(cm);
                cm.h = (struct cmsghdr){ .cmsg_level = SOL_SOCKET,
                                         .cmsg_type = SCM_RIGHTS,
                                         .cmsg_len = CMSG_LEN(sizeof(int)) };
                memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
        }
        for (int attempt = 0; attempt < 2; attempt++) {
                if (notify_fd < 0 || attempt > 0) {
                        r = notify_connect();
                        if (r < 0)
                                return r;
                }
                if (sendmsg(notify_fd, &mh, MSG_NOSIGNAL) >= 0)
                        return 0;
                r = -errno;
                if (r != -ECONNREFUSED && r != -ENOTCONN && r != -EPIPE)
                        return r;
        }
        return r;
}

static int store_fd(int fd, const char *name, void *userdata) {
        char msg[300];

        /* FDPOLL=0: a memfd never hangs up; nothing to watch. */
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
        return notify(msg, fd);
}

static int remove_fd(const char *name, void *userdata) {
        char msg[300];

        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        return notify(msg, -EBADF);
}

static const manager_store_ops store_ops = { .store = store_fd, .remove = remove_fd };

/* ---------------------------------------------------------------- fds at start */

/*
 * place() - move the fd of @src[k] to its place, 3 + @k, and then, in turn,
 * the fd that waited for the number it left. @at maps a number below
 * @at_size to the index of the fd there, or -1.
 */
static int place(int *src, size_t n, int *at, size_t at_size, size_t k) {
        for (;;) {
                int to = (int) (3 + k), from = src[k];

                if (dup2(from, to) < 0)
                        return -errno;
                (void) close(from);
                if ((size_t) from < at_size)
                        at[from] = -1;
                at[to] = (int) k;
                src[k] = to;
                if (from < 3 || (size_t) (from - 3) >= n || src[from - 3] == from)
                        return 0;
                k = (size_t) (from - 3); /* it waited for this number */
        }
}

/* fixup_fds() - after a re-execution: the fds listed in $LMMD_REEXEC_FDS, from fd 3 on. */
static int fixup_fds(void) {
        _cleanup_free_ int *src = NULL, *at = NULL;
        const char *list = getenv(REEXEC_FDS_ENV), *pid = getenv("LISTEN_PID");
        size_t n = 0, cap = 16, at_size = 0;
        char *end;

        if (!list)
                return 0;
        if (!pid || strtoul(pid, &end, 10) != (unsigned long) getpid() || *end) {
                unsetenv(REEXEC_FDS_ENV); /* not ours: a variable inherited by accident */
                return 0;
        }
        src = calloc(cap, sizeof(int));
        if (!src)
                return -ENOMEM;
        for (const char *p = list; *p;) {
                long v;

                errno = 0;
                v = strtol(p, &end, 10);
                if (errno || end == p || v < 3 || v > INT_MAX || (*end && *end != ','))
                        return -EBADMSG;
                if (n == cap) {
                        int *q = reallocarray(src, cap *= 2, sizeof(int));
                        if (!q)
                                return -ENOMEM;
                        src = q;
                }
                src[n++] = (int) v;
                at_size = MAX(at_size, (size_t) v + 1);
                p = *end ? end + 1 : end;
        }
        at_size = MAX(at_size, 3 + n);
        at = malloc(at_size * sizeof(int));
        if (!at)
                return -ENOMEM;
        for (size_t i = 0; i < at_size; i++)
                at[i] = -1;
        for (size_t i = 0; i < n; i++) {
                if (at[src[i]] >= 0 || fcntl(src[i], F_GETFD) < 0)
                        return -EBADF; /* twice, or not open */
                at[src[i]] = (int) i;
        }
        /* Chains first: an fd whose place is free, then whoever waited for its number... */
        for (size_t i = 0; i < n; i++)
                if (src[i] != (int) (3 + i) && at[3 + i] < 0) {
                        int r = place(src, n, at, at_size, i);
                        if (r < 0)
                                return r;
                }
        /* ...then cycles, each broken by moving one of its fds out of the way first. */
        for (size_t i = 0; i < n; i++) {
                int tmp, from = src[i], r;

                if (from == (int) (3 + i))
                        continue;
                /* Every number in a cycle is taken: this is none of theirs. */
                tmp = fcntl(from, F_DUPFD, 3);
                if (tmp < 0)
                        return -errno;
                (void) close(from);
                at[from] = -1;
                src[i] = tmp;
                r = place(src, n, at, at_size, (size_t) (from - 3));
                if (r < 0)
                        return r;
        }
        unsetenv(REEXEC_FDS_ENV);
        return 0;
}

int restart_init(char **argv) {
        ssize_t k;

        saved_argv = argv;
        /* The path, not the inode: an upgrade puts a new binary there. */
        k = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
        exe_path[k > 0 ? k : 0] = 0;
        return fixup_fds();
}

static bool fd_is_socket(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int restart_take_fds(lmm_manager *m) {
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char **rest_names = NULL;
        char **names = NULL;
        size_t n_rest = 0;
        int n, n_listeners = 0, r;

        r = manager_state_enable(m, getenv("NOTIFY_SOCKET") ? &store_ops : NULL, NULL);
        if (r < 0) {
                log_error("cannot keep a restart state: %s", strerror(-r));
                return r;
        }
        n = activation_listen_fds(&names);
        if (n < 0) {
                log_error("cannot take socket-activation fds: %s", strerror(-n));
                return n;
        }
        fds = calloc(MAX(n, 1), sizeof(int));
        rest_names = calloc(MAX(n, 1), sizeof(char *));
        if (!fds || !rest_names) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n; i++) {
                int fd = ACTIVATION_FDS_START + i;
                const char *name = names ? names[i] : "unknown";
                char path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 1];

                /* The state and the blocks by name; what is not a socket cannot be served. */
                if (manager_state_owns_name(name) || !fd_is_socket(fd)) {
                        fds[n_rest] = fd;
                        rest_names[n_rest++] = names ? names[i] : (char *) "unknown";
                        continue;
                }
                /* A socket of the wrong kind (ListenStream=) says so before anything else. */
                activation_socket_name(fd, path, sizeof(path));
                r = activation_check_socket(fd);
                if (r < 0)
                        safe_close(fd);
                else {
                        r = manager_take_listener(m, fd, name);
                        if (r < 0)
                                log_error("cannot serve socket-activation fd %d (%s): %s", fd, name,
                                          strerror(-r));
                }
                if (r < 0) {
                        for (int k = i + 1; k < n; k++)
                                safe_close(ACTIVATION_FDS_START + k);
                        close_many(fds, n_rest);
                        goto out;
                }
                log_info("serving %s (%s)", path,
                         strncmp(name, "lmmd-bound", 10) == 0 ? "handed over by a re-execution"
                                                              : "socket activation");
                n_listeners++;
        }
        r = manager_state_restore(m, fds, rest_names, n_rest);
        if (r < 0)
                log_error("cannot set up the restart state: %s", strerror(-r));
        else
                r = n_listeners;
out:
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* ---------------------------------------------------------------- re-execution */

/* reexec_env() - our environment without any LISTEN_*, and @add (NULL-terminated) instead. */
static char **reexec_env(char *const *add) {
        size_t n = 0, k = 0;
        char **env;

        for (char **e = environ; *e; e++)
                n++;
        for (char *const *a = add; *a; a++)
                n++;
        env = calloc(n + 1, sizeof(char *));
        if (!env)
                return NULL;
        for (char **e = environ; *e; e++)
                if (strncmp(*e, "LISTEN_", 7) != 0 && strncmp(*e, REEXEC_FDS_ENV "=", 16) != 0)
                        env[k++] = *e;
        for (char *const *a = add; *a; a++)
                env[k++] = *a;
        return env;
}

void restart_reexec(lmm_manager *m) {
        _cleanup_free_ char *fdnames = NULL, *where = NULL;
        _cleanup_free_ char **env = NULL;
        char listen_fds[32], listen_pid[32];
        manager_handover h = {};
        size_t len = 0;
        int r, error;

        r = manager_handover_prepare(m, &h);
        if (r < 0) {
                manager_log(m, LOG_ERR, "cannot re-execute: %s", strerror(-r));
                manager_reexec_cancel(m);
                return;
        }
        snprintf(listen_fds, sizeof(listen_fds), "LISTEN_FDS=%zu", h.n_fds);
        snprintf(listen_pid, sizeof(listen_pid), "LISTEN_PID=%d", (int) getpid());
        fdnames = malloc(strlen(h.names) + sizeof("LISTEN_FDNAMES="));
        where = malloc(h.n_fds * 12 + sizeof(REEXEC_FDS_ENV "="));
        if (fdnames && where) {
                stpcpy(stpcpy(fdnames, "LISTEN_FDNAMES="), h.names);
                len = (size_t) sprintf(where, REEXEC_FDS_ENV "=");
                for (size_t i = 0; i < h.n_fds; i++)
                        len += (size_t) sprintf(where + len, "%s%d", i ? "," : "", h.fds[i]);
                env = reexec_env((char *const[]){ listen_fds, listen_pid, fdnames, where, NULL });
        }
        if (!env) {
                manager_log(m, LOG_ERR, "cannot re-execute: %s", strerror(ENOMEM));
                goto fail;
        }

        /* Passed on: exactly these, and nothing else. */
        for (size_t i = 0; i < h.n_fds; i++)
                (void) fcntl(h.fds[i], F_SETFD, 0);
        manager_log(m, LOG_INFO, "re-executing %s, handing over %zu fds", exe_path, h.n_fds);
        (void) activation_notify("RELOADING=1\nSTATUS=re-executing");
        fflush(NULL);
        (void) execve(exe_path, saved_argv, env);
        error = errno;
        if (error == ENOENT) {
                /* Removed, not replaced: the program that runs now is all there is. */
                manager_log(m, LOG_WARNING, "%s is gone; re-executing the running binary",
                            exe_path);
                (void) execve("/proc/self/exe", saved_argv, env);
                error = errno;
        }
        for (size_t i = 0; i < h.n_fds; i++)
                (void) fcntl(h.fds[i], F_SETFD, FD_CLOEXEC);
        manager_log(m, LOG_ERR, "cannot re-execute %s: %s; serving on", exe_path,
                    error == E2BIG ? "the names of its fds do not fit in the environment (E2BIG)"
                                   : strerror(error));
        (void) activation_notify("READY=1\nSTATUS=serving");
fail:
        manager_handover_done(&h);
        manager_reexec_cancel(m);
}
