/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * segment — a block held by this process: its fd, its announced size and
 * name, and at most one mapping of it.
 */

#include <stdint.h>

#include "lmm.h"

/*
 * segment_new() - wrap @fd (consumed, also on failure) of @size bytes.
 * @writable: whether @fd was opened read-write, when the caller knows it (it
 * asked the manager for that): 1 or 0; -1 to ask the kernel at map time.
 */
int segment_new(int fd, uint64_t size, const char *name, int writable, lmm_segment **ret);
