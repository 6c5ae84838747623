/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-wire — the codec against docs/protocol.md: every message type round
 * trips; every malformed message (truncated, oversized, wrong version,
 * unknown type, length mismatch, trailing bytes, bad names, bad counts, bad
 * error codes) is refused with an error and never a crash; the encoder
 * refuses what the decoder would refuse.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wire.h"
#include "wire-eq.h"
#include "wire-samples.h"

static wire_block sample_blocks[WIRE_LIST_MAX];
static uint8_t buf[WIRE_MESSAGE_MAX + 64];

/* Encode @m, decode it back and check both the bytes and the result. */
static size_t roundtrip(const wire_msg *m) {
        wire_msg d;
        size_t len = 0;
        int r;

        r = wire_encode(m, buf, sizeof(buf), &len);
        cr_assert_eq(r, 0, "encode %s (0x%04x): %d", wire_type_name(m->type), m->type, r);
        cr_assert_geq(len, WIRE_HEADER_SIZE);
        cr_assert_leq(len, WIRE_MESSAGE_MAX);
        /* the header, byte by byte, little-endian */
        cr_assert_eq(buf[0] | buf[1] << 8, WIRE_VERSION);
        cr_assert_eq(buf[2] | buf[3] << 8, m->type);
        cr_assert_eq((uint32_t) buf[4] | (uint32_t) buf[5] << 8 | (uint32_t) buf[6] << 16 |
                             (uint32_t) buf[7] << 24,
                     m->serial);
        cr_assert_eq((uint32_t) buf[8] | (uint32_t) buf[9] << 8 | (uint32_t) buf[10] << 16 |
                             (uint32_t) buf[11] << 24,
                     len - WIRE_HEADER_SIZE);

        r = wire_decode(buf, len, &d);
        cr_assert_eq(r, 0, "decode %s (0x%04x): %d", wire_type_name(m->type), m->type, r);
        cr_assert(wire_msg_eq(m, &d), "%s (0x%04x) changed in a round trip",
                  wire_type_name(m->type), m->type);
        wire_msg_done(&d);
        cr_assert_null(d.blocks);
        return len;
}

static int decode_raw(const raw_msg *r) {
        wire_msg d;
        int ret = wire_decode(r->b, r->n, &d);
        if (ret == 0)
                wire_msg_done(&d);
        return ret;
}

Test(wire, roundtrip_every_type_every_variant) {
        wire_msg m;

        for (size_t t = 0; t < WIRE_SAMPLE_N_TYPES; t++)
                for (unsigned v = 0; v < WIRE_SAMPLE_VARIANTS; v++) {
                        wire_sample(wire_sample_types[t], v, &m, sample_blocks);
                        roundtrip(&m);
                }
}

Test(wire, roundtrip_requests_by_hand) {
        wire_msg m;

        m = (wire_msg){
                .type = WIRE_CREATE, .serial = 1, .size = 4096, .flags = LMM_CREATE_SCOPE_CONNECTION
        };
        strcpy(m.name, "frames");
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 8 + 4 + 2 + 6);
        m.name[0] = 0; /* CREATE may leave the name to the manager */
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 8 + 4 + 2);

        m = (wire_msg){ .type = WIRE_OPEN, .serial = 2, .flags = LMM_OPEN_RDONLY };
        strcpy(m.name, "frames");
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 4 + 2 + 6);

        m = (wire_msg){ .type = WIRE_ADOPT, .serial = 3 };
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 4 + 2);
        strcpy(m.name, "x");
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 4 + 2 + 1);

        for (uint16_t t = WIRE_RELEASE; t <= WIRE_STAT; t++) {
                m = (wire_msg){ .type = t, .serial = 4 };
                memset(m.name, 'n', LMM_NAME_MAX);
                cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 2 + LMM_NAME_MAX);
        }

        m = (wire_msg){ .type = WIRE_LIST, .serial = 5, .cursor = UINT64_MAX };
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 8);

        m = (wire_msg){ .type = WIRE_SHUTDOWN, .serial = UINT32_MAX };
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE);

        m = (wire_msg){ .type = WIRE_REEXEC, .serial = 6 };
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE);
}

