/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wire — encode and decode protocol messages. See wire.h and docs/protocol.md.
 *
 * All integers are little-endian. A message is a 12-byte header
 * (u16 version, u16 type, u32 serial, u32 body length) and a body whose layout
 * the type fixes. Strings are a u16 length and that many bytes, no NUL.
 */

#include <endian.h>
#include <string.h>

#include "util.h"
#include "wire.h"

typedef struct writer {
        uint8_t *p;
        size_t size, len;
        bool overflow;
} writer;

static void put(writer *w, const void *data, size_t n) {
        if (w->overflow || n > w->size - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->p + w->len, data, n);
        w->len += n;
}
static void put_u16(writer *w, uint16_t v) {
        v = htole16(v);
        put(w, &v, sizeof(v));
}
static void put_u32(writer *w, uint32_t v) {
        v = htole32(v);
        put(w, &v, sizeof(v));
}
static void put_u64(writer *w, uint64_t v) {
        v = htole64(v);
        put(w, &v, sizeof(v));
}
static void put_str(writer *w, const char *s) {
        size_t n = strlen(s);
        put_u16(w, (uint16_t) n);
        put(w, s, n);
}

typedef struct reader {
        const uint8_t *p;
        size_t len, off;
        bool bad;
        bool bad_name; /* a request's name is not valid (data, not framing) */
} reader;

static const void *get(reader *r, size_t n) {
        const void *q;

        if (r->bad || n > r->len - r->off) {
                r->bad = true;
                return NULL;
        }
        q = r->p + r->off;
        r->off += n;
        return q;
}
static uint16_t get_u16(reader *r) {
        uint16_t v = 0;
        const void *q = get(r, sizeof(v));
        if (q)
                memcpy(&v, q, sizeof(v));
        return le16toh(v);
}
static uint32_t get_u32(reader *r) {
        uint32_t v = 0;
        const void *q = get(r, sizeof(v));
        if (q)
                memcpy(&v, q, sizeof(v));
        return le32toh(v);
}
static uint64_t get_u64(reader *r) {
        uint64_t v = 0;
        const void *q = get(r, sizeof(v));
        if (q)
                memcpy(&v, q, sizeof(v));
        return le64toh(v);
}

/* How a name field may look. */
typedef enum name_kind {
        NAME_BARE,          /* a block's own name */
        NAME_BARE_OR_EMPTY, /* CREATE, ADOPT: empty asks the manager for one */
        NAME_QUALIFIED,     /* OPEN, STAT, FREEZE, RELEASE: NAME or UID/NAME */
} name_kind;

static bool name_ok_n(const char *name, size_t n, name_kind kind) {
        uint32_t uid;
        size_t offset;

        if (n == 0)
                return kind == NAME_BARE_OR_EMPTY;
        if (kind == NAME_QUALIFIED)
                return name_split(name, n, &uid, &offset) >= 0;
        return name_is_valid(name, n);
}

/*
 * A name field. Its length is framing: one past LMM_NAME_MAX or past the
 * body makes the message malformed. Its bytes are data: in a request
 * (@lenient) a name that is not valid is reported in r->bad_name, so that
 * the manager can answer EINVAL and keep the connection; anywhere else it
 * makes the message malformed.
 */
static void get_name(reader *r, char out[static LMM_NAME_MAX + 1], name_kind kind, bool lenient) {
        uint16_t n = get_u16(r);
        const char *q;

        out[0] = 0;
        if (n > LMM_NAME_MAX) {
                r->bad = true;
                return;
        }
        q = n ? get(r, n) : "";
        if (!q)
                return;
        if (!name_ok_n(q, n, kind)) {
                if (lenient)
                        r->bad_name = true;
                else
                        r->bad = true;
                return;
        }
        memcpy(out, q, n);
        out[n] = 0;
}

static void get_text(reader *r, char out[static WIRE_ERROR_TEXT_MAX + 1]) {
        uint16_t n = get_u16(r);
        const char *q;

        out[0] = 0;
        if (n > WIRE_ERROR_TEXT_MAX) {
                r->bad = true;
                return;
        }
        q = get(r, n);
        if (!q)
                return;
        if (memchr(q, 0, n) || memchr(q, '\n', n)) {
                r->bad = true;
                return;
        }
        memcpy(out, q, n);
        out[n] = 0;
}

