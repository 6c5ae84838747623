/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-block-msg — the message that passes a block to a running process, as
 * bytes: the exact encoding docs/workers.md gives to peers without liblmm,
 * and every header a receiver must refuse.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "block-pass.h"

TestSuite(block_msg, .timeout = 30);

/* The example of docs/workers.md, byte for byte. */
static const uint8_t frames_ro[] = {
        'L',  'M',  'M',  'B',                          /* magic */
        0x01, 0x00,                                     /* version 1 */
        0x06, 0x00,                                     /* name length 6 */
        0x01, 0x00, 0x00, 0x00,                         /* flags: read-only */
        0x00, 0x00, 0x00, 0x00,                         /* reserved */
        0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, /* size 1 MiB */
        'f',  'r',  'a',  'm',  'e',  's',
};

Test(block_msg, encodes_the_documented_bytes) {
        block_msg m = { .flags = BLOCK_MSG_READ_ONLY, .size = 1 << 20, .name_len = 6 };
        uint8_t buf[BLOCK_MSG_MAX];

        memcpy(m.name, "frames", 6);
        cr_assert_eq(block_msg_encode(&m, buf), (int) sizeof(frames_ro));
        cr_assert_arr_eq(buf, frames_ro, sizeof(frames_ro));
}

Test(block_msg, decodes_what_it_encodes) {
        block_msg m = {}, out;
        uint8_t buf[BLOCK_MSG_MAX];
        int n;

        cr_assert_eq(block_msg_decode(frames_ro, sizeof(frames_ro), &out), 0);
        cr_assert_eq(out.flags, BLOCK_MSG_READ_ONLY);
        cr_assert_eq(out.size, 1 << 20);
        cr_assert_str_eq(out.name, "frames");

        n = block_msg_encode(&m, buf); /* no name, read-write, size 0 */
        cr_assert_eq(n, BLOCK_MSG_HEADER_SIZE);
        cr_assert_eq(block_msg_decode(buf, (size_t) n, &out), 0);
        cr_assert_eq(out.name_len, 0);
        cr_assert_str_eq(out.name, "");

        m.name_len = LMM_NAME_MAX;
        memset(m.name, 'n', LMM_NAME_MAX);
        m.size = UINT64_MAX;
        n = block_msg_encode(&m, buf);
        cr_assert_eq(n, BLOCK_MSG_MAX);
        cr_assert_eq(block_msg_decode(buf, (size_t) n, &out), 0);
        cr_assert_eq(out.size, UINT64_MAX);
        cr_assert_eq(strlen(out.name), LMM_NAME_MAX);

        memcpy(m.name, "1000/frames", 11); /* another user's block */
        m.name_len = 11;
        n = block_msg_encode(&m, buf);
        cr_assert_eq(block_msg_decode(buf, (size_t) n, &out), 0);
        cr_assert_str_eq(out.name, "1000/frames");
}

static int decode_changed(size_t offset, uint8_t value, size_t len) {
        uint8_t buf[sizeof(frames_ro)];
        block_msg out;

        memcpy(buf, frames_ro, sizeof(buf));
        if (offset < sizeof(buf))
                buf[offset] = value;
        return block_msg_decode(buf, len, &out);
}

Test(block_msg, refuses_every_bad_header) {
        cr_assert_eq(decode_changed(0, 'X', sizeof(frames_ro)), -EBADMSG, "magic");
        cr_assert_eq(decode_changed(4, 2, sizeof(frames_ro)), -EPROTONOSUPPORT, "version 2");
        cr_assert_eq(decode_changed(5, 1, sizeof(frames_ro)), -EPROTONOSUPPORT, "version 257");
        cr_assert_eq(decode_changed(6, 7, sizeof(frames_ro)), -EBADMSG, "name longer than sent");
        cr_assert_eq(decode_changed(6, 5, sizeof(frames_ro)), -EBADMSG, "name shorter than sent");
        cr_assert_eq(decode_changed(7, 1, sizeof(frames_ro)), -EBADMSG, "name past LMM_NAME_MAX");
        cr_assert_eq(decode_changed(8, 2, sizeof(frames_ro)), -EBADMSG, "unknown flag");
        cr_assert_eq(decode_changed(11, 0x80, sizeof(frames_ro)), -EBADMSG, "unknown flag");
        cr_assert_eq(decode_changed(12, 1, sizeof(frames_ro)), -EBADMSG, "reserved");
        cr_assert_eq(decode_changed(15, 1, sizeof(frames_ro)), -EBADMSG, "reserved");
        cr_assert_eq(decode_changed(24, '/', sizeof(frames_ro)), -EBADMSG, "'/' in a name");
        cr_assert_eq(decode_changed(25, '\n', sizeof(frames_ro)), -EBADMSG, "control character");
        cr_assert_eq(decode_changed(25, 0, sizeof(frames_ro)), -EBADMSG, "NUL in a name");
        for (size_t len = 0; len < sizeof(frames_ro); len++)
                cr_assert_eq(decode_changed(SIZE_MAX, 0, len), -EBADMSG, "cut at %zu", len);
}

Test(block_msg, encode_refuses_what_cannot_be_sent) {
        block_msg m = { .name_len = LMM_NAME_MAX + 1 };
        uint8_t buf[BLOCK_MSG_MAX];

        cr_assert_eq(block_msg_encode(&m, buf), -EINVAL);
        m.name_len = 0;
        m.flags = 2;
        cr_assert_eq(block_msg_encode(&m, buf), -EINVAL);
}
