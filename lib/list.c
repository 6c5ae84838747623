/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list — the public lmm_list_*() API of the shareable list: it creates or
 * opens a segment, maps it and hands the mapping to the layout
 * (list-layout.h), which checks everything it reads there. What this layer
 * adds: a list owns its segment, refuses set on a read-only mapping (-EROFS),
 * and a create that fails half-way releases the block it made.
 */

#include <stdio.h>

#include "client.h"
#include "list-layout.h"
#include "lmm.h"
#include "segment.h"
#include "util.h"

struct lmm_list {
        lmm_segment *segment;
        list_layout layout;
        bool writable;
};

_public_ int lmm_list_from_segment(lmm_segment *s, lmm_list **ret) {
        lmm_list *l;
        void *addr;
        int r;

        if (!s)
                return -EINVAL;
        if (!ret) {
                lmm_segment_unref(s);
                return -EINVAL;
        }
        r = lmm_segment_map(s, 0, &addr);
        if (r < 0) {
                lmm_segment_unref(s);
                return r;
        }
        l = calloc(1, sizeof(*l));
        if (!l) {
                lmm_segment_unref(s);
                return -ENOMEM;
        }
        l->segment = s;
        l->writable = r == 0;
        r = list_layout_open(addr, lmm_segment_get_size(s), &l->layout);
        if (r < 0) {
                lmm_list_unref(l);
                return r;
        }
        *ret = l;
        return 0;
}

_public_ int lmm_list_create(lmm_client *c, const char *name, const lmm_item *items, size_t n,
                             uint32_t create_flags, lmm_list **ret) {
        char block[LMM_NAME_MAX + 1];
        lmm_segment *s = NULL;
        uint64_t size;
        void *addr;
        int r;

        r = client_enter(c); /* no stale manager message; -ECHILD in a forked child */
        if (r < 0)
                return r;
        if (!ret)
                return -EINVAL;
        r = list_layout_size(items, n, &size);
        if (r < 0)
                return r;
        r = lmm_segment_create(
                c, &(lmm_segment_opts){ .size = size, .name = name, .flags = create_flags }, &s);
        if (r < 0)
                return r;
        /* The name, for the release below: s may be gone by then. */
        snprintf(block, sizeof(block), "%s",
                 lmm_segment_get_name(s) ? lmm_segment_get_name(s) : "");
        r = lmm_segment_map(s, 0, &addr);
        if (r == 0)
                r = list_layout_init(addr, lmm_segment_get_size(s), items, n);
        else if (r > 0)
                r = -EROFS;
        if (r < 0)
                lmm_segment_unref(s);
        else
                r = lmm_list_from_segment(s, ret); /* consumes s */
        if (r < 0 && block[0])
                /* Leave no named block without a list behind in the manager. */
                (void) lmm_block_release(c, block);
        return r;
}

_public_ int lmm_list_open(lmm_client *c, const char *name, uint32_t flags, lmm_list **ret) {
        lmm_segment *s = NULL;
        int r;

        r = client_enter(c); /* as in lmm_list_create() */
        if (r < 0)
                return r;
        if (!ret || (flags & ~(uint32_t) LMM_OPEN_RDONLY))
                return -EINVAL;
        r = lmm_segment_open(c, name, flags, &s);
        if (r < 0)
                return r;
        if (flags & LMM_OPEN_RDONLY) {
                r = lmm_segment_map(s, LMM_MAP_RDONLY, NULL);
                if (r < 0) {
                        lmm_segment_unref(s);
                        return r;
                }
        }
        return lmm_list_from_segment(s, ret);
}

_public_ lmm_list *lmm_list_unref(lmm_list *l) {
        if (!l)
                return NULL;
        lmm_segment_unref(l->segment);
        free(l);
        return NULL;
}

_public_ size_t lmm_list_len(const lmm_list *l) {
        return l ? (size_t) l->layout.count : 0;
}

_public_ int lmm_list_get(lmm_list *l, size_t i, lmm_item *ret, void *buf, size_t bufsize) {
        if (!l)
                return -EINVAL;
        return list_layout_get(&l->layout, i, ret, buf, bufsize);
}

_public_ int lmm_list_set(lmm_list *l, size_t i, const lmm_item *v) {
        if (!l || !v)
                return -EINVAL;
        if (!l->writable)
                return -EROFS;
        return list_layout_set(&l->layout, i, v);
}

_public_ int lmm_list_count(lmm_list *l, const lmm_item *v) {
        if (!l)
                return -EINVAL;
        return list_layout_count(&l->layout, v);
}

_public_ int lmm_list_index(lmm_list *l, const lmm_item *v, size_t *ret) {
        uint64_t i;
        int r;

        if (!l || !ret)
                return -EINVAL;
        r = list_layout_index(&l->layout, v, &i);
        if (r < 0)
                return r;
        *ret = (size_t) i;
        return 0;
}

_public_ const char *lmm_list_get_name(const lmm_list *l) {
        return l ? lmm_segment_get_name(l->segment) : NULL;
}

_public_ lmm_segment *lmm_list_get_segment(const lmm_list *l) {
        return l ? l->segment : NULL;
}

_public_ bool lmm_list_is_writable(const lmm_list *l) {
        return l && l->writable;
}
