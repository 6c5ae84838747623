/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * prober — latencies of a well-behaved client during an attack. See prober.h.
 */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lmm.h"
#include "prober.h"

#define PROBER_MAX_SAMPLES 100000

struct prober {
        pthread_t thread;
        lmm_client *client;
        char *name;
        unsigned period_ms;
        atomic_bool stop;
        unsigned n, failures;
        int first_error;
        uint64_t samples[PROBER_MAX_SAMPLES];
};

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void *prober_main(void *arg) {
        prober *p = arg;

        while (!atomic_load(&p->stop) && p->n < PROBER_MAX_SAMPLES) {
                lmm_block_info info;
                uint64_t t = now_us();
                int r = lmm_block_stat(p->client, p->name, &info);

                p->samples[p->n++] = now_us() - t;
                if (r < 0) {
                        if (!p->failures)
                                p->first_error = r;
                        p->failures++;
                }
                usleep(p->period_ms * 1000u);
        }
        return NULL;
}

int prober_start(const char *sock, const char *name, unsigned period_ms, prober **ret) {
        prober *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->name = strdup(name);
        p->period_ms = period_ms;
        r = p->name ? lmm_client_connect(sock, &p->client) : -ENOMEM;
        if (r >= 0)
                r = lmm_client_set_timeout(p->client, 10 * 1000000u);
        if (r >= 0)
                r = -pthread_create(&p->thread, NULL, prober_main, p);
        if (r < 0) {
                lmm_client_unref(p->client);
                free(p->name);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

void prober_stop(prober *p, prober_stats *ret) {
        atomic_store(&p->stop, true);
        pthread_join(p->thread, NULL);
        qsort(p->samples, p->n, sizeof(p->samples[0]), cmp_u64);
        *ret = (prober_stats){
                .calls = p->n,
                .failures = p->failures,
                .first_error = p->first_error,
                .p50_us = p->n ? p->samples[p->n / 2] : 0,
                .p99_us = p->n ? p->samples[(p->n * 99) / 100] : 0,
                .max_us = p->n ? p->samples[p->n - 1] : 0,
        };
        lmm_client_unref(p->client);
        free(p->name);
        free(p);
}