Test(wire, roundtrip_replies_by_hand) {
        wire_block b = {
                .id = 7, .size = 1 << 20, .seals = 3, .flags = 1, .uid = 1000, .pid = -1, .ino = 99
        };
        wire_msg m;

        strcpy(b.name, "frames");
        for (uint16_t t = WIRE_CREATE; t < _WIRE_REQUEST_MAX; t++) {
                m = (wire_msg){ .type = WIRE_REPLY | t, .serial = t };
                switch (t) {
                case WIRE_CREATE:
                case WIRE_OPEN:
                case WIRE_ADOPT:
                case WIRE_STAT:
                        m.block = b;
                        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 50 + 6);
                        break;
                case WIRE_LIST:
                        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 8 + 2);
                        break;
                default:
                        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE);
                }
        }

        m = (wire_msg){ .type = WIRE_ERROR, .serial = 9, .error = ENOENT };
        strcpy(m.text, "no block named \"x\"");
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 4 + 2 + strlen(m.text));
}

Test(wire, roundtrip_list_0_1_max) {
        wire_msg m = { .type = WIRE_REPLY | WIRE_LIST, .serial = 1, .blocks = sample_blocks };
        size_t len;

        for (size_t i = 0; i < WIRE_LIST_MAX; i++) {
                uint64_t s = i;
                wire_sample_block(&sample_blocks[i], &s, 1); /* names of LMM_NAME_MAX bytes */
                cr_assert_eq(strlen(sample_blocks[i].name), LMM_NAME_MAX);
        }

        m.n_blocks = 0;
        m.blocks = NULL;
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 10);

        m.blocks = sample_blocks;
        m.n_blocks = 1;
        m.next_cursor = 5;
        cr_assert_eq(roundtrip(&m), WIRE_HEADER_SIZE + 10 + WIRE_BLOCK_MAX);

        /* the largest page, every name at its longest, still fits in one message */
        m.n_blocks = WIRE_LIST_MAX;
        len = roundtrip(&m);
        cr_assert_eq(len, WIRE_HEADER_SIZE + 10 + WIRE_LIST_MAX * WIRE_BLOCK_MAX);
        cr_assert_leq(len, WIRE_MESSAGE_MAX);

        /* one more is refused by the encoder */
        m.n_blocks = WIRE_LIST_MAX + 1;
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

/* The layout docs/protocol.md gives, checked against fixed bytes. */
Test(wire, golden_bytes) {
        static const uint8_t create[] = {
                0x02, 0x00,                                     /* version 2 */
                0x01, 0x00,                                     /* type CREATE */
                0x78, 0x56, 0x34, 0x12,                         /* serial 0x12345678 */
                0x10, 0x00, 0x00, 0x00,                         /* body: 16 bytes */
                0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* size 4096 */
                0x02, 0x00, 0x00, 0x00,                         /* flags SCOPE_CONNECTION */
                0x02, 0x00, 'a',  'b',                          /* name "ab" */
        };
        static const uint8_t error[] = {
                0x02, 0x00, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
                0x0a, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, /* ENOENT */
                0x04, 0x00, 'g',  'o',  'n',  'e',
        };
        wire_msg m = { .type = WIRE_CREATE, .serial = 0x12345678, .size = 4096, .flags = 2 };
        size_t len;

        strcpy(m.name, "ab");
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
        cr_assert_eq(len, sizeof(create));
        cr_assert_arr_eq(buf, create, sizeof(create));

        m = (wire_msg){ .type = WIRE_ERROR, .serial = 2, .error = ENOENT };
        strcpy(m.text, "gone");
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
        cr_assert_eq(len, sizeof(error));
        cr_assert_arr_eq(buf, error, sizeof(error));
}

/* Every prefix of every valid message is refused: as it is (the header's
 * body length no longer matches) and with the body length patched to the
 * prefix (the body itself is short). */
