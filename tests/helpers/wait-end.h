/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wait-end — how the fixture programs (mkfds, stallfs) wait for their end:
 * until stdin closes (the test that started them is done with them, or died)
 * or SIGTERM or SIGINT arrives.
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* end_signals() - block SIGTERM and SIGINT. Return: a signalfd for them, or -1 (errno set). */
static inline int end_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        return signalfd(-1, &mask, SFD_CLOEXEC);
}

/* wait_for_end() - block until stdin closes or @sfd (end_signals()'s, borrowed) is readable. */
static inline void wait_for_end(int sfd) {
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
                               { .fd = sfd, .events = POLLIN } };

        for (;;) {
                char buf[256];

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (p[1].revents)
                        return;
                if (p[0].revents && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
                        return;
        }
}
