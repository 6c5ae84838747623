/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * prober — a well-behaved client that keeps asking while an attack runs:
 * a thread that STATs one block every few milliseconds through its own
 * connection and records every latency and every failure. An attack test
 * starts one, runs the attack, stops it and asserts on what it saw.
 */

#include <stdint.h>

/*
 * The bar an attack test holds the prober's p99 to: 50 ms, what the
 * well-behaved client of a manager under attack must see. A sanitizer build
 * runs the manager several times slower, so there the bar is what shows the
 * manager still never waits on the attacker (a stall is whole seconds), not
 * its speed.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROBER_P99_MAX_USEC 250000
#else
#define PROBER_P99_MAX_USEC 50000
#endif

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
