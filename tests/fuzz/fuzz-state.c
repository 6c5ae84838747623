/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-state — the restart state's decoder on arbitrary bytes, as a
 * restart takes a state it cannot trust. A header that decodes must encode
 * again to its own bytes; every slot it announces must decode to a block
 * that encodes again to the same bytes, or be all zero (free), or be
 * refused with a reason: nothing in between, and nothing read outside the
 * input. Any difference aborts, which libFuzzer reports as a crash. Linked
 * with libFuzzer (-Dfuzz=true) or with fuzz-main.c (always).
 */

#include <errno.h>
#include <string.h>

#include "fuzz-target.h"
#include "siphash.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t rec[STATE_RECORD_SIZE];
        char why[STATE_WHY_MAX];
        state_header h;
        int r;

        why[0] = 0;
        r = state_header_decode(data, size, &h, why, sizeof(why));
        if (r < 0) {
                fuzz_check(r == -EBADMSG, "state_header_decode() returned %d", r);
                fuzz_check(why[0] != 0, "a header refused without a reason");
                return 0;
        }
        fuzz_check(size >= state_size(h.n_slots), "%zu bytes accepted for %llu slots", size,
                   (unsigned long long) h.n_slots);
        fuzz_check(h.next_id > 0 && h.next_name > 0, "a counter of 0 accepted");
        state_header_encode(&h, rec);
        fuzz_check(memcmp(rec, data, STATE_RECORD_SIZE) == 0, "the header re-encodes otherwise");

        for (uint64_t i = 0; i < h.n_slots; i++) {
                const uint8_t *in = data + state_slot_offset(i);
                state_slot s;

                why[0] = 0;
                r = state_slot_decode(in, &s, why, sizeof(why));
                if (r < 0) {
                        fuzz_check(r == -EBADMSG, "slot %llu: state_slot_decode() returned %d",
                                   (unsigned long long) i, r);
                        fuzz_check(why[0] != 0, "slot %llu refused without a reason",
                                   (unsigned long long) i);
                        continue;
                }
                if (r == 0) {
                        state_slot_encode(NULL, rec);
                        fuzz_check(memcmp(rec, in, STATE_RECORD_SIZE) == 0,
                                   "slot %llu: free, but not all zero", (unsigned long long) i);
                        continue;
                }
                fuzz_check(r == 1, "slot %llu: state_slot_decode() returned %d",
                           (unsigned long long) i, r);
                fuzz_check(state_slot_is_valid(&s),
                           "slot %llu decoded to a block that is not valid",
                           (unsigned long long) i);
                fuzz_check((s.flags & LMM_BLOCK_SCOPE_CONNECTION) == 0,
                           "slot %llu: a connection-scoped block", (unsigned long long) i);
                state_slot_encode(&s, rec);
                fuzz_check(memcmp(rec, in, STATE_RECORD_SIZE) == 0,
                           "slot %llu re-encodes otherwise", (unsigned long long) i);
        }
        return 0;
}

static int check_seed(const uint8_t *data, size_t size) {
        state_header h;

        return state_header_decode(data, size, &h, NULL, 0);
}

/* Each record's checksum made to match its bytes, so that mutations reach the fields. */
static void fix_checksums(uint8_t *d, size_t n) {
        static const uint8_t key[SIPHASH_KEY_SIZE] = "lmm state record";

        for (size_t off = 0; off + STATE_RECORD_SIZE <= n; off += STATE_RECORD_SIZE) {
                uint64_t c = siphash24(d + off, STATE_RECORD_SIZE - 8, key);
                bool zero = true;

                for (size_t i = 0; i < STATE_RECORD_SIZE - 8 && zero; i++)
                        zero = d[off + i] == 0;
                if (zero && off > 0)
                        c = 0; /* a free slot stays free */
                for (unsigned i = 0; i < 8; i++)
                        d[off + STATE_RECORD_SIZE - 8 + i] = (uint8_t) (c >> (8 * i));
        }
}

const fuzz_target fuzz_target_info = {
        .name = "fuzz-state",
        .max_size = 64 * 1024,
        .check_seed = check_seed,
        .fixup = fix_checksums,
};