Test(wire, rejects_every_truncation) {
        wire_msg m, d;
        size_t len;

        for (size_t t = 0; t < WIRE_SAMPLE_N_TYPES; t++)
                for (unsigned v = 0; v < WIRE_SAMPLE_VARIANTS; v++) {
                        uint8_t *base;

                        wire_sample(wire_sample_types[t], v, &m, sample_blocks);
                        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
                        base = malloc(len);
                        for (size_t k = 0; k < len; k++) {
                                /* the prefix ends where the allocation ends, so that
                                 * ASan sees any read past it */
                                uint8_t *p = base + (len - k);
                                int r;

                                /* the largest LIST page: every prefix around the header
                                 * and the first and last records, a stride in between */
                                if (len > 8192 && k > 600 && k < len - 600 && k % 241 != 0)
                                        continue;
                                memcpy(p, buf, k);
                                r = wire_decode(p, k, &d);
                                cr_assert_eq(r, -EBADMSG, "%s variant %u, %zu of %zu bytes: %d",
                                             wire_type_name(m.type), v, k, len, r);
                                if (k >= WIRE_HEADER_SIZE) {
                                        uint32_t body = (uint32_t) (k - WIRE_HEADER_SIZE);

                                        for (unsigned i = 0; i < 4; i++)
                                                p[8 + i] = (uint8_t) (body >> (8 * i));
                                        r = wire_decode(p, k, &d);
                                        /* a shorter body can be valid only if the type had
                                         * an optional tail, and no type has one */
                                        cr_assert_eq(r, -EBADMSG,
                                                     "%s variant %u, body cut to %u: %d",
                                                     wire_type_name(m.type), v, body, r);
                                }
                        }
                        free(base);
                }
}

Test(wire, rejects_oversized) {
        raw_msg *r = calloc(1, sizeof(*r));
        wire_msg d;

        /* a LIST reply whose header and body agree, one byte over the limit */
        raw_header(r, WIRE_VERSION, WIRE_REPLY | WIRE_LIST, 1);
        raw_u64(r, 0);
        raw_u16(r, 0);
        while (r->n < WIRE_MESSAGE_MAX + 1)
                raw_u16(r, 0);
        r->n = WIRE_MESSAGE_MAX + 1;
        raw_fix(r);
        cr_assert_eq(wire_decode(r->b, r->n, &d), -EBADMSG);
        /* even with a version we do not speak: size is checked first */
        r->b[0] = 9;
        cr_assert_eq(wire_decode(r->b, r->n, &d), -EBADMSG);
        cr_assert_eq(wire_decode(r->b, SIZE_MAX, &d), -EBADMSG);
        free(r);
}

Test(wire, rejects_wrong_version) {
        static const uint16_t versions[] = { 0, 1, 3, 0x100, 0xffff };
        raw_msg r;
        wire_msg d;

        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                raw_header(&r, versions[i], WIRE_SHUTDOWN, 1);
                cr_assert_eq(decode_raw(&r), -EPROTONOSUPPORT, "version %u", versions[i]);
                /* the version is checked before the type and the body, so
                 * that a peer of another version learns it whatever it sent */
                raw_header(&r, versions[i], 0x4242, 1);
                raw_u32(&r, 0xdeadbeef);
                cr_assert_eq(decode_raw(&r), -EPROTONOSUPPORT);
        }
        /* a header that is not whole is malformed, whatever its version */
        raw_header(&r, 2, WIRE_SHUTDOWN, 1);
        cr_assert_eq(wire_decode(r.b, WIRE_HEADER_SIZE - 1, &d), -EBADMSG);
}

Test(wire, rejects_unknown_types) {
        static const uint16_t bad[] = { 0,      10,     11,     0x00ff, 0x7fff,
                                        0x8000, 0x800a, 0x4001, 0xfffe, 0xc001 };
        raw_msg r;
        wire_msg m = {};
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                raw_header(&r, WIRE_VERSION, bad[i], 1);
                cr_assert_eq(decode_raw(&r), -EBADMSG, "type 0x%04x", bad[i]);
                m.type = bad[i];
                cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL, "type 0x%04x",
                             bad[i]);
        }

        /* every type, with an empty body: only the six with an empty body decode */
        for (uint32_t t = 0; t <= UINT16_MAX; t++) {
                bool empty = t == WIRE_SHUTDOWN || t == WIRE_REEXEC ||
                             t == (WIRE_REPLY | WIRE_RELEASE) || t == (WIRE_REPLY | WIRE_FREEZE) ||
                             t == (WIRE_REPLY | WIRE_SHUTDOWN) || t == (WIRE_REPLY | WIRE_REEXEC);
                raw_header(&r, WIRE_VERSION, (uint16_t) t, 1);
                cr_assert_eq(decode_raw(&r), empty ? 0 : -EBADMSG, "type 0x%04x", t);
                cr_assert_not_null(wire_type_name((uint16_t) t));
        }
}

