/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * closer — fds closed off the serving thread. See closer.h.
 */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "closer.h"
#include "util.h"

static void *closer_main(void *arg) {
        int rfd = (int) (intptr_t) arg, fd;

        while (read(rfd, &fd, sizeof(fd)) == (ssize_t) sizeof(fd))
                safe_close(fd);
        safe_close(rfd);
        return NULL;
}

int closer_start(void) {
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

void closer_dispose(int closer_fd, int fd) {
        if (fd < 0)
                return;
        if (closer_fd >= 0 && write(closer_fd, &fd, sizeof(fd)) == (ssize_t) sizeof(fd))
                return;
        safe_close(fd);
}

void closer_stop(int closer_fd) {
        safe_close(closer_fd);
}
