/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * activation — socket activation and readiness, through libsystemd or on
 * our own. See activation.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "activation.h"
#include "util.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

_Static_assert(ACTIVATION_FDS_START == SD_LISTEN_FDS_START, "fds start where systemd puts them");

int activation_listen_fds(void) {
        return sd_listen_fds(true);
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

static int listen_fds(void) {
        const char *e;
        unsigned long pid, n;

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
        return (int) n;
}

int activation_listen_fds(void) {
        int r = listen_fds();

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