Test(wire, type_names) {
        cr_assert_str_eq(wire_type_name(WIRE_CREATE), "CREATE");
        cr_assert_str_eq(wire_type_name(WIRE_ADOPT), "ADOPT");
        cr_assert_str_eq(wire_type_name(WIRE_REEXEC), "REEXEC");
        cr_assert_str_eq(wire_type_name(WIRE_ERROR), "ERROR");
        cr_assert_str_eq(wire_type_name(0), "UNKNOWN");
        cr_assert_str_eq(wire_type_name(_WIRE_REQUEST_MAX), "UNKNOWN");
        cr_assert_str_eq(wire_type_name(WIRE_REPLY), "UNKNOWN");
}

Test(wire, rejects_body_length_mismatch) {
        static const uint32_t lies[] = { 0, 1, 13, 15, 0x10000, 0xffffffff };
        raw_msg r;

        raw_header(&r, WIRE_VERSION, WIRE_OPEN, 1);
        raw_u32(&r, 0);
        raw_str(&r, "abcd", 4);
        raw_fix(&r); /* 10 bytes */
        cr_assert_eq(decode_raw(&r), 0);
        for (size_t i = 0; i < ELEMENTSOF(lies); i++) {
                for (unsigned k = 0; k < 4; k++)
                        r.b[8 + k] = (uint8_t) (lies[i] >> (8 * k));
                cr_assert_eq(decode_raw(&r), -EBADMSG, "body length %u for 10 bytes", lies[i]);
        }

        /* the string's own length disagrees with the body */
        raw_header(&r, WIRE_VERSION, WIRE_STAT, 1);
        raw_str(&r, "abcd", 4);
        r.b[12] = 3; /* says 3, 4 follow */
        raw_fix(&r);
        cr_assert_eq(decode_raw(&r), -EBADMSG);
        r.b[12] = 5; /* says 5, 4 follow */
        cr_assert_eq(decode_raw(&r), -EBADMSG);
}

Test(wire, rejects_trailing_bytes) {
        wire_msg m;
        size_t len;

        for (size_t t = 0; t < WIRE_SAMPLE_N_TYPES; t++) {
                raw_msg r;

                wire_sample(wire_sample_types[t], 0, &m, sample_blocks);
                cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
                r.n = 0;
                raw_bytes(&r, buf, len);
                raw_u16(&r, 0); /* an empty string, or a zero, that nobody asked for */
                raw_fix(&r);
                cr_assert_eq(decode_raw(&r), -EBADMSG, "%s", wire_type_name(m.type));
                r.n--;
                raw_fix(&r);
                cr_assert_eq(decode_raw(&r), -EBADMSG, "%s", wire_type_name(m.type));
        }
}

/* Build a @type message whose name is @n bytes of @name. */
static void raw_named(raw_msg *r, uint16_t type, const char *name, size_t n) {
        raw_header(r, WIRE_VERSION, type, 1);
        switch (type) {
        case WIRE_CREATE:
                raw_u64(r, 4096);
                raw_u32(r, 0);
                raw_str(r, name, n);
                break;
        case WIRE_OPEN:
        case WIRE_ADOPT:
                raw_u32(r, 0);
                raw_str(r, name, n);
                break;
        case WIRE_RELEASE:
        case WIRE_FREEZE:
        case WIRE_STAT:
                raw_str(r, name, n);
                break;
        case WIRE_REPLY | WIRE_LIST:
                raw_u64(r, 0);
                raw_u16(r, 1);
                raw_block(r, name, n);
                break;
        default:
                raw_block(r, name, n);
        }
        raw_fix(r);
}

static const uint16_t named_types[] = {
        WIRE_CREATE,
        WIRE_OPEN,
        WIRE_ADOPT,
        WIRE_RELEASE,
        WIRE_FREEZE,
        WIRE_STAT,
        WIRE_REPLY | WIRE_CREATE,
        WIRE_REPLY | WIRE_OPEN,
        WIRE_REPLY | WIRE_ADOPT,
        WIRE_REPLY | WIRE_STAT,
        WIRE_REPLY | WIRE_LIST,
};

