/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-example-launch — a launcher: a private manager, a table the worker may
 * only read and a block it writes its answer to, the worker started with
 * both, confined, and its answer printed. docs/workers.md walks through it.
 */

#include <stdio.h>
#include <string.h>

#include "lmm.h"

#define CHECK(expr)                                                                  \
        do {                                                                         \
                int _r = (expr);                                                     \
                if (_r < 0) {                                                        \
                        fprintf(stderr, "launcher: %s: %s\n", #expr, strerror(-_r)); \
                        return 1;                                                    \
                }                                                                    \
        } while (0)

int main(int argc, char *argv[]) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        _lmm_cleanup_(lmm_segment_unrefp) lmm_segment *primes = NULL, *answer = NULL;
        _lmm_cleanup_(lmm_launch_freep) lmm_launch *l = NULL;
        _lmm_cleanup_(lmm_worker_freep) lmm_worker *w = NULL;
        const char *worker = argc > 1 ? argv[1] : "./lmm-example-worker";
        lmm_client *c;
        char *p;
        int r, status;

        CHECK(lmm_server_start(NULL, &smm));
        c = lmm_server_get_client(smm);
        CHECK(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "primes" },
                                 &primes));
        CHECK(lmm_segment_map(primes, 0, (void **) &p));
        strcpy(p, "2 3 5 7 11 13");
        CHECK(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "answer" },
                                 &answer));

        /* fd 3: "primes", read-only for real; fd 4: "answer", read-write. */
        CHECK(lmm_launch_new(&l));
        CHECK(lmm_launch_add_block(l, primes, LMM_LAUNCH_READ_ONLY));
        CHECK(lmm_launch_add_block(l, answer, 0));
        r = lmm_launch_spawn(l, worker, NULL, NULL, &w);
        if (r < 0) {
                fprintf(stderr, "launcher: %s\n", lmm_launch_last_error(l) ?: strerror(-r));
                return 1;
        }
        CHECK(lmm_worker_wait(w, &status));
        if (status != 0) {
                fprintf(stderr, "launcher: the worker failed with status %d\n", status);
                return 1;
        }
        CHECK(lmm_segment_map(answer, 0, (void **) &p));
        printf("the worker says: %s\n", p);
        return 0;
}
