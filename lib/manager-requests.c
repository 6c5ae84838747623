/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager-requests — the handler table, the requests that act on an existing
 * block (OPEN, STAT, FREEZE, RELEASE), LIST and SHUTDOWN, and the one place
 * where handlers' outcomes become ERROR replies.
 *
 * A handler returns REQUEST_OK with req->reply (and req->reply_fd) filled, or
 * an outcome with the details its text needs. request_dispatch() checks the
 * request against the table (type, fds), runs the handler, disposes of every
 * fd the handler did not keep, and sends the reply or the error.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "manager-requests.h"
#include "manager-state.h"
#include "missing.h"
#include "util.h"

static request_error request_open(lmm_manager *m, peer *p, request *req);
static request_error request_stat(lmm_manager *m, peer *p, request *req);
static request_error request_freeze(lmm_manager *m, peer *p, request *req);
static request_error request_release(lmm_manager *m, peer *p, request *req);
static request_error request_list(lmm_manager *m, peer *p, request *req);
static request_error request_shutdown(lmm_manager *m, peer *p, request *req);
static request_error request_reexec(lmm_manager *m, peer *p, request *req);

static const struct {
        request_handler handler;
        unsigned n_fds;
        /* It may close a block's fd, which a reply queued earlier in the
         * turn may borrow: those go out first (peer_send_queued()). */
        bool closes_blocks;
} handlers[_WIRE_REQUEST_MAX] = {
        [WIRE_CREATE] = { request_create, 0 }, [WIRE_ADOPT] = { request_adopt, 1 },
        [WIRE_OPEN] = { request_open, 0 },     [WIRE_STAT] = { request_stat, 0 },
        [WIRE_FREEZE] = { request_freeze, 0 }, [WIRE_RELEASE] = { request_release, 0, true },
        [WIRE_LIST] = { request_list, 0 },     [WIRE_SHUTDOWN] = { request_shutdown, 0 },
        [WIRE_REEXEC] = { request_reexec, 0 },
};

void block_to_wire(const registry_block *b, wire_block *w) {
        int seals = fd_get_seals(b->fd);

        block_to_wire_seals(b, seals < 0 ? 0 : (uint32_t) seals, w);
}

void block_to_wire_seals(const registry_block *b, uint32_t seals, wire_block *w) {
        *w = (wire_block){
                .id = b->id,
                .size = b->size,
                .seals = seals,
                .flags = b->flags,
                .uid = b->uid,
                .pid = b->pid,
                .dev = b->dev,
                .ino = b->ino,
        };
        strcpy(w->name, registry_block_name(b));
}

request_error request_fail(request *req, int negative_errno, const char *what) {
        if (negative_errno == -ENOMEM)
                return REQUEST_E_NO_MEMORY;
        req->error = -negative_errno;
        req->what = what;
        return REQUEST_E_SYSTEM;
}

/*
 * find_block() - the block a request names: UID/NAME is that uid's; a bare
 * NAME is the peer's own, else the manager's uid's. Never another user's by
 * a bare name, so that nobody can put a block where another user looks.
 */
static registry_block *find_block(lmm_manager *m, peer *p, const char *name) {
        registry_block *b;
        uint32_t uid;
        size_t offset;

        if (name_split(name, strlen(name), &uid, &offset) == 1)
                return registry_find(&m->reg, (uid_t) uid, name + offset);
        b = registry_find(&m->reg, p->creds.uid, name);
        if (!b && p->creds.uid != m->policy.manager_uid)
                b = registry_find(&m->reg, m->policy.manager_uid, name);
        return b;
}

/* lookup() - the block the request names, checked against the policy for @op. */
static request_error lookup(lmm_manager *m, peer *p, request *req, policy_op op,
                            registry_block **ret) {
        registry_block *b = find_block(m, p, req->q.name);

        req->name = req->q.name;
        if (!b)
                return REQUEST_E_NO_SUCH_BLOCK;
        req->verdict = policy_check(&m->policy, &p->creds, op, b);
        if (req->verdict == POLICY_DENY_HIDDEN)
                return REQUEST_E_NO_SUCH_BLOCK; /* not even its existence is shared */
        if (req->verdict != POLICY_ALLOW) {
                req->owner = b->uid;
                return REQUEST_E_DENIED;
        }
        *ret = b;
        return REQUEST_OK;
}