/* Decodes to a message whose name is invalid: a request (answered EINVAL)? */
static bool decodes_with_invalid_name(const raw_msg *r) {
        wire_msg m;

        if (wire_decode(r->b, r->n, &m) != 0)
                return false;
        wire_msg_done(&m);
        return m.name_invalid && m.name[0] == 0;
}

Test(wire, names_on_the_wire) {
        char name[LMM_NAME_MAX + 2];
        raw_msg r;

        memset(name, 'a', sizeof(name));
        for (size_t i = 0; i < ELEMENTSOF(named_types); i++) {
                uint16_t t = named_types[i];
                bool request = !(t & WIRE_REPLY);
                bool may_be_empty = t == WIRE_CREATE || t == WIRE_ADOPT;
                bool qualified =
                        t == WIRE_OPEN || t == WIRE_STAT || t == WIRE_FREEZE || t == WIRE_RELEASE;
                static const char *const bad[] = { "a/b",  "/",    "a\x01", "\x1f",
                                                   "a\nb", "\x7f", "a\tb",  "x\x00y",
                                                   "01/x", "1/",   "1/a/b", "4294967295/x" };

                raw_named(&r, t, name, 1);
                cr_assert_eq(decode_raw(&r), 0, "%s", wire_type_name(t));
                raw_named(&r, t, name, LMM_NAME_MAX);
                cr_assert_eq(decode_raw(&r), 0, "%s", wire_type_name(t));
                raw_named(&r, t, "caf\xc3\xa9 2 ~.-_", 12);
                cr_assert_eq(decode_raw(&r), 0, "%s: bytes >= 0x80 and spaces are fine",
                             wire_type_name(t));
                /* Another user's block, UID/NAME: only where a request finds a block. */
                raw_named(&r, t, "1000/frames", 11);
                if (qualified)
                        cr_assert_eq(decode_raw(&r), 0, "%s: UID/NAME", wire_type_name(t));
                else if (request)
                        cr_assert(decodes_with_invalid_name(&r), "%s: UID/NAME", wire_type_name(t));
                else
                        cr_assert_eq(decode_raw(&r), -EBADMSG, "%s: UID/NAME", wire_type_name(t));

                /* A name's length is framing: too long is malformed. */
                raw_named(&r, t, name, LMM_NAME_MAX + 1);
                cr_assert_eq(decode_raw(&r), -EBADMSG, "%s: too long", wire_type_name(t));
                /* Its bytes are data: a request decodes, marked, for the
                 * manager to answer EINVAL; a reply is malformed. */
                raw_named(&r, t, "", 0);
                if (may_be_empty)
                        cr_assert_eq(decode_raw(&r), 0, "%s: empty", wire_type_name(t));
                else if (request)
                        cr_assert(decodes_with_invalid_name(&r), "%s: empty", wire_type_name(t));
                else
                        cr_assert_eq(decode_raw(&r), -EBADMSG, "%s: empty", wire_type_name(t));
                for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                        size_t n = k == 7 ? 3 : strlen(bad[k]);
                        raw_named(&r, t, bad[k], n);
                        if (request)
                                cr_assert(decodes_with_invalid_name(&r), "%s: name %zu",
                                          wire_type_name(t), k);
                        else
                                cr_assert_eq(decode_raw(&r), -EBADMSG, "%s: name %zu",
                                             wire_type_name(t), k);
                }
                /* a string length past the end of the body */
                raw_named(&r, t, name, 4);
                r.n -= 1;
                raw_fix(&r);
                cr_assert_eq(decode_raw(&r), -EBADMSG);
        }
}

Test(wire, encoder_refuses_bad_names) {
        static wire_block blocks[2];
        wire_msg m;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(named_types); i++) {
                uint16_t t = named_types[i];
                bool may_be_empty = t == WIRE_CREATE || t == WIRE_ADOPT;
                static const char *const bad[] = { "a/b", "a\x01", "\x1f", "a\nb", "\x7f" };
                char *name;

                m = (wire_msg){ .type = t,
                                .blocks = blocks,
                                .n_blocks = t == (WIRE_REPLY | WIRE_LIST) ? 2 : 0 };
                strcpy(blocks[0].name, "ok");
                name = t == (WIRE_REPLY | WIRE_LIST) ? blocks[1].name
                       : t & WIRE_REPLY              ? m.block.name
                                                     : m.name;

                strcpy(name, "ok");
                cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0, "%s", wire_type_name(t));
                name[0] = 0;
                cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), may_be_empty ? 0 : -EINVAL,
                             "%s: empty", wire_type_name(t));
                /* LMM_NAME_MAX + 1 bytes and no NUL inside the array: never read past it */
                memset(name, 'a', LMM_NAME_MAX + 1);
                cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL, "%s: too long",
                             wire_type_name(t));
                for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                        strcpy(name, bad[k]);
                        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL, "%s: %zu",
                                     wire_type_name(t), k);
                }
        }
}

