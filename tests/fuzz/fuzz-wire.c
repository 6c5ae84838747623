/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-wire — wire_decode() on arbitrary bytes. Every message that decodes
 * must encode again to exactly the same bytes (the encoding is canonical:
 * the decoder accepts nothing optional), and those bytes must decode to the
 * same message. Any difference aborts, which libFuzzer reports as a crash.
 * Linked with libFuzzer (-Dfuzz=true) or with fuzz-main.c (always).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-target.h"
#include "wire-eq.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t buf[WIRE_MESSAGE_MAX];
        wire_msg a, b;
        size_t len = 0;
        int r;

        r = wire_decode(data, size, &a);
        if (r < 0) {
                fuzz_check(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -ENOMEM,
                           "wire_decode() returned %d", r);
                return 0;
        }

        fuzz_check(wire_fds_expected(a.type) <= WIRE_FDS_MAX, "type 0x%04x expects too many fds",
                   a.type);
        fuzz_check(strcmp(wire_type_name(a.type), "UNKNOWN") != 0, "decoded unknown type 0x%04x",
                   a.type);
        fuzz_check((a.blocks != NULL) == (a.n_blocks > 0), "blocks/n_blocks disagree");
        fuzz_check(a.n_blocks <= WIRE_LIST_MAX, "%zu blocks", a.n_blocks);
        if (a.name_invalid) {
                /* A request whose name is data no name may be: nothing to
                 * round-trip, the manager answers EINVAL. */
                fuzz_check(!(a.type & WIRE_REPLY) && a.name[0] == 0,
                           "%s (0x%04x): an invalid name kept or outside a request",
                           wire_type_name(a.type), a.type);
                wire_msg_done(&a);
                return 0;
        }

        r = wire_encode(&a, buf, sizeof(buf), &len);
        fuzz_check(r == 0, "%s (0x%04x) decoded but does not encode: %d", wire_type_name(a.type),
                   a.type, r);
        fuzz_check(len == size && memcmp(buf, data, size) == 0,
                   "%s (0x%04x) re-encodes to different bytes (%zu, was %zu)",
                   wire_type_name(a.type), a.type, len, size);

        r = wire_decode(buf, len, &b);
        fuzz_check(r == 0, "%s (0x%04x) re-encoded does not decode: %d", wire_type_name(a.type),
                   a.type, r);
        fuzz_check(wire_msg_eq(&a, &b), "%s (0x%04x) changed in a round trip",
                   wire_type_name(a.type), a.type);

        wire_msg_done(&a);
        wire_msg_done(&b);
        return 0;
}

static int check_seed(const uint8_t *data, size_t size) {
        wire_msg m;
        int r;

        r = wire_decode(data, size, &m);
        if (r < 0)
                return r;
        wire_msg_done(&m);
        return 0;
}

/* The header's body length, made to match what follows the header. */
static void fix_body_length(uint8_t *d, size_t n) {
        uint32_t body;

        if (n < WIRE_HEADER_SIZE)
                return;
        body = (uint32_t) (n - WIRE_HEADER_SIZE);
        for (unsigned i = 0; i < 4; i++)
                d[8 + i] = (uint8_t) (body >> (8 * i));
}

const fuzz_target fuzz_target_info = {
        .name = "fuzz-wire",
        .max_size = WIRE_MESSAGE_MAX,
        .check_seed = check_seed,
        .fixup = fix_body_length,
};