static request_error request_open(lmm_manager *m, peer *p, request *req) {
        registry_block *b;
        request_error e;
        int r;

        if (req->q.flags & ~(uint32_t) LMM_OPEN_RDONLY)
                return REQUEST_E_FLAGS;
        e = lookup(m, p, req, req->q.flags & LMM_OPEN_RDONLY ? POLICY_OPEN_READ : POLICY_OPEN_WRITE,
                   &b);
        if (e != REQUEST_OK)
                return e;
        r = fd_reopen(b->fd, req->q.flags & LMM_OPEN_RDONLY ? O_RDONLY : O_RDWR, &req->reply_fd);
        if (r < 0)
                return request_fail(req, r, NULL);
        block_to_wire(b, &req->reply.block);
        return REQUEST_OK;
}

static request_error request_stat(lmm_manager *m, peer *p, request *req) {
        registry_block *b;
        request_error e;

        e = lookup(m, p, req, POLICY_STAT, &b);
        if (e != REQUEST_OK)
                return e;
        block_to_wire(b, &req->reply.block);
        return REQUEST_OK;
}

static request_error request_freeze(lmm_manager *m, peer *p, request *req) {
        registry_block *b;
        request_error e;
        int r;

        e = lookup(m, p, req, POLICY_FREEZE, &b);
        if (e != REQUEST_OK)
                return e;
        r = fd_add_seals(b->fd, F_SEAL_FUTURE_WRITE);
        if (r < 0)
                return request_fail(req, r, NULL);
        if (b->flags & LMM_BLOCK_FROZEN)
                return REQUEST_OK;
        b->flags |= LMM_BLOCK_FROZEN;
        /* Recorded before the reply, as the seal is; not frozen in the
         * manager's eyes until it is, so that asking again writes it. */
        r = manager_state_block_changed(m, b);
        if (r < 0) {
                b->flags &= ~(uint32_t) LMM_BLOCK_FROZEN;
                return request_fail(req, r, "cannot record it for a restart");
        }
        return REQUEST_OK;
}

static request_error request_release(lmm_manager *m, peer *p, request *req) {
        registry_block *b;
        request_error e;

        e = lookup(m, p, req, POLICY_RELEASE, &b);
        if (e != REQUEST_OK)
                return e;
        manager_log(m, LOG_DEBUG, "pid %d released block \"%s\"", (int) p->creds.pid,
                    registry_block_name(b));
        /* Out of the store and the state before the reply. */
        manager_state_block_removed(m, b);
        safe_close(registry_remove(&m->reg, b));
        return REQUEST_OK;
}

/*
 * A LIST page shows the blocks the peer may see, after the cursor. It looks
 * at no more than LIST_SCAN_MAX blocks, so that a peer who may see few of
 * many blocks costs a bounded amount per request: a page may then hold
 * fewer blocks than fit, even none, with a cursor to go on from. A page
 * that is not its turn's first reply is also cut to what the turn may
 * still send (peer_reply_room()).
 */
#define LIST_SCAN_MAX (4 * WIRE_LIST_MAX)

static request_error request_list(lmm_manager *m, peer *p, request *req) {
        wire_block *page = m->page;
        registry_block *b = registry_after(&m->reg, req->q.cursor);
        size_t room = peer_reply_room(p), max = WIRE_LIST_MAX;
        uint64_t last = 0;
        size_t n = 0;

        /* Later in a turn, a page as long as the turn may still send. */
        if (room < WIRE_MESSAGE_MAX)
                max = MAX(MIN(room / WIRE_BLOCK_MAX, (size_t) WIRE_LIST_MAX), (size_t) 1);
        for (size_t scanned = 0; b && n < max && scanned < LIST_SCAN_MAX;
             b = registry_next(b), scanned++) {
                last = b->id;
                if (policy_check(&m->policy, &p->creds, POLICY_STAT, b) == POLICY_ALLOW)
                        block_to_wire(b, &page[n++]);
        }
        req->reply.blocks = page;
        req->reply.n_blocks = n;
        req->reply.next_cursor = b ? last : 0;
        return REQUEST_OK;
}