Test(wire, rejects_list_count_larger_than_body) {
        raw_msg *r = calloc(1, sizeof(*r));

        /* count 1, no record */
        raw_header(r, WIRE_VERSION, WIRE_REPLY | WIRE_LIST, 1);
        raw_u64(r, 0);
        raw_u16(r, 1);
        raw_fix(r);
        cr_assert_eq(decode_raw(r), -EBADMSG);

        /* count 2, one record */
        raw_header(r, WIRE_VERSION, WIRE_REPLY | WIRE_LIST, 1);
        raw_u64(r, 0);
        raw_u16(r, 2);
        raw_block(r, "a", 1);
        raw_fix(r);
        cr_assert_eq(decode_raw(r), -EBADMSG);
        r->b[WIRE_HEADER_SIZE + 8] = 1;
        cr_assert_eq(decode_raw(r), 0);
        r->b[WIRE_HEADER_SIZE + 8] = 0; /* count 0, one record: trailing bytes */
        cr_assert_eq(decode_raw(r), -EBADMSG);

        /* count 0xffff */
        r->b[WIRE_HEADER_SIZE + 8] = 0xff;
        r->b[WIRE_HEADER_SIZE + 9] = 0xff;
        cr_assert_eq(decode_raw(r), -EBADMSG);

        /* WIRE_LIST_MAX + 1 records of the smallest size fit in a message,
         * but a page never holds more than WIRE_LIST_MAX */
        raw_header(r, WIRE_VERSION, WIRE_REPLY | WIRE_LIST, 1);
        raw_u64(r, 0);
        raw_u16(r, WIRE_LIST_MAX + 1);
        for (size_t i = 0; i < WIRE_LIST_MAX + 1; i++)
                raw_block(r, "a", 1);
        raw_fix(r);
        cr_assert_leq(r->n, WIRE_MESSAGE_MAX);
        cr_assert_eq(decode_raw(r), -EBADMSG);
        /* and WIRE_LIST_MAX of them are fine */
        r->b[WIRE_HEADER_SIZE + 8] = (uint8_t) WIRE_LIST_MAX;
        r->b[WIRE_HEADER_SIZE + 9] = (uint8_t) (WIRE_LIST_MAX >> 8);
        r->n -= 51;
        raw_fix(r);
        cr_assert_eq(decode_raw(r), 0);

        /* a bad record in the middle of a page: refused, nothing leaked (ASan) */
        raw_header(r, WIRE_VERSION, WIRE_REPLY | WIRE_LIST, 1);
        raw_u64(r, 0);
        raw_u16(r, 3);
        raw_block(r, "a", 1);
        raw_block(r, "b/", 2);
        raw_block(r, "c", 1);
        raw_fix(r);
        cr_assert_eq(decode_raw(r), -EBADMSG);
        free(r);
}

static void raw_error(raw_msg *r, uint32_t error, const char *text, size_t n) {
        raw_header(r, WIRE_VERSION, WIRE_ERROR, 1);
        raw_u32(r, error);
        raw_str(r, text, n);
        raw_fix(r);
}

