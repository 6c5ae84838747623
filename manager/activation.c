/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * activation — the fds lmmd is started with, and readiness, through
 * libsystemd or on our own. See activation.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "activation.h"
#include "log.h"
#include "util.h"

int activation_check_socket(int fd) {
        int domain = 0, type = 0, listening = 0;
        socklen_t len;

        len = sizeof(domain);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
                log_error("socket-activation fd %d: %s", fd,
                          errno == ENOTSOCK ? "not a socket: lmmd needs a SOCK_SEQPACKET socket"
                                            : strerror(errno));
                return -ENOTSOCK;
        }
        len = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                type = -1;
        if (type != SOCK_SEQPACKET) {
                char name[32];

                snprintf(name, sizeof(name), "type %d", type);
                log_error("socket-activation fd %d is a %s socket: lmmd needs a SOCK_SEQPACKET "
                          "socket (ListenSequentialPacket= in the .socket unit, or "
                          "systemd-socket-activate --seqpacket)",
                          fd,
                          type == SOCK_STREAM  ? "SOCK_STREAM"
                          : type == SOCK_DGRAM ? "SOCK_DGRAM"
                          : type == SOCK_RAW   ? "SOCK_RAW"
                                               : name);
                return -ESOCKTNOSUPPORT;
        }
        if (domain != AF_UNIX) {
                log_error("socket-activation fd %d is not an AF_UNIX socket: lmmd needs a "
                          "SOCK_SEQPACKET socket on a path",
                          fd);
                return -EAFNOSUPPORT;
        }
        len = sizeof(listening);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
                log_error("socket-activation fd %d is not listening: lmmd needs a listening "
                          "socket (Accept=no in the .socket unit)",
                          fd);
                return -EINVAL;
        }
        return 0;
}

void activation_socket_name(int fd, char *ret, size_t size) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 ||
            len <= offsetof(struct sockaddr_un, sun_path))
                snprintf(ret, size, "fd %d", fd);
        else if (sa.sun_path[0] == 0)
                snprintf(ret, size, "@%.*s",
                         (int) (len - offsetof(struct sockaddr_un, sun_path) - 1), sa.sun_path + 1);
        else
                snprintf(ret, size, "%.*s", (int) sizeof(sa.sun_path), sa.sun_path);
}

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

_Static_assert(ACTIVATION_FDS_START == SD_LISTEN_FDS_START, "fds start where systemd puts them");

int activation_listen_fds(char ***ret_names) {
        return sd_listen_fds_with_names(true, ret_names);
}

int activation_notify(const char *state) {
        return sd_notify(false, state);
}

#else

/* parse_ulong() - @s as a whole decimal number. */
static int parse_ulong(const char *s, unsigned long *ret) {
        char *end;

        errno = 0;
        *ret = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-')
                return -EINVAL;
        return 0;
}

/* strv_free() - free @v, a NULL-terminated array of strings, and them. */
static void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

/* listen_names() - @n names: $LISTEN_FDNAMES split at every ':', or
 * "unknown" each when it is not set. */
static int listen_names(size_t n, char ***ret) {
        _cleanup_free_ char *copy = NULL;
        const char *e = getenv("LISTEN_FDNAMES");
        char **names, *p, *name;
        size_t i = 0;

        names = calloc(n + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        copy = strdup(e ?: "");
        if (!copy)
                goto nomem;
        for (p = copy; i < n; i++) {
                name = e ? strsep(&p, ":") : "unknown";
                if (!name) {
                        strv_free(names);
                        return -EINVAL; /* fewer names than fds */
                }
                names[i] = strdup(name);
                if (!names[i])
                        goto nomem;
        }
        if (e && p) {
                strv_free(names);
                return -EINVAL; /* more names than fds */
        }
        *ret = names;
        return 0;
nomem:
        strv_free(names);
        return -ENOMEM;
}

static int listen_fds(char ***ret_names) {
        const char *e;
        unsigned long pid, n;
        int r;

        /* Passed to another process (a parent that exec'd us with its own
         * environment): not ours. */
        e = getenv("LISTEN_PID");
        if (!e)
                return 0;
        if (parse_ulong(e, &pid) < 0)
                return -EINVAL;
        if (pid != (unsigned long) getpid())
                return 0;
        e = getenv("LISTEN_FDS");
        if (!e)
                return 0;
        if (parse_ulong(e, &n) < 0 || n > (unsigned long) (INT_MAX - ACTIVATION_FDS_START))
                return -EINVAL;
        for (int fd = ACTIVATION_FDS_START; fd < ACTIVATION_FDS_START + (int) n; fd++)
                if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                        return negative_errno();
        if (ret_names && n > 0) {
                r = listen_names(n, ret_names);
                if (r < 0)
                        return r;
        }
        return (int) n;
}

int activation_listen_fds(char ***ret_names) {
        int r;

        if (ret_names)
                *ret_names = NULL;
        r = listen_fds(ret_names);
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        return r;
}

int activation_notify(const char *state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        const char *e = getenv("NOTIFY_SOCKET");
        size_t n;

        if (!e || !*e)
                return 0;
        /* A path, or an abstract name after '@'. (libsystemd also speaks
         * AF_VSOCK, for a service manager outside a VM.) */
        if (e[0] != '/' && e[0] != '@')
                return -EAFNOSUPPORT;
        n = strlen(e);
        if (n >= sizeof(sa.sun_path))
                return -E2BIG;
        memcpy(sa.sun_path, e, n);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* The receiver learns our pid from the kernel (SO_PASSCRED). */
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                   (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0)
                return negative_errno();
        return 1;
}

#endif