static void put_block(writer *w, const wire_block *b) {
        put_u64(w, b->id);
        put_u64(w, b->size);
        put_u32(w, b->seals);
        put_u32(w, b->flags);
        put_u32(w, b->uid);
        put_u32(w, (uint32_t) b->pid);
        put_u64(w, b->dev);
        put_u64(w, b->ino);
        put_str(w, b->name);
}

static void get_block(reader *r, wire_block *b) {
        b->id = get_u64(r);
        b->size = get_u64(r);
        b->seals = get_u32(r);
        b->flags = get_u32(r);
        b->uid = get_u32(r);
        b->pid = (int32_t) get_u32(r);
        b->dev = get_u64(r);
        b->ino = get_u64(r);
        get_name(r, b->name, NAME_BARE, false);
}

static bool type_is_valid(uint16_t t) {
        if (t == WIRE_ERROR)
                return true;
        t &= (uint16_t) ~WIRE_REPLY;
        return t >= WIRE_CREATE && t < _WIRE_REQUEST_MAX;
}

unsigned wire_fds_expected(uint16_t type) {
        switch (type) {
        case WIRE_ADOPT:
        case WIRE_REPLY | WIRE_CREATE:
        case WIRE_REPLY | WIRE_OPEN:
        case WIRE_REPLY | WIRE_ADOPT:
                return 1;
        default:
                return 0;
        }
}

const char *wire_type_name(uint16_t type) {
        static const char *const names[] = {
                [WIRE_CREATE] = "CREATE",     [WIRE_OPEN] = "OPEN",   [WIRE_RELEASE] = "RELEASE",
                [WIRE_FREEZE] = "FREEZE",     [WIRE_STAT] = "STAT",   [WIRE_LIST] = "LIST",
                [WIRE_SHUTDOWN] = "SHUTDOWN", [WIRE_ADOPT] = "ADOPT", [WIRE_REEXEC] = "REEXEC",
        };

        if (type == WIRE_ERROR)
                return "ERROR";
        if (!type_is_valid(type))
                return "UNKNOWN";
        if (type & WIRE_REPLY)
                return "REPLY";
        return names[type];
}

static bool name_ok(const char *name, name_kind kind) {
        size_t n = strnlen(name, LMM_NAME_MAX + 1);
        return n <= LMM_NAME_MAX && name_ok_n(name, n, kind);
}

int wire_encode(const wire_msg *m, uint8_t *buf, size_t size, size_t *ret_len) {
        writer w = { .p = buf, .size = MIN(size, (size_t) WIRE_MESSAGE_MAX) };
        uint32_t body;

        if (!type_is_valid(m->type))
                return -EINVAL;

        put_u16(&w, WIRE_VERSION);
        put_u16(&w, m->type);
        put_u32(&w, m->serial);
        put_u32(&w, 0); /* body length, patched below */

        switch (m->type) {
        case WIRE_CREATE:
                if (!name_ok(m->name, NAME_BARE_OR_EMPTY))
                        return -EINVAL;
                put_u64(&w, m->size);
                put_u32(&w, m->flags);
                put_str(&w, m->name);
                break;
        case WIRE_OPEN:
        case WIRE_ADOPT:
                if (!name_ok(m->name, m->type == WIRE_ADOPT ? NAME_BARE_OR_EMPTY : NAME_QUALIFIED))
                        return -EINVAL;
                put_u32(&w, m->flags);
                put_str(&w, m->name);
                break;
        case WIRE_RELEASE:
        case WIRE_FREEZE:
        case WIRE_STAT:
                if (!name_ok(m->name, NAME_QUALIFIED))
                        return -EINVAL;
                put_str(&w, m->name);
                break;
        case WIRE_LIST:
                put_u64(&w, m->cursor);
                break;
        case WIRE_SHUTDOWN:
        case WIRE_REEXEC:
        case WIRE_REPLY | WIRE_RELEASE:
        case WIRE_REPLY | WIRE_FREEZE:
        case WIRE_REPLY | WIRE_SHUTDOWN:
        case WIRE_REPLY | WIRE_REEXEC:
                break;
        case WIRE_REPLY | WIRE_CREATE:
        case WIRE_REPLY | WIRE_OPEN:
        case WIRE_REPLY | WIRE_ADOPT:
        case WIRE_REPLY | WIRE_STAT:
                if (!name_ok(m->block.name, NAME_BARE))
                        return -EINVAL;
                put_block(&w, &m->block);
                break;
        case WIRE_REPLY | WIRE_LIST:
                if (m->n_blocks > WIRE_LIST_MAX)
                        return -EINVAL;
                put_u64(&w, m->next_cursor);
                put_u16(&w, (uint16_t) m->n_blocks);
                for (size_t i = 0; i < m->n_blocks; i++) {
                        if (!name_ok(m->blocks[i].name, NAME_BARE))
                                return -EINVAL;
                        put_block(&w, &m->blocks[i]);
                }
                break;
        case WIRE_ERROR: {
                size_t n = strnlen(m->text, WIRE_ERROR_TEXT_MAX + 1);
                if (m->error <= 0 || m->error > 4095 || n > WIRE_ERROR_TEXT_MAX ||
                    memchr(m->text, '\n', n))
                        return -EINVAL;
                put_u32(&w, (uint32_t) m->error);
                put_u16(&w, (uint16_t) n);
                put(&w, m->text, n);
                break;
        }
        default:
                return -EINVAL;
        }

        if (w.overflow)
                return -ENOBUFS;
        body = htole32((uint32_t) (w.len - WIRE_HEADER_SIZE));
        memcpy(buf + 8, &body, sizeof(uint32_t));
        *ret_len = w.len;
        return 0;
}

