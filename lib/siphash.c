/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * siphash — SipHash-2-4, written from the paper ("SipHash: a fast
 * short-input PRF", 2012). Checked against the paper's test vector.
 */

#include <string.h>

#include "siphash.h"

static inline uint64_t rotl(uint64_t x, int b) {
        return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

#define SIPROUND(v0, v1, v2, v3)   \
        do {                       \
                v0 += v1;          \
                v1 = rotl(v1, 13); \
                v1 ^= v0;          \
                v0 = rotl(v0, 32); \
                v2 += v3;          \
                v3 = rotl(v3, 16); \
                v3 ^= v2;          \
                v0 += v3;          \
                v3 = rotl(v3, 21); \
                v3 ^= v0;          \
                v2 += v1;          \
                v1 = rotl(v1, 17); \
                v1 ^= v2;          \
                v2 = rotl(v2, 32); \
        } while (0)

uint64_t siphash24(const void *data, size_t len, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        const uint8_t *in = data, *end = in + (len - len % 8);
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
        uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
        uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
        uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
        uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
        uint64_t b = (uint64_t) len << 56, m;

        for (; in != end; in += 8) {
                m = load_le64(in);
                v3 ^= m;
                SIPROUND(v0, v1, v2, v3);
                SIPROUND(v0, v1, v2, v3);
                v0 ^= m;
        }
        for (size_t i = 0; i < len % 8; i++)
                b |= (uint64_t) in[i] << (8 * i);
        v3 ^= b;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        return v0 ^ v1 ^ v2 ^ v3;
}
