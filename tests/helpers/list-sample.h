/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * list-sample — the small list that the list unit tests corrupt and that
 * the list fuzzer's seeds are made from: a slot of every kind, at indices
 * both rely on (0 an int, 1 a string, 2 bytes, 3 a double, 4 an empty slot
 * of 32 bytes).
 */

#include "lmm.h"

#define LIST_SAMPLE_N 5

static inline void list_sample(lmm_item items[LIST_SAMPLE_N]) {
        items[0] = lmm_item_int(5);
        items[1] = lmm_item_str("hello");
        items[2] = lmm_item_bytes("\0\1\2", 3);
        items[3] = lmm_item_double(1.5);
        items[4] = lmm_item_with_capacity(lmm_item_none(), 32);
}
