/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-example-worker — a worker: it finds its blocks by name among the fds
 * it was started with, reads one and writes the other. Any launcher that
 * follows systemd's socket-activation convention can start it, lmm-run and
 * lmm_launch_spawn() among them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmm.h"

int main(void) {
        _lmm_cleanup_(lmm_segment_unrefp) lmm_segment *primes = NULL, *answer = NULL;
        const char *in;
        char *out, *end;
        long sum = 0;

        if (lmm_segment_from_listen_fds("primes", &primes) < 0 ||
            lmm_segment_from_listen_fds("answer", &answer) < 0) {
                fprintf(stderr, "worker: not launched with blocks 'primes' and 'answer'\n");
                return 1;
        }
        /* 1: the mapping is read-only, as the launcher asked. */
        if (lmm_segment_map(primes, 0, (void **) &in) != 1 ||
            lmm_segment_map(answer, 0, (void **) &out) != 0) {
                fprintf(stderr, "worker: cannot map the blocks as expected\n");
                return 1;
        }
        for (const char *p = in; *p; p = end) {
                long v = strtol(p, &end, 10);

                if (end == p)
                        break;
                sum += v;
        }
        snprintf(out, lmm_segment_get_size(answer), "the primes add up to %ld", sum);
        return 0;
}
