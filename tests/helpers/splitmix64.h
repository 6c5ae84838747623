/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * splitmix64 — the tests' pseudo-random numbers: deterministic on every
 * machine and libc, so that samples, seeds and mutations are the same on
 * every run.
 */

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *s) {
        uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}