int wire_decode(const uint8_t *buf, size_t len, wire_msg *ret) {
        reader r = { .p = buf, .len = len };
        wire_msg m = {};
        uint16_t version;
        uint32_t body;

        if (len < WIRE_HEADER_SIZE || len > WIRE_MESSAGE_MAX)
                return -EBADMSG;

        version = get_u16(&r);
        m.type = get_u16(&r);
        m.serial = get_u32(&r);
        body = get_u32(&r);
        if (version != WIRE_VERSION)
                return -EPROTONOSUPPORT;
        if (body != len - WIRE_HEADER_SIZE || !type_is_valid(m.type))
                return -EBADMSG;

        switch (m.type) {
        case WIRE_CREATE:
                m.size = get_u64(&r);
                m.flags = get_u32(&r);
                get_name(&r, m.name, NAME_BARE_OR_EMPTY, true);
                break;
        case WIRE_OPEN:
        case WIRE_ADOPT:
                m.flags = get_u32(&r);
                get_name(&r, m.name, m.type == WIRE_ADOPT ? NAME_BARE_OR_EMPTY : NAME_QUALIFIED,
                         true);
                break;
        case WIRE_RELEASE:
        case WIRE_FREEZE:
        case WIRE_STAT:
                get_name(&r, m.name, NAME_QUALIFIED, true);
                break;
        case WIRE_LIST:
                m.cursor = get_u64(&r);
                break;
        case WIRE_SHUTDOWN:
        case WIRE_REEXEC:
        case WIRE_REPLY | WIRE_RELEASE:
        case WIRE_REPLY | WIRE_FREEZE:
        case WIRE_REPLY | WIRE_SHUTDOWN:
        case WIRE_REPLY | WIRE_REEXEC:
                break;
        case WIRE_REPLY | WIRE_CREATE:
        case WIRE_REPLY | WIRE_OPEN:
        case WIRE_REPLY | WIRE_ADOPT:
        case WIRE_REPLY | WIRE_STAT:
                get_block(&r, &m.block);
                break;
        case WIRE_REPLY | WIRE_LIST: {
                uint16_t n;

                m.next_cursor = get_u64(&r);
                n = get_u16(&r);
                /* Each record takes at least 51 bytes: a count the body cannot
                 * hold is refused before anything is allocated for it. */
                if (r.bad || n > WIRE_LIST_MAX || (size_t) n * 51 > len - r.off)
                        return -EBADMSG;
                if (n > 0) {
                        m.blocks = calloc(n, sizeof(wire_block));
                        if (!m.blocks)
                                return -ENOMEM;
                }
                m.n_blocks = n;
                for (size_t i = 0; i < n && !r.bad; i++)
                        get_block(&r, &m.blocks[i]);
                break;
        }
        case WIRE_ERROR:
                m.error = (int32_t) get_u32(&r);
                get_text(&r, m.text);
                if (m.error <= 0 || m.error > 4095)
                        r.bad = true;
                break;
        default:
                r.bad = true;
        }

        if (r.bad || r.off != len) {
                wire_msg_done(&m);
                return -EBADMSG;
        }
        m.name_invalid = r.bad_name;
        *ret = m;
        return 0;
}

void wire_msg_done(wire_msg *m) {
        free(m->blocks);
        m->blocks = NULL;
        m->n_blocks = 0;
}