static request_error request_shutdown(lmm_manager *m, peer *p, request *req) {
        req->verdict = policy_check(&m->policy, &p->creds, POLICY_SHUTDOWN, NULL);
        if (req->verdict != POLICY_ALLOW)
                return REQUEST_E_DENIED;
        manager_log(m, LOG_INFO, "pid %d asked for shutdown", (int) p->creds.pid);
        m->shutdown_requested = true;
        return REQUEST_OK;
}

static request_error request_reexec(lmm_manager *m, peer *p, request *req) {
        req->verdict = policy_check(&m->policy, &p->creds, POLICY_REEXEC, NULL);
        if (req->verdict != POLICY_ALLOW)
                return REQUEST_E_DENIED;
        if (!m->state)
                return REQUEST_E_NO_REEXEC;
        manager_log(m, LOG_INFO, "pid %d asked to re-execute", (int) p->creds.pid);
        /* The reply goes out first; the loop then stops and the host execs. */
        m->reexec_requested = true;
        return REQUEST_OK;
}

/* ------------------------------------------------------------ the error edge */

static const int error_errno[_REQUEST_ERROR_MAX] = {
        [REQUEST_E_NO_MEMORY] = ENOMEM,
        [REQUEST_E_FLAGS] = EINVAL,
        [REQUEST_E_SIZE_ZERO] = EINVAL,
        [REQUEST_E_SIZE_TOO_LARGE] = EFBIG,
        [REQUEST_E_NAME_IN_USE] = EEXIST,
        [REQUEST_E_NO_SUCH_BLOCK] = ENOENT,
        [REQUEST_E_NO_HUGE_PAGES] = EOPNOTSUPP,
        [REQUEST_E_HUGE_PAGES_SHORT] = ENOMEM,
        [REQUEST_E_QUOTA] = EDQUOT,
        [REQUEST_E_MANAGER_FULL] = EMFILE,
        [REQUEST_E_DENIED] = EPERM,
        [REQUEST_E_NOT_RDWR] = EPERM,
        [REQUEST_E_NOT_MEMFD] = EINVAL,
        [REQUEST_E_NOT_SEALABLE] = EINVAL,
        [REQUEST_E_EMPTY] = EINVAL,
        [REQUEST_E_ALIAS] = EEXIST,
        [REQUEST_E_SEAL_SEALED] = EPERM,
        [REQUEST_E_BAD_NAME] = EINVAL,
        [REQUEST_E_MODE] = EPERM,
        [REQUEST_E_CANNOT_SEAL] = EPERM,
        [REQUEST_E_NO_REEXEC] = EOPNOTSUPP,
        [REQUEST_E_RESTART_FULL] = EMFILE,
};

/*
 * textf() - append to an error reply's text. What does not fit is cut, back
 * to a UTF-8 character boundary: block names are raw bytes, but mostly
 * UTF-8, and a client should not have to mend a character cut in two.
 */
