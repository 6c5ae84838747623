/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wire-samples — valid messages of every type, deterministic: the unit
 * tests round-trip them and the corpus generator writes them out as seeds.
 * Variants cover the edges: empty names where they are allowed, names of
 * 1 and LMM_NAME_MAX bytes, bytes >= 0x80, integers 0 and all-ones, LIST
 * replies of 0, 1 and WIRE_LIST_MAX blocks, error text of 0 and 255 bytes.
 */

#include <stdint.h>
#include <string.h>

#include "splitmix64.h"
#include "wire.h"

static const uint16_t wire_sample_types[] = {
        WIRE_CREATE,
        WIRE_OPEN,
        WIRE_RELEASE,
        WIRE_FREEZE,
        WIRE_STAT,
        WIRE_LIST,
        WIRE_SHUTDOWN,
        WIRE_ADOPT,
        WIRE_REEXEC,
        WIRE_REPLY | WIRE_CREATE,
        WIRE_REPLY | WIRE_OPEN,
        WIRE_REPLY | WIRE_RELEASE,
        WIRE_REPLY | WIRE_FREEZE,
        WIRE_REPLY | WIRE_STAT,
        WIRE_REPLY | WIRE_LIST,
        WIRE_REPLY | WIRE_SHUTDOWN,
        WIRE_REPLY | WIRE_ADOPT,
        WIRE_REPLY | WIRE_REEXEC,
        WIRE_ERROR,
};
#define WIRE_SAMPLE_N_TYPES (sizeof(wire_sample_types) / sizeof(wire_sample_types[0]))
#define WIRE_SAMPLE_VARIANTS 20

static inline uint64_t wire_sample_rand(uint64_t *s) {
        return splitmix64(s);
}

static inline uint64_t wire_sample_int(uint64_t *s, unsigned variant) {
        switch (variant % 5) {
        case 0:
                return 0;
        case 1:
                return UINT64_MAX;
        case 2:
                return 1;
        default:
                return wire_sample_rand(s);
        }
}

/* A valid name of a length chosen by @variant (never empty). */
static inline void wire_sample_name(char out[static LMM_NAME_MAX + 1], uint64_t *s,
                                    unsigned variant) {
        static const char alphabet[] =
                "abcdefghijklmnopqrstuvwxyz0123456789 ._-:~\xc3\xa9\xe2\x82\xac";
        size_t n;

        switch (variant % 4) {
        case 0:
                n = 1;
                break;
        case 1:
                n = LMM_NAME_MAX;
                break;
        default:
                n = 1 + wire_sample_rand(s) % LMM_NAME_MAX;
                break;
        }
        for (size_t i = 0; i < n; i++)
                out[i] = alphabet[wire_sample_rand(s) % (sizeof(alphabet) - 1)];
        out[n] = 0;
}

static inline void wire_sample_block(wire_block *b, uint64_t *s, unsigned variant) {
        *b = (wire_block){
                .id = wire_sample_int(s, variant),
                .size = wire_sample_int(s, variant + 1),
                .seals = (uint32_t) wire_sample_int(s, variant + 2),
                .flags = (uint32_t) wire_sample_int(s, variant + 3),
                .uid = (uint32_t) wire_sample_int(s, variant + 4),
                .pid = (int32_t) wire_sample_int(s, variant),
                .dev = wire_sample_int(s, variant + 3),
                .ino = wire_sample_int(s, variant + 2),
        };
        wire_sample_name(b->name, s, variant);
}

/* How many blocks variant @variant of a LIST reply has: 0, 1, WIRE_LIST_MAX, then a few. */
static inline size_t wire_sample_list_len(unsigned variant) {
        switch (variant) {
        case 0:
                return 0;
        case 1:
                return 1;
        case 2:
                return WIRE_LIST_MAX;
        default:
                return variant % 7;
        }
}

/*
 * wire_sample() - variant @variant of a valid message of @type into @m.
 * @blocks: room for WIRE_LIST_MAX blocks, which a LIST reply borrows.
 */
static inline void wire_sample(uint16_t type, unsigned variant, wire_msg *m, wire_block *blocks) {
        uint64_t s = (uint64_t) type * 1000 + variant;
        bool empty = variant % 3 == 2; /* an empty name, where allowed */

        memset(m, 0, sizeof(*m));
        m->type = type;
        m->serial = (uint32_t) wire_sample_int(&s, variant);

        switch (type) {
        case WIRE_CREATE:
                m->size = wire_sample_int(&s, variant + 1);
                m->flags = (uint32_t) wire_sample_int(&s, variant);
                if (!empty)
                        wire_sample_name(m->name, &s, variant);
                break;
        case WIRE_ADOPT:
        case WIRE_OPEN:
                m->flags = (uint32_t) wire_sample_int(&s, variant + 2);
                if (!empty || type == WIRE_OPEN)
                        wire_sample_name(m->name, &s, variant);
                break;
        case WIRE_RELEASE:
        case WIRE_FREEZE:
        case WIRE_STAT:
                wire_sample_name(m->name, &s, variant);
                break;
        case WIRE_LIST:
                m->cursor = wire_sample_int(&s, variant);
                break;
        case WIRE_REPLY | WIRE_CREATE:
        case WIRE_REPLY | WIRE_OPEN:
        case WIRE_REPLY | WIRE_ADOPT:
        case WIRE_REPLY | WIRE_STAT:
                wire_sample_block(&m->block, &s, variant);
                break;
        case WIRE_REPLY | WIRE_LIST:
                m->n_blocks = wire_sample_list_len(variant);
                m->next_cursor = m->n_blocks ? wire_sample_int(&s, variant) : 0;
                m->blocks = m->n_blocks ? blocks : NULL;
                for (size_t i = 0; i < m->n_blocks; i++)
                        /* the largest page must still fit in WIRE_MESSAGE_MAX: give it full names */
                        wire_sample_block(&blocks[i], &s,
                                          m->n_blocks == WIRE_LIST_MAX ? 1
                                                                       : variant + (unsigned) i);
                break;
        case WIRE_ERROR: {
                size_t n = variant == 0   ? 0
                           : variant == 1 ? WIRE_ERROR_TEXT_MAX
                                          : wire_sample_rand(&s) % 80;
                m->error = variant == 2   ? 1
                           : variant == 3 ? 4095
                                          : (int32_t) (1 + wire_sample_rand(&s) % 150);
                for (size_t i = 0; i < n; i++)
                        m->text[i] = (char) (' ' + wire_sample_rand(&s) % 95);
                m->text[n] = 0;
                break;
        }
        default:
                break;
        }
}
