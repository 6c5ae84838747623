/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * listen-fds — the worker's side of a launch: finding a block by name among
 * the fds it was started with, as systemd's socket activation describes
 * them (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; fds from 3).
 *
 * Guarantee: an fd is taken for a block only when LISTEN_PID is this
 * process's pid (a variable inherited by a child that was not meant to have
 * the fds is refused), and only after lmm_segment_from_fd()'s checks; none
 * of it needs /proc, which a confined worker does not have.
 */

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lmm.h"
#include "util.h"

/* A decimal number with no sign, no spaces and no leading zero, at most @max. */
static int parse_unsigned(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;

        if (!s || !*s || (s[0] == '0' && s[1]))
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (max - (unsigned long) (*s - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (unsigned long) (*s - '0');
        }
        *ret = v;
        return 0;
}

_public_ int lmm_segment_from_listen_fds(const char *name, lmm_segment **ret) {
        const char *e, *names;
        unsigned long pid, n, index = 0;
        size_t len;
        bool found = false;
        int fd, r;

        if (!name || !*name || !ret)
                return -EINVAL;
        e = getenv("LISTEN_PID");
        if (!e)
                return -ENXIO;
        r = parse_unsigned(e, INT_MAX, &pid);
        if (r < 0)
                return r;
        if ((pid_t) pid != getpid())
                return -ENXIO; /* another process's: we inherited its environment */
        r = parse_unsigned(getenv("LISTEN_FDS"), INT_MAX - 3, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENOENT;
        names = getenv("LISTEN_FDNAMES");
        if (!names)
                return -EINVAL; /* fds, but no names to find one by */

        /* NAME:NAME:...: exactly one per fd. */
        len = strlen(name);
        for (unsigned long i = 0;; i++) {
                const char *end = strchr(names, ':');
                size_t k = end ? (size_t) (end - names) : strlen(names);

                if (i >= n)
                        return -EINVAL; /* more names than fds */
                if (!found && k == len && memcmp(names, name, len) == 0) {
                        found = true;
                        index = i;
                }
                if (!end) {
                        if (i + 1 != n)
                                return -EINVAL; /* fewer names than fds */
                        break;
                }
                names = end + 1;
        }
        if (!found)
                return -ENOENT;

        fd = 3 + (int) index;
        r = fcntl(fd, F_GETFD);
        if (r < 0)
                return negative_errno();
        /* As sd_listen_fds() leaves them: not inherited by what we exec. */
        if (!(r & FD_CLOEXEC) && fcntl(fd, F_SETFD, r | FD_CLOEXEC) < 0)
                return negative_errno();
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        return lmm_segment_from_fd(fd, name, ret);
}
