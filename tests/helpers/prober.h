/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * prober — a well-behaved client that keeps asking while an attack runs:
 * a thread that STATs one block every few milliseconds through its own
 * connection and records every latency and every failure. An attack test
 * starts one, runs the attack, stops it and asserts on what it saw.
 */

#include <stdint.h>

typedef struct prober prober;

typedef struct prober_stats {
        unsigned calls;
        unsigned failures;
        int first_error; /* the first failure's -errno, or 0 */
        uint64_t p50_us, p99_us, max_us;
} prober_stats;

/* prober_start() - connect to @sock and STAT @name every @period_ms. Return: 0 or -errno. */
int prober_start(const char *sock, const char *name, unsigned period_ms, prober **ret);

/* prober_stop() - stop, report, free. */
void prober_stop(prober *p, prober_stats *ret);