static void textf(wire_msg *ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(wire_msg *ret, const char *fmt, ...) {
        size_t len = strnlen(ret->text, sizeof(ret->text));
        va_list ap;
        int n;

        if (len >= sizeof(ret->text) - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(ret->text + len, sizeof(ret->text) - len, fmt, ap);
        va_end(ap);
        if (n > 0 && (size_t) n >= sizeof(ret->text) - len)
                utf8_trim_cut(ret->text);
}

/* What the failed request was doing, as the start of its error text. */
static void subject(const request *req, bool with_size, wire_msg *ret) {
        static const char *const verb[_WIRE_REQUEST_MAX] = {
                [WIRE_CREATE] = "create block",   [WIRE_ADOPT] = "adopt",
                [WIRE_OPEN] = "open block",       [WIRE_FREEZE] = "freeze block",
                [WIRE_RELEASE] = "release block", [WIRE_STAT] = "stat block",
        };
        const char *v = req->q.type < _WIRE_REQUEST_MAX ? verb[req->q.type] : NULL;
        char sz[32];

        if (!req->name)
                textf(ret, "cannot %s", v ?: "do that");
        else if (with_size)
                textf(ret, "cannot %s \"%s\" (%s)", v ?: "do that with", req->name,
                      format_bytes(req->size, sz, sizeof(sz)));
        else
                textf(ret, "cannot %s \"%s\"", v ?: "do that with", req->name);
}

/* error_reply() - the ERROR reply for outcome @e of @req: its errno and one line that says why. */
static void error_reply(const lmm_manager *m, const peer *p, const request *req, request_error e,
                        wire_msg *ret) {
        const user_limits *l = &m->users.limits;
        char a[32], b[32];

        *ret = (wire_msg){
                .type = WIRE_ERROR,
                .serial = req->q.serial,
                .error = e == REQUEST_E_SYSTEM ? req->error : error_errno[e],
        };
        switch (e) {
        case REQUEST_E_NO_MEMORY:
                textf(ret, "the manager is out of memory");
                return;
        case REQUEST_E_BAD_NAME:
                textf(ret,
                      "invalid block name: a name is 1 to %d bytes with no '/' and no control "
                      "characters; another user's block is UID/NAME",
                      LMM_NAME_MAX);
                return;
        case REQUEST_E_FLAGS:
                textf(ret, "unknown %s flags 0x%x",
                      req->q.type == WIRE_CREATE  ? "create"
                      : req->q.type == WIRE_ADOPT ? "adopt"
                                                  : "open",
                      req->q.flags);
                return;
        case REQUEST_E_NO_SUCH_BLOCK:
                textf(ret, "no block named \"%s\"", req->name);
                return;
        case REQUEST_E_DENIED:
                if (req->verdict == POLICY_DENY_NOT_OWNER) {
                        subject(req, false, ret);
                        textf(ret, ": it belongs to uid %u", (unsigned) req->owner);
                } else if (req->verdict == POLICY_DENY_READ_ONLY) {
                        ret->error = EACCES;
                        subject(req, false, ret);
                        textf(ret, " read-write: uid %u shares it read-only",
                              (unsigned) req->owner);
                } else
                        textf(ret,
                              req->q.type == WIRE_REEXEC ? "only uid %u may re-execute this manager"
                                                         : "only uid %u may shut this manager down",
                              (unsigned) m->policy.manager_uid);
                return;
        case REQUEST_E_NO_REEXEC:
                textf(ret, "this manager cannot re-execute itself: it keeps no restart state "
                           "(only lmmd does)");
                return;
        case REQUEST_E_QUOTA:
                if (req->quota == QUOTA_BLOCKS) {
                        subject(req, false, ret);
                        textf(ret, ": uid %u already has %u blocks, the per-user limit",
                              (unsigned) p->creds.uid, (unsigned) l->max_blocks);
                } else {
                        subject(req, true, ret);
                        textf(ret, ": exceeds per-user limit of %s",
                              format_bytes(l->max_bytes, b, sizeof(b)));
                }
                return;
        case REQUEST_E_HUGE_PAGES_SHORT:
                subject(req, true, ret);
                textf(ret,
                      " on huge pages: only %" PRIu64
                      " free huge pages of %s (see /proc/sys/vm/nr_hugepages)",
                      req->huge_free, format_bytes(req->huge_page_size, a, sizeof(a)));
                return;
        case REQUEST_E_SYSTEM:
                subject(req, req->q.type == WIRE_CREATE && !req->what, ret);
                if (req->what)
                        textf(ret, ": %s: %s", req->what, strerror(req->error));
                else
                        textf(ret, ": %s", strerror(req->error));
                return;
        case REQUEST_E_NOT_RDWR:
                if (req->error)
                        ret->error = req->error;
                textf(ret, "cannot adopt: the fd must be a read-write memfd (%s)", req->detail);
                return;
        default:
                break;
        }

        subject(req, false, ret);
        switch (e) {
        case REQUEST_E_SIZE_ZERO:
                textf(ret, ": size must be at least 1 byte");
                break;
        case REQUEST_E_SIZE_TOO_LARGE:
                textf(ret, ": size %" PRIu64 " is too large", req->size);
                break;
        case REQUEST_E_NAME_IN_USE:
                textf(ret, ": the name is in use");
                break;
        case REQUEST_E_NO_HUGE_PAGES:
                textf(ret, ": this system has no huge pages");
                break;
        case REQUEST_E_MANAGER_FULL:
                textf(ret, ": the manager holds %" PRIu64 " blocks, its limit (RLIMIT_NOFILE)",
                      m->reg.n_blocks);
                break;
        case REQUEST_E_RESTART_FULL:
                textf(ret,
                      ": the manager holds %" PRIu64 " blocks, as many as a restart can hand "
                      "back (their names fill LISTEN_FDNAMES)",
                      m->reg.n_blocks);
                break;
        case REQUEST_E_NOT_MEMFD:
                textf(ret, ": the fd is not a memfd");
                break;
        case REQUEST_E_NOT_SEALABLE:
                textf(ret, ": the memfd does not allow sealing");
                break;
        case REQUEST_E_EMPTY:
                textf(ret, ": the memfd is empty");
                break;
        case REQUEST_E_ALIAS:
                textf(ret, ": it is block \"%s\" already", req->other);
                break;
        case REQUEST_E_SEAL_SEALED:
                /* It could never be frozen nor sealed at shutdown. */
                textf(ret, ": it is sealed against new seals (F_SEAL_SEAL)");
                break;
        case REQUEST_E_MODE:
                textf(ret,
                      ": its mode %04o lets other users open it, and the manager may not "
                      "change it (fchmod it 0600 first)",
                      (unsigned) req->mode);
                break;
        case REQUEST_E_CANNOT_SEAL:
                textf(ret, ": cannot seal its size (%s)",
                      req->error == EPERM ? "it is sealed against new seals"
                                          : strerror(req->error));
                break;
        default:
                textf(ret, ": internal error %d", (int) e);
                ret->error = EIO;
        }
}

int request_dispatch(lmm_manager *m, peer *p, const uint8_t *data, size_t len, int *fds,
                     size_t n_fds) {
        request req = { .fds = fds, .n_fds = n_fds, .reply_fd = -EBADF, .reply_fd_kept = -EBADF };
        request_error e;
        int r;

        r = wire_decode(data, len, &req.q);
        if (r == -EPROTONOSUPPORT) {
                wire_msg v = { .type = WIRE_ERROR, .serial = 0, .error = EPROTONOSUPPORT };

                for (size_t i = 0; i < n_fds; i++)
                        manager_dispose_fd(fds[i], m);
                /* Answer in our version, so the peer learns which one we speak. */
                snprintf(v.text, sizeof(v.text), "this manager speaks protocol version %d",
                         WIRE_VERSION);
                (void) connection_send(&p->conn, &v, -EBADF);
                return r;
        }
        if (r < 0 || req.q.type >= _WIRE_REQUEST_MAX || !handlers[req.q.type].handler ||
            n_fds != handlers[req.q.type].n_fds) {
                for (size_t i = 0; i < n_fds; i++)
                        manager_dispose_fd(fds[i], m);
                if (r == 0) /* wire_decode() writes q only on success */
                        wire_msg_done(&req.q);
                return r < 0 ? r : -EBADMSG;
        }

        if (handlers[req.q.type].closes_blocks) {
                r = peer_send_queued(m, p);
                if (r < 0) {
                        for (size_t i = 0; i < n_fds; i++)
                                manager_dispose_fd(fds[i], m);
                        wire_msg_done(&req.q);
                        return r;
                }
        }
        /* A name is data, not framing: a bad one is answered, and the connection stays. */
        e = req.q.name_invalid ? REQUEST_E_BAD_NAME : handlers[req.q.type].handler(m, p, &req);
        for (size_t i = 0; i < n_fds; i++) /* what the handler did not keep */
                manager_dispose_fd(fds[i], m);

        if (e == REQUEST_E_PROTOCOL) {
                safe_close(req.reply_fd);
                return -EBADMSG;
        }
        if (e == REQUEST_OK) {
                req.reply.type = WIRE_REPLY | req.q.type;
                req.reply.serial = req.q.serial;
                /* The registry's own fd goes out to the creator (see
                 * block_insert()): the kernel takes a reference of its own
                 * for the message, so no copy is made unless the reply has to
                 * wait beyond the turn, where the block may be released
                 * first. That saves a dup and a close per create. */
                if (req.reply_fd_kept >= 0)
                        return peer_send(m, p, &req.reply, req.reply_fd_kept, true);
                return peer_send(m, p, &req.reply, TAKE_FD(req.reply_fd), false);
        }
        safe_close(req.reply_fd);
        error_reply(m, p, &req, e, &req.reply);
        return peer_send(m, p, &req.reply, -EBADF, false);
}
