/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-corpus-wire — writes the seed corpus of the wire fuzzer:
 * WIRE_SAMPLE_VARIANTS valid messages of every type (wire-samples.h), one
 * file each, named TYPE-NAME-VARIANT. The output is committed in tests/fuzz/corpus-wire/;
 * run this again after a protocol change:
 *
 *   ninja -C build tests/fuzz/gen-corpus-wire
 *   rm -f tests/fuzz/corpus-wire/\* && build/tests/fuzz/gen-corpus-wire tests/fuzz/corpus-wire
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire-samples.h"
#include "wire.h"

static wire_block blocks[WIRE_LIST_MAX];
static uint8_t buf[WIRE_MESSAGE_MAX];

int main(int argc, char **argv) {
        size_t n = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        for (size_t t = 0; t < WIRE_SAMPLE_N_TYPES; t++)
                for (unsigned v = 0; v < WIRE_SAMPLE_VARIANTS; v++) {
                        char path[4096], name[32];
                        wire_msg m;
                        size_t len;
                        FILE *f;
                        int r;

                        wire_sample(wire_sample_types[t], v, &m, blocks);
                        r = wire_encode(&m, buf, sizeof(buf), &len);
                        if (r < 0) {
                                fprintf(stderr,
                                        "gen-corpus: cannot encode type 0x%04x variant %u: %s\n",
                                        m.type, v, strerror(-r));
                                return 1;
                        }
                        snprintf(name, sizeof(name), "%s", wire_type_name(m.type));
                        if (m.type & WIRE_REPLY && m.type != WIRE_ERROR)
                                snprintf(name, sizeof(name), "REPLY-%s",
                                         wire_type_name(m.type & ~WIRE_REPLY));
                        snprintf(path, sizeof(path), "%s/%04x-%s-%02u", argv[1], m.type, name, v);
                        f = fopen(path, "we");
                        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
                                fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(errno));
                                return 1;
                        }
                        n++;
                }
        printf("gen-corpus: %zu seeds in %s\n", n, argv[1]);
        return 0;
}