Test(wire, error_codes_and_text) {
        static const uint32_t bad[] = { 0,          4096,          0x7fffffff,
                                        0x80000000, (uint32_t) -1, (uint32_t) -EINVAL };
        char text[WIRE_ERROR_TEXT_MAX + 2];
        raw_msg r;

        raw_error(&r, 1, "x", 1);
        cr_assert_eq(decode_raw(&r), 0);
        raw_error(&r, 4095, "", 0);
        cr_assert_eq(decode_raw(&r), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                raw_error(&r, bad[i], "x", 1);
                cr_assert_eq(decode_raw(&r), -EBADMSG, "error %d", (int32_t) bad[i]);
        }

        memset(text, 't', sizeof(text));
        raw_error(&r, EIO, text, WIRE_ERROR_TEXT_MAX);
        cr_assert_eq(decode_raw(&r), 0);
        raw_error(&r, EIO, text, WIRE_ERROR_TEXT_MAX + 1);
        cr_assert_eq(decode_raw(&r), -EBADMSG);
        raw_error(&r, EIO, "one\ntwo", 7);
        cr_assert_eq(decode_raw(&r), -EBADMSG);
        raw_error(&r, EIO, "one\0two", 7);
        cr_assert_eq(decode_raw(&r), -EBADMSG);
}

Test(wire, encoder_refuses_bad_errors) {
        wire_msg m = { .type = WIRE_ERROR, .error = EIO };
        size_t len;

        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
        m.error = 0;
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
        m.error = -EIO;
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
        m.error = EIO;
        strcpy(m.text, "two\nlines");
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
        memset(m.text, 'x', sizeof(m.text)); /* no NUL at all */
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

/* What the encoder accepts the decoder must accept: an errno above 4095
 * would be sent and then refused as malformed by the peer, which then
 * closes the connection. */
Test(wire, encoder_refuses_error_out_of_range) {
        wire_msg m = { .type = WIRE_ERROR, .error = 4095 };
        size_t len;

        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
        m.error = 4096;
        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), -EINVAL,
                     "wire_encode() accepts error 4096, which wire_decode() refuses");
}

Test(wire, encoder_needs_room) {
        wire_msg m;

        for (size_t t = 0; t < WIRE_SAMPLE_N_TYPES; t++)
                for (unsigned v = 0; v < 4; v++) {
                        size_t len, len2;

                        wire_sample(wire_sample_types[t], v, &m, sample_blocks);
                        cr_assert_eq(wire_encode(&m, buf, sizeof(buf), &len), 0);
                        /* exactly enough, and into a buffer of exactly that size */
                        uint8_t *p = malloc(len);
                        cr_assert_eq(wire_encode(&m, p, len, &len2), 0);
                        cr_assert_eq(len2, len);
                        cr_assert_arr_eq(p, buf, len);
                        free(p);
                        for (size_t k = 0; k < len; k += (len > 600 ? 97 : 1)) {
                                p = malloc(k ? k : 1);
                                len2 = 12345;
                                cr_assert_eq(wire_encode(&m, p, k, &len2), -ENOBUFS,
                                             "%s in %zu of %zu bytes", wire_type_name(m.type), k,
                                             len);
                                cr_assert_eq(len2, 12345, "ret_len written on failure");
                                free(p);
                        }
                }
}

/* The codec's buffers are byte arrays: it must not assume any alignment. */
Test(wire, unaligned_buffers) {
        static uint8_t raw[WIRE_MESSAGE_MAX + 8];
        wire_msg m, d;
        size_t len;

        for (size_t off = 1; off < 8; off++) {
                wire_sample(WIRE_REPLY | WIRE_STAT, 3, &m, sample_blocks);
                cr_assert_eq(wire_encode(&m, raw + off, sizeof(raw) - off, &len), 0);
                cr_assert_eq(wire_decode(raw + off, len, &d), 0);
                cr_assert(wire_msg_eq(&m, &d));
                wire_msg_done(&d);
        }
}

Test(wire, fds_expected) {
        for (uint32_t t = 0; t <= UINT16_MAX; t++) {
                unsigned want = t == WIRE_ADOPT || t == (WIRE_REPLY | WIRE_CREATE) ||
                                t == (WIRE_REPLY | WIRE_OPEN) || t == (WIRE_REPLY | WIRE_ADOPT);
                cr_assert_eq(wire_fds_expected((uint16_t) t), want, "type 0x%04x", t);
                cr_assert_leq(wire_fds_expected((uint16_t) t), WIRE_FDS_MAX);
        }
}

Test(wire, msg_done_is_idempotent) {
        wire_msg m = {};

        wire_msg_done(&m);
        wire_msg_done(&m);
        cr_assert_null(m.blocks);
        cr_assert_eq(m.n_blocks, 0);
}
