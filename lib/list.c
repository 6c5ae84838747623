/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list — the shareable list: a fixed-length list of typed items in a block.
 *
 * Two layers in this file, one way:
 *   - the layout (list_layout_*()), pure: it works on a (base, size) region,
 *     does no I/O and trusts nothing in the region. Every offset and length
 *     is checked against the region's size at open, and every descriptor
 *     field is read once, into a local, and checked again on every access,
 *     because another process can scribble on the block at any time. A
 *     corrupt block yields -EBADMSG, never an access outside the region.
 *   - the public lmm_list_*() API, which maps a segment and hands the
 *     mapping to the layout.
 *
 * Concurrency: each item carries a sequence counter (a seqlock). A writer
 * takes the item by compare-and-swap from an even value to the next odd one,
 * so two writers, in any processes, exclude each other; it writes, then
 * stores the next even value. A reader copies the item between two loads of
 * the counter and retries when they differ or are odd. Nobody blocks in the
 * kernel; a waiter gives up with -EBUSY after lock_timeout_nsec, so a writer
 * that died mid-write (or a hostile process) cannot hang anyone.
 * docs/shareable-list.md has the byte layout and the memory-order argument.
 */

#include <endian.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "list.h"
#include "lmm.h"
#include "segment.h"
#include "util.h"

/* The counters are native atomics: the little-endian layout is the native one. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the list layout assumes a little-endian host");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics are needed across processes");
_Static_assert(sizeof(double) == 8, "doubles are IEEE 754 binary64");
_Static_assert(LIST_DESC_SIZE % 8 == 0 && LIST_HEADER_SIZE % 8 == 0,
               "8-byte alignment of every field");

/* ---------------------------------------------------------------- layout */

static inline _Atomic uint64_t *a64(const uint8_t *p) {
        return (_Atomic uint64_t *) (uintptr_t) p;
}
static inline _Atomic uint32_t *a32(const uint8_t *p) {
        return (_Atomic uint32_t *) (uintptr_t) p;
}
static inline uint64_t load64(const uint8_t *p) {
        return atomic_load_explicit(a64(p), memory_order_relaxed);
}
static inline uint32_t load32(const uint8_t *p) {
        return atomic_load_explicit(a32(p), memory_order_relaxed);
}
static inline void store64(uint8_t *p, uint64_t v) {
        atomic_store_explicit(a64(p), v, memory_order_relaxed);
}
static inline void store32(uint8_t *p, uint32_t v) {
        atomic_store_explicit(a32(p), v, memory_order_relaxed);
}

