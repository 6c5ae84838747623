/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-async — many calls in flight on one client, from the program's own
 * poll() loop: start them all, then let lmm_client_process() run each
 * handler as its answer arrives.
 *
 * Shown in lmm-asynchronous-calls(3).
 */

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <lmm.h>

#define N_BLOCKS 8

static lmm_segment *blocks[N_BLOCKS];

static void created(lmm_client *c, int error, lmm_segment *s, void *userdata) {
        size_t i = (size_t) (uintptr_t) userdata;

        if (error < 0) {
                fprintf(stderr, "lmm-async: creating block %zu: %s (%s)\n", i, strerror(-error),
                        lmm_client_last_error(c) ?: "refused by the library");
                return;
        }
        blocks[i] = s; /* ours now */
}

int main(void) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        lmm_client *c;
        size_t done = 0;
        int r;

        r = lmm_server_start(NULL, &smm);
        if (r < 0) {
                fprintf(stderr, "lmm-async: starting a manager: %s\n", strerror(-r));
                return 1;
        }
        c = lmm_server_get_client(smm);

        for (size_t i = 0; i < N_BLOCKS; i++) {
                r = lmm_segment_create_async(c, &(lmm_segment_opts){ .size = 4096 << i }, created,
                                             (void *) (uintptr_t) i);
                if (r < 0) {
                        fprintf(stderr, "lmm-async: starting call %zu: %s\n", i, strerror(-r));
                        return 1;
                }
        }
        printf("%zu calls in flight\n", lmm_client_get_n_pending(c));

        /* The loop: here only the client's fd, in a real program among others. */
        while (lmm_client_get_n_pending(c) > 0) {
                struct pollfd p = { .fd = lmm_client_get_fd(c),
                                    .events = (short) lmm_client_get_events(c) };

                if (poll(&p, 1, -1) < 0 || lmm_client_process(c) < 0)
                        return 1;
        }

        for (size_t i = 0; i < N_BLOCKS; i++) {
                if (!blocks[i])
                        continue;
                printf("%s: %llu bytes\n", lmm_segment_get_name(blocks[i]),
                       (unsigned long long) lmm_segment_get_size(blocks[i]));
                blocks[i] = lmm_segment_unref(blocks[i]);
                done++;
        }
        return done == N_BLOCKS ? 0 : 1;
}