static inline bool type_is_valid(uint32_t t) {
        return t <= LMM_ITEM_BYTES;
}
static inline bool type_has_buf(uint32_t t) {
        return t == LMM_ITEM_STR || t == LMM_ITEM_BYTES;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield" ::: "memory");
#endif
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/*
 * Waiting for an item: spin briefly (a write takes nanoseconds), then yield
 * the CPU (the writer may be preempted, and on a small VM it may need ours),
 * and give up after the timeout. The clock is only read once spinning failed.
 */
typedef struct backoff {
        unsigned n;
        uint64_t deadline;
} backoff;

static int backoff_wait(const list_layout *l, backoff *b) {
        b->n++;
        if (b->n < 128) {
                cpu_relax();
                return 0;
        }
        if (b->n % 16 == 0) {
                uint64_t now = now_nsec();

                if (b->deadline == 0)
                        b->deadline = now + l->lock_timeout_nsec;
                else if (now >= b->deadline)
                        return -EBUSY;
        }
        (void) sched_yield();
        return 0;
}

bool utf8_is_valid(const void *p, size_t len) {
        const uint8_t *s = p, *end = s + len;

        while (s < end) {
                uint8_t c = *s;
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        s++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f, min = 0x80;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f, min = 0x800;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07, min = 0x10000;
                else
                        return false;
                if ((size_t) (end - s) <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                s += n + 1;
        }
        return true;
}

/* A value as the caller gives it: checked, with its descriptor word. */
static int value_check(const lmm_item *v, uint64_t *ret_word) {
        uint64_t w = 0;

        if (!v || !type_is_valid((uint32_t) v->type))
                return -EINVAL;
        switch (v->type) {
        case LMM_ITEM_NONE:
                break;
        case LMM_ITEM_INT:
                w = (uint64_t) v->i;
                break;
        case LMM_ITEM_DOUBLE:
                memcpy(&w, &v->d, sizeof(w));
                break;
        case LMM_ITEM_BOOL:
                w = v->b ? 1 : 0;
                break;
        case LMM_ITEM_STR:
        case LMM_ITEM_BYTES:
                if (v->buf.len > LMM_LIST_ITEM_MAX)
                        return -ENOSPC;
                if (v->buf.len > 0 && !v->buf.data)
                        return -EINVAL;
                if (v->type == LMM_ITEM_STR && !utf8_is_valid(v->buf.data, v->buf.len))
                        return -EILSEQ;
                w = v->buf.len;
                break;
        }
        *ret_word = w;
        return 0;
}

/* The slot an item gets at create: see lmm_item.capacity. */
static int item_slot_size(const lmm_item *it, uint64_t *ret) {
        uint64_t w, cap;
        int r;

        r = value_check(it, &w);
        if (r == -ENOSPC)
                return -EINVAL;
        if (r < 0)
                return r;
        if (it->capacity > LMM_LIST_ITEM_MAX)
                return -EINVAL;
        cap = it->capacity;
        if (cap == 0)
                cap = type_has_buf(it->type) ? it->buf.len : 0;
        else if (type_has_buf(it->type) && cap < it->buf.len)
                return -EINVAL;
        cap = (cap + 7) & ~UINT64_C(7);
        *ret = MAX(cap, UINT64_C(8));
        return 0;
}

int list_layout_size(const lmm_item *items, size_t n, uint64_t *ret_size) {
        uint64_t total = LIST_HEADER_SIZE + (uint64_t) n * LIST_DESC_SIZE;

        if (n > LMM_LIST_LEN_MAX || (n > 0 && !items))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                uint64_t cap;
                int r = item_slot_size(&items[i], &cap);

                if (r < 0)
                        return r;
                /* n * LMM_LIST_ITEM_MAX < 2^50: no overflow */
                total += cap;
        }
        *ret_size = total;
        return 0;
}

int list_layout_init(void *base, uint64_t size, const lmm_item *items, size_t n) {
        uint8_t *b = base;
        uint64_t need, desc_end, off = 0;
        int r;

        if (!base || ((uintptr_t) base & 7))
                return -EINVAL;
        r = list_layout_size(items, n, &need);
        if (r < 0)
                return r;
        if (size < need)
                return -ENOSPC;
        desc_end = LIST_HEADER_SIZE + (uint64_t) n * LIST_DESC_SIZE;

        /* No magic until everything else is in place. */
        atomic_store_explicit(a64(b + LIST_HDR_MAGIC), 0, memory_order_relaxed);
        store32(b + LIST_HDR_VERSION, htole32(LIST_VERSION));
        store32(b + LIST_HDR_HEADER_SIZE, htole32(LIST_HEADER_SIZE));
        store64(b + LIST_HDR_COUNT, htole64(n));
        store32(b + LIST_HDR_DESC_SIZE, htole32(LIST_DESC_SIZE));
        store32(b + LIST_HDR_FLAGS, 0);
        store64(b + LIST_HDR_DESC_OFFSET, htole64(LIST_HEADER_SIZE));
        store64(b + LIST_HDR_DATA_OFFSET, htole64(desc_end));
        store64(b + LIST_HDR_DATA_SIZE, htole64(need - desc_end));
        store64(b + LIST_HDR_TOTAL_SIZE, htole64(need));

        for (size_t i = 0; i < n; i++) {
                uint8_t *d = b + LIST_HEADER_SIZE + i * LIST_DESC_SIZE;
                uint8_t *slot = b + desc_end + off;
                uint64_t cap = 0, w = 0;

                /* Both were checked by list_layout_size() already. */
                (void) item_slot_size(&items[i], &cap);
                (void) value_check(&items[i], &w);
                memset(slot, 0, cap);
                if (type_has_buf(items[i].type) && items[i].buf.len > 0)
                        memcpy(slot, items[i].buf.data, items[i].buf.len);
                store64(d + LIST_DESC_SEQ, 0);
                store32(d + LIST_DESC_TYPE, htole32((uint32_t) items[i].type));
                store32(d + LIST_DESC_RESERVED, 0);
                store64(d + LIST_DESC_VALUE, htole64(w));
                store64(d + LIST_DESC_SLOT_OFFSET, htole64(off));
                store64(d + LIST_DESC_SLOT_SIZE, htole64(cap));
                off += cap;
        }

        /* Publish: whoever sees the magic sees the rest. */
        atomic_store_explicit(a64(b + LIST_HDR_MAGIC), htole64(LIST_MAGIC), memory_order_release);
        return 0;
}

static inline uint8_t *desc_at(const list_layout *l, uint64_t i) {
        return l->base + l->desc_offset + i * LIST_DESC_SIZE;
}

/* The slot of descriptor @d, checked against the slot area. */
static int desc_slot(const list_layout *l, const uint8_t *d, uint8_t **ret_slot,
                     uint64_t *ret_cap) {
        uint64_t off = le64toh(load64(d + LIST_DESC_SLOT_OFFSET));
        uint64_t cap = le64toh(load64(d + LIST_DESC_SLOT_SIZE));

        if (off > l->data_size || cap > l->data_size - off || cap > LMM_LIST_ITEM_MAX)
                return -EBADMSG;
        *ret_slot = l->base + l->data_offset + off;
        *ret_cap = cap;
        return 0;
}

typedef enum read_mode {
        READ_CHECK,   /* only check type and value */
        READ_COPY,    /* copy STR/BYTES into the caller's buffer */
        READ_COMPARE, /* compare with a value */
} read_mode;

typedef struct item_read {
        uint32_t type;
        uint64_t word;
        uint64_t cap;
        bool too_small; /* READ_COPY: buffer too small */
        bool equal;     /* READ_COMPARE */
} item_read;

static bool scalar_equal(uint32_t type, uint64_t word, const lmm_item *v) {
        double d;

        if ((uint32_t) v->type != type)
                return false;
        switch (type) {
        case LMM_ITEM_NONE:
                return true;
        case LMM_ITEM_INT:
                return (int64_t) word == v->i;
        case LMM_ITEM_DOUBLE:
                memcpy(&d, &word, sizeof(d));
                return d == v->d;
        case LMM_ITEM_BOOL:
                return (word != 0) == v->b;
        default:
                return false;
        }
}

/*
 * One consistent read of item @i: the seqlock read side. Everything read
 * between the two loads of the counter is only trusted (and only checked
 * for corruption) once the counter is seen unchanged and even.
 */
static int item_read_at(const list_layout *l, uint64_t i, read_mode mode, void *buf, size_t bufsize,
                        const lmm_item *cmp, item_read *ret) {
        uint8_t *d = desc_at(l, i), *slot;
        _Atomic uint64_t *seq = a64(d + LIST_DESC_SEQ);
        backoff bo = {};
        uint64_t cap;
        int r;

        r = desc_slot(l, d, &slot, &cap);
        if (r < 0)
                return r;

        for (;;) {
                uint64_t s1, s2, word;
                uint32_t type;
                bool bad = false, too_small = false, equal = false;

                s1 = atomic_load_explicit(seq, memory_order_acquire);
                /* At open, an item being written is checked on access instead:
                 * open never waits. */
                if ((s1 & 1) && mode == READ_CHECK)
                        return 0;
                if (s1 & 1) {
                        r = backoff_wait(l, &bo);
                        if (r < 0)
                                return r;
                        continue;
                }
                type = le32toh(load32(d + LIST_DESC_TYPE));
                word = le64toh(load64(d + LIST_DESC_VALUE));
                if (!type_is_valid(type))
                        bad = true;
                else if (type_has_buf(type)) {
                        if (word > cap)
                                bad = true;
                        else if (mode == READ_COMPARE)
                                equal = (uint32_t) cmp->type == type && cmp->buf.len == word &&
                                        (word == 0 || memcmp(slot, cmp->buf.data, word) == 0);
                        else if (mode == READ_COPY && word > bufsize)
                                too_small = true;
                        else if (mode == READ_COPY && word > 0)
                                memcpy(buf, slot, word);
                } else if (type == LMM_ITEM_BOOL && word > 1)
                        bad = true;
                else if (mode == READ_COMPARE)
                        equal = scalar_equal(type, word, cmp);

                /* Order the reads above before the re-check. */
                atomic_thread_fence(memory_order_acquire);
                s2 = atomic_load_explicit(seq, memory_order_relaxed);
                if (s1 != s2) {
                        r = backoff_wait(l, &bo);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (bad)
                        return -EBADMSG;
                *ret = (item_read){ .type = type,
                                    .word = word,
                                    .cap = cap,
                                    .too_small = too_small,
                                    .equal = equal };
                return 0;
        }
}

int list_layout_open(void *base, uint64_t size, list_layout *ret) {
        const uint8_t *b = base;
        list_layout l = { .base = base, .size = size, .lock_timeout_nsec = LIST_LOCK_TIMEOUT_NSEC };
        uint64_t total, prev_end = 0;

        if (!base || ((uintptr_t) base & 7) || !ret)
                return -EINVAL;
        if (size < LIST_HEADER_SIZE)
                return -EBADMSG;
        if (le64toh(atomic_load_explicit(a64(b + LIST_HDR_MAGIC), memory_order_acquire)) !=
            LIST_MAGIC)
                return -EBADMSG;
        if (le32toh(load32(b + LIST_HDR_VERSION)) != LIST_VERSION ||
            le32toh(load32(b + LIST_HDR_HEADER_SIZE)) != LIST_HEADER_SIZE ||
            le32toh(load32(b + LIST_HDR_DESC_SIZE)) != LIST_DESC_SIZE ||
            load32(b + LIST_HDR_FLAGS) != 0)
                return -EBADMSG;

        /* Copy the header once; later scribbles on it are never read. */
        l.count = le64toh(load64(b + LIST_HDR_COUNT));
        l.desc_offset = le64toh(load64(b + LIST_HDR_DESC_OFFSET));
        l.data_offset = le64toh(load64(b + LIST_HDR_DATA_OFFSET));
        l.data_size = le64toh(load64(b + LIST_HDR_DATA_SIZE));
        total = le64toh(load64(b + LIST_HDR_TOTAL_SIZE));

        if (l.count > LMM_LIST_LEN_MAX)
                return -EBADMSG;
        if (l.desc_offset < LIST_HEADER_SIZE || (l.desc_offset & 7) || l.desc_offset > size ||
            l.count * LIST_DESC_SIZE > size - l.desc_offset) /* count < 2^26: no overflow */
                return -EBADMSG;
        if (l.data_offset < l.desc_offset + l.count * LIST_DESC_SIZE || (l.data_offset & 7) ||
            l.data_offset > size || l.data_size > size - l.data_offset ||
            total != l.data_offset + l.data_size)
                return -EBADMSG;

        /* Slots lie in the slot area, in order, without overlap; values fit them. */
        for (uint64_t i = 0; i < l.count; i++) {
                const uint8_t *d = desc_at(&l, i);
                item_read it = {};
                uint8_t *slot;
                uint64_t off, cap;
                int r;

                r = desc_slot(&l, d, &slot, &cap);
                if (r < 0)
                        return r;
                /* The offset desc_slot() checked, not a second read of it:
                 * another process may be changing the block under us. */
                off = (uint64_t) (slot - (l.base + l.data_offset));
                if ((off & 7) || (cap & 7) || off < prev_end || load32(d + LIST_DESC_RESERVED) != 0)
                        return -EBADMSG;
                prev_end = off + cap;
                r = item_read_at(&l, i, READ_CHECK, NULL, 0, NULL, &it);
                if (r < 0)
                        return r;
        }

        *ret = l;
        return 0;
}

int list_layout_get(const list_layout *l, uint64_t i, lmm_item *ret, void *buf, size_t bufsize) {
        item_read it;
        int r;

        if (!l || !ret || (bufsize > 0 && !buf))
                return -EINVAL;
        if (i >= l->count)
                return -ERANGE;
        r = item_read_at(l, i, READ_COPY, buf, bufsize, NULL, &it);
        if (r < 0)
                return r;

        lmm_item v = { .type = (lmm_item_type) it.type, .capacity = (size_t) it.cap };
        switch (it.type) {
        case LMM_ITEM_INT:
                v.i = (int64_t) it.word;
                break;
        case LMM_ITEM_DOUBLE:
                memcpy(&v.d, &it.word, sizeof(v.d));
                break;
        case LMM_ITEM_BOOL:
                v.b = it.word != 0;
                break;
        case LMM_ITEM_STR:
        case LMM_ITEM_BYTES:
                v.buf.len = (size_t) it.word;
                if (it.too_small) {
                        *ret = v; /* documented: the size needed */
                        return -ENOBUFS;
                }
                /* Checked on our private copy: no other process can change it now. */
                if (it.type == LMM_ITEM_STR && !utf8_is_valid(buf, v.buf.len))
                        return -EBADMSG;
                v.buf.data = buf;
                if (bufsize > v.buf.len)
                        ((uint8_t *) buf)[v.buf.len] = 0;
                break;
        default:
                break;
        }
        *ret = v;
        return 0;
}

/*
 * The seqlock write side. The CAS makes the counter odd (taking the item
 * from any other writer) and, with acquire order, makes the previous
 * writer's stores visible to us; the release fence keeps our stores to the
 * item after the odd counter; the final release store publishes them with
 * the next even value.
 */
int list_layout_set(const list_layout *l, uint64_t i, const lmm_item *v) {
        uint8_t *d, *slot;
        _Atomic uint64_t *seq;
        backoff bo = {};
        uint64_t cap, word, s;
        int r;

        if (!l)
                return -EINVAL;
        r = value_check(v, &word);
        if (r < 0)
                return r;
        if (i >= l->count)
                return -ERANGE;
        d = desc_at(l, i);
        r = desc_slot(l, d, &slot, &cap);
        if (r < 0)
                return r;
        if (type_has_buf(v->type) && v->buf.len > cap)
                return -ENOSPC;

        seq = a64(d + LIST_DESC_SEQ);
        s = atomic_load_explicit(seq, memory_order_relaxed);
        for (;;) {
                if (!(s & 1) && atomic_compare_exchange_weak_explicit(
                                        seq, &s, s + 1, memory_order_acquire, memory_order_relaxed))
                        break;
                r = backoff_wait(l, &bo);
                if (r < 0)
                        return r;
                s = atomic_load_explicit(seq, memory_order_relaxed);
        }
        atomic_thread_fence(memory_order_release);

        if (type_has_buf(v->type) && v->buf.len > 0)
                memmove(slot, v->buf.data, v->buf.len);
        store32(d + LIST_DESC_TYPE, htole32((uint32_t) v->type));
        store64(d + LIST_DESC_VALUE, htole64(word));

        atomic_store_explicit(seq, s + 2, memory_order_release);
        return 0;
}

/* scan() - compare every item with @v, in order. With @ret_index, stop at the
 * first equal one. Return: the number of equal items, or -errno. */
static int scan(const list_layout *l, const lmm_item *v, uint64_t *ret_index) {
        uint64_t word;
        int n = 0, r;

        r = value_check(v, &word);
        if (r < 0)
                return r;
        for (uint64_t i = 0; i < l->count; i++) {
                item_read it;

                r = item_read_at(l, i, READ_COMPARE, NULL, 0, v, &it);
                if (r < 0)
                        return r;
                if (it.equal && ret_index) {
                        *ret_index = i;
                        return 1;
                }
                n += it.equal;
        }
        return n;
}

int list_layout_count(const list_layout *l, const lmm_item *v) {
        if (!l)
                return -EINVAL;
        return scan(l, v, NULL);
}

int list_layout_index(const list_layout *l, const lmm_item *v, uint64_t *ret) {
        int r;

        if (!l || !ret)
                return -EINVAL;
        r = scan(l, v, ret);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

/* ---------------------------------------------------------------- public API */

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
