/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager-peer — one connection as the manager serves it: credentials taken
 * once at connect, admission (policy and the caps on connections), then
 * receive → decode → dispatch → encode → send, with back-pressure, and the
 * release of its connection-scoped blocks when it goes.
 *
 * Guarantees:
 *   - a peer whose uid and gids are not allowed is told EACCES, with serial
 *     0, and closed at once: it holds nothing in the manager, not even a
 *     pidfd, and its socket (with whatever it queued) is closed off the
 *     serving thread;
 *   - a peer that breaks the protocol (malformed message, unexpected fds,
 *     truncated control data) loses its connection and nothing else; every
 *     fd it sent, and its socket with every message still queued in it, is
 *     closed off the serving thread, charged to its uid (the owner's socket
 *     at shutdown excepted: peer_close_socket());
 *   - a uid whose fds wait to be closed up to its limit (a close can wait on
 *     the peer for ever, see closer.h) is not read until they drain, and its
 *     new connections are refused with EUSERS meanwhile (the manager's uid
 *     and root: held, never refused);
 *   - a peer that does not read its replies holds at most one turn's
 *     replies in the manager and its socket beyond BACKLOG_MAX: its
 *     requests are not read while replies wait in the manager, nor while
 *     more than BACKLOG_MAX bytes of them wait in its socket, and a turn's
 *     replies after its first add up to BACKLOG_MAX at most, a LIST page
 *     cut short to fit (peer_reply_room()), one block at least;
 *   - requests are read in turns: a peer with requests waiting is queued in
 *     its uid's turn (fair-sched.c) and the loop (manager.c) hands the turns
 *     out, so no peer, and no uid however many connections it has, is served
 *     more than a round's quantum in a row. A turn reads its requests with
 *     recvmmsg(), as many at once as cannot take the uid further past its
 *     limit of fds waiting to be closed than one message could (each may
 *     bring SCM_MAX_FD), the limit checked before each read, and sends
 *     their replies together at its end;
 *   - replies go out in the order of their requests, a turn's together
 *     (connection_cork()), and never carry an fd that was closed meanwhile:
 *     a reply that borrows a block's fd is sent before any request that
 *     could release the block is handled (peer_send_queued()).
 */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>

#include "manager-internal.h"
#include "missing.h"
#include "util.h"

/* Replies a peer may leave unread (in bytes of socket memory, a small reply
 * with an fd takes about 1 KiB) before its requests are no longer read. This
 * bounds the fds in flight that one connection can make the manager hold. */
#define BACKLOG_MAX (16 * 1024)
/* Supplementary groups asked of the kernel (NGROUPS_MAX is 65536: enough
 * for every real account; a peer in more is judged by its first 256). */
#define PEER_GROUPS_MAX 256

/*
 * peer_watch() - wait for requests, or for the peer to read what we sent
 * (@drain). Both are edge-triggered: a peer with requests stays queued in
 * the scheduler until a read finds none (-EAGAIN), so epoll only has to say
 * when more arrive. An AF_UNIX sender is woken each time its peer takes a
 * message off the queue, so edge-triggered EPOLLOUT is exactly "the peer
 * read something": no busy loop while the queue stays long.
 */
static int peer_watch(lmm_manager *m, peer *p, bool drain) {
        if (p->draining == drain)
                return 0;
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, p->conn.fd,
                      &(struct epoll_event){ .events = (drain ? EPOLLOUT : EPOLLIN) | EPOLLET,
                                             .data.ptr = p }) < 0)
                return negative_errno();
        p->draining = drain;
        return 0;
}

/*
 * peer_hold() - stop reading @p until its uid's pending closes drain
 * (peers_closes_done()): out of the scheduler, and out of epoll altogether,
 * since any event of it, a hang-up too, would queue it for a turn again.
 */
static int peer_hold(lmm_manager *m, peer *p) {
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, p->conn.fd, NULL) < 0)
                return negative_errno();
        fair_remove(&m->sched, &p->sched);
        p->held = true;
        p->draining = false;
        p->held_prev = NULL;
        p->held_next = m->held;
        if (m->held)
                m->held->held_prev = p;
        m->held = p;
        return 0;
}

static void held_unlink(lmm_manager *m, peer *p) {
        if (!p->held)
                return;
        if (p->held_prev)
                p->held_prev->held_next = p->held_next;
        else
                m->held = p->held_next;
        if (p->held_next)
                p->held_next->held_prev = p->held_prev;
        p->held = false;
        p->held_prev = p->held_next = NULL;
}

/*
 * peer_resume() - read @p again: back in epoll, edge-triggered as
 * everywhere (for its replies' EPOLLOUT if some wait to go out), and queued
 * for a turn, since what it sent while held raised no edge anyone saw.
 */
static int peer_resume(lmm_manager *m, peer *p) {
        bool drain = connection_has_output(&p->conn);

        held_unlink(m, p);
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, p->conn.fd,
                      &(struct epoll_event){ .events = (drain ? EPOLLOUT : EPOLLIN) | EPOLLET,
                                             .data.ptr = p }) < 0)
                return negative_errno();
        p->draining = drain;
        fair_wake(&m->sched, &p->user->sched, &p->sched);
        return 0;
}

void peers_closes_done(lmm_manager *m) {
        if (closer_process(m->closer) == 0)
                return;
        for (peer *p = m->held, *next; p; p = next) {
                next = p->held_next;
                if (user_check_closing(&m->users, p->user) != QUOTA_NONE)
                        continue;
                if (peer_resume(m, p) < 0)
                        peer_free(m, p);
        }
}

/* peer_backlog() - bytes of replies the peer has not read yet. */
static int peer_backlog(const peer *p) {
        int n = 0;

        if (ioctl(p->conn.fd, SIOCOUTQ, &n) < 0)
                return 0;
        return n;
}

/*
 * backlog_added() - at most how much a turn's replies add to what SIOCOUTQ
 * counts: the kernel charges each message its buffer's true size, which
 * rounding to the allocator's sizes keeps under twice its length, plus the
 * sk_buff and its shared info (about 600 bytes).
 */
static uint64_t backlog_added(const connection *c) {
        return 2 * (uint64_t) c->cork_bytes + 1024 * (uint64_t) c->cork_count;
}

int peer_send(lmm_manager *m, peer *p, const wire_msg *msg, int fd, bool borrowed) {
        int r;

        r = borrowed ? connection_send_borrowed(&p->conn, msg, fd)
                     : connection_send(&p->conn, msg, fd);
        if (r == -EINVAL || r == -ENOBUFS)
                manager_log(m, LOG_ERR, "cannot encode a %s reply: %s", wire_type_name(msg->type),
                            strerror(-r));
        return r;
}

size_t peer_reply_room(const peer *p) {
        size_t sent = p->conn.cork_bytes;

        if (sent == 0)
                return WIRE_MESSAGE_MAX;
        return sent < BACKLOG_MAX ? BACKLOG_MAX - sent : 0;
}

int peer_send_queued(lmm_manager *m, peer *p) {
        int r;

        if (!p->conn.corked)
                return 0;
        r = connection_uncork(&p->conn);
        connection_cork(&p->conn);
        return r == -EAGAIN ? 0 : r;
}

/*
 * peer_refuse() - tell a peer why it is not served, and close at once. The
 * error goes out unasked, with serial 0, so that a refused peer holds
 * nothing in the manager, not even an fd, while it makes up its mind.
 */
static int peer_refuse(lmm_manager *m, peer *p, int error, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int peer_refuse(lmm_manager *m, peer *p, int error, const char *fmt, ...) {
        wire_msg r = { .type = WIRE_ERROR, .serial = 0, .error = error };
        size_t len;
        va_list ap;

        va_start(ap, fmt);
        if (vsnprintf(r.text, sizeof(r.text), fmt, ap) >= (int) sizeof(r.text))
                utf8_trim_cut(r.text);
        va_end(ap);
        if (wire_encode(&r, m->buf, sizeof(m->buf), &len) >= 0)
                (void) transport_send(p->conn.fd, m->buf, len, NULL, 0, true);
        peer_free(m, p);
        return 0;
}

void peer_refuse_fd(lmm_manager *m, int fd, int error, const char *text) {
        wire_msg r = { .type = WIRE_ERROR, .serial = 0, .error = error };
        size_t len;

        snprintf(r.text, sizeof(r.text), "%s", text);
        if (wire_encode(&r, m->buf, sizeof(m->buf), &len) >= 0)
                (void) transport_send(fd, m->buf, len, NULL, 0, true);
}

/* peer_creds_get() - the peer's credentials, as the kernel saw them at connect. */
static int peer_creds_get(lmm_manager *m, peer *p) {
        struct ucred uc;
        socklen_t len = sizeof(uc);

        if (getsockopt(p->conn.fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
                return negative_errno();
        p->creds = (peer_creds){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };

        /* Only a gid list makes the supplementary groups matter. */
        if (policy_wants_groups(&m->policy)) {
                p->groups = calloc(PEER_GROUPS_MAX, sizeof(gid_t));
                if (!p->groups)
                        return -ENOMEM;
                len = PEER_GROUPS_MAX * sizeof(gid_t);
                if (getsockopt(p->conn.fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0) {
                        p->creds.groups = p->groups;
                        p->creds.n_groups = len / sizeof(gid_t);
                }
        }
        return 0;
}

int peer_add(lmm_manager *m, int fd, const peer_creds *creds, bool owner) {
        socklen_t len;
        user *u;
        peer *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p) {
                safe_close(fd);
                return -ENOMEM;
        }
        p->type = SOURCE_PEER;
        p->id = ++m->next_peer_id;
        connection_init(&p->conn, fd, m->buf, true, manager_dispose_fd, m);
        p->pidfd = -EBADF;
        p->owner = owner;
        p->next = m->peers;
        if (m->peers)
                m->peers->prev = p;
        m->peers = p;
        m->n_peers++;

        if (creds) {
                p->creds = *creds;
                if (creds->n_groups > 0) {
                        p->groups = calloc(creds->n_groups, sizeof(gid_t));
                        if (!p->groups) {
                                peer_free(m, p);
                                return -ENOMEM;
                        }
                        memcpy(p->groups, creds->groups, creds->n_groups * sizeof(gid_t));
                        p->creds.groups = p->groups;
                }
        } else {
                r = peer_creds_get(m, p);
                if (r < 0) {
                        peer_free(m, p);
                        return r;
                }
        }
        /* Refused or not, the uid's record: the closes of what this peer
         * sent are charged there. */
        u = p->user = user_registry_get(&m->users, p->creds.uid);
        if (!u) {
                peer_free(m, p);
                return -ENOMEM;
        }

        if (policy_check(&m->policy, &p->creds, POLICY_CONNECT, NULL) != POLICY_ALLOW) {
                manager_log_limited(m, p->creds.uid, LOG_REASON_REFUSED, LOG_NOTICE,
                                    "refusing pid %d: uid %u is not allowed", (int) p->creds.pid,
                                    (unsigned) p->creds.uid);
                return peer_refuse(m, p, EACCES,
                                   "uid %u is not allowed to use this manager (run by uid %u)",
                                   (unsigned) p->creds.uid, (unsigned) m->policy.manager_uid);
        }
        /* This connection is counted in n_peers already. The manager's own
         * uid and root are never locked out by other users. */
        if (m->n_peers > m->max_conns_total && !policy_is_privileged(&m->policy, &p->creds))
                return peer_refuse(m, p, EUSERS,
                                   "the manager serves %" PRIu64
                                   " connections, its limit (RLIMIT_NOFILE)",
                                   m->max_conns_total);
        if (user_check_closing(&m->users, u) != QUOTA_NONE &&
            !policy_is_privileged(&m->policy, &p->creds))
                return peer_refuse(m, p, EUSERS,
                                   "uid %u has %" PRIu64
                                   " fds waiting to be closed, the per-user limit",
                                   (unsigned) p->creds.uid, u->n_closing);
        if (user_charge_apply(&m->users, &p->charge, u, 0, 0, 1) != QUOTA_NONE)
                return peer_refuse(m, p, EUSERS,
                                   "uid %u already has %u connections, the per-user limit",
                                   (unsigned) p->creds.uid, (unsigned) m->users.limits.max_conns);

        /* Admitted: the pidfd pins the peer's identity against pid reuse
         * (kernel >= 6.5). A refused peer never costs one. */
        if (!creds) {
                len = sizeof(p->pidfd);
                if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &p->pidfd, &len) < 0)
                        p->pidfd = -EBADF; /* ENOPROTOOPT on older kernels, fine */
        }

        /* Edge-triggered, like peer_watch(): requests already waiting are
         * reported once, and the scheduler keeps them until they are read. */
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.ptr = p }) < 0) {
                r = negative_errno();
                peer_free(m, p);
                return r;
        }
        return 0;
}

_public_ int lmm_manager_add_connection(lmm_manager *m, int fd, bool owner) {
        int type = 0;
        socklen_t len = sizeof(type);

        if (!m || fd < 0) {
                safe_close(fd);
                return -EINVAL;
        }
        if (m->shut_down) {
                safe_close(fd);
                return -ESHUTDOWN;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
                safe_close(fd);
                return -ESOCKTNOSUPPORT;
        }
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return peer_add(m, fd, NULL, owner);
}

/*
 * peer_close_socket() - close @p's socket on the closer: its release drops
 * every message still queued in it, and the last close of an fd in there
 * may wait on a peer (closer.h). Whether a queue is empty cannot be told:
 * neither SIOCINQ nor a read tells zero-length records, which may carry
 * fds, from the end of the stream. The one exception is the owner's socket
 * when the manager goes (peers_free(), close_inline): closed here, since
 * its peer is the one party that may end the manager at will, and what it
 * queued can only delay its own shutdown; a manager that never needed the
 * closer then exits with no thread but its own.
 */
static void peer_close_socket(lmm_manager *m, peer *p) {
        int fd = TAKE_FD(p->conn.fd);

        if (p->close_inline)
                safe_close(fd);
        else
                manager_close_fd(m, fd, p->user);
}

void peer_free(lmm_manager *m, peer *p) {
        bool owner = p->owner;

        fair_remove(&m->sched, &p->sched);

        /* Connection-scoped blocks die with their connection. */
        for (registry_block *b; (b = registry_find_scope(&m->reg, p->id));) {
                manager_log(m, LOG_DEBUG, "releasing block \"%s\": its connection closed",
                            registry_block_name(b));
                safe_close(registry_remove(&m->reg, b));
        }

        if (p->conn.fd >= 0 && !p->held)
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, p->conn.fd, NULL);
        held_unlink(m, p);
        /* Out of epoll, the socket goes to the closer (peer_close_socket()). */
        peer_close_socket(m, p);
        connection_done(&p->conn);
        safe_close(p->pidfd);
        free(p->groups);
        if (p->prev)
                p->prev->next = p->next;
        else
                m->peers = p->next;
        if (p->next)
                p->next->prev = p->prev;
        m->n_peers--;

        if (owner) {
                manager_log(m, LOG_INFO, "the owner connection closed, shutting down");
                m->shutdown_requested = true;
        }

        /* Its charge may be all that keeps its uid's record, and with it the
         * scheduler's group, alive (when the closer could not take its
         * socket's charge): in a round, which is in that group now, the
         * record goes once the round is over (peers_parted()). */
        if (m->in_round) {
                p->next = m->parted;
                m->parted = p;
                return;
        }
        user_charge_release(&p->charge);
        free(p);
}

void peers_parted(lmm_manager *m) {
        while (m->parted) {
                peer *p = m->parted;

                m->parted = p->next;
                user_charge_release(&p->charge);
                free(p);
        }
}

void peer_dispatch(lmm_manager *m, peer *p, uint32_t events) {
        int r = 0;

        if (connection_has_output(&p->conn)) {
                if (events & (EPOLLERR | EPOLLHUP))
                        r = -ECONNRESET;
                else
                        r = connection_flush(&p->conn);
                if (r == -EAGAIN)
                        return;
                if (r < 0) {
                        peer_free(m, p);
                        return;
                }
        }

        /* Its requests are read in its uid's turn; so is a hang-up, which
         * reads as the end of the stream. */
        fair_wake(&m->sched, &p->user->sched, &p->sched);
}

/* peer_close_broken() - log why @p's connection ends (@n: what a read gave, @r: what a request did), and free it. */
static void peer_close_broken(lmm_manager *m, peer *p, ssize_t n, int r) {
        if (n < 0 && n != -ECONNRESET)
                manager_log_limited(m, p->creds.uid, LOG_REASON_PROTOCOL, LOG_NOTICE,
                                    "closing connection of pid %d: %s", (int) p->creds.pid,
                                    n == -EBADMSG ? "bad control data or fds" : strerror((int) -n));
        else if (n > 0 && (r == -EBADMSG || r == -EPROTONOSUPPORT))
                manager_log_limited(m, p->creds.uid, LOG_REASON_PROTOCOL, LOG_NOTICE,
                                    "closing connection of pid %d: %s", (int) p->creds.pid,
                                    r == -EBADMSG ? "malformed message"
                                                  : "unsupported protocol version");
        peer_free(m, p);
}

unsigned peer_serve(lmm_manager *m, peer *p, unsigned budget, bool *ret_more) {
        unsigned served = 0;
        bool more = true, held = false, broken = false;
        ssize_t n = 0;
        int r = 0, k;

        *ret_more = false;
        if (connection_has_output(&p->conn))
                return 0; /* its EPOLLOUT wakes it */

        /* A peer that pipelines without reading waits until it reads. The
         * kernel is asked (SIOCOUTQ) only when what was sent since it was
         * last asked could have taken the backlog past BACKLOG_MAX: a peer
         * that reads its replies as they come costs one ioctl() in a dozen
         * turns, not one a turn. */
        if (p->backlog > BACKLOG_MAX)
                p->backlog = (uint64_t) peer_backlog(p);
        r = peer_watch(m, p, p->backlog > BACKLOG_MAX);
        if (r < 0) {
                peer_free(m, p);
                return 0;
        }
        if (p->draining)
                return 0;

        connection_cork(&p->conn);
        m->serving = p; /* what the requests make the manager dispose of is charged to its uid */
        while (served < budget && !broken) {
                size_t want;
                int got;

                /* A uid at its limit of fds waiting to be closed sends no
                 * more until they are: each message could bring SCM_MAX_FD. */
                if (user_check_closing(&m->users, p->user) != QUOTA_NONE) {
                        held = true;
                        break;
                }
                /* As many requests at once as cannot take the uid further
                 * past that limit than one message could: a recvmmsg() takes
                 * in every fd of every message it reads. */
                want = 1 + user_closing_room(&m->users, p->user) / SCM_MAX_FD;
                want = MIN(MIN(want, (size_t) (budget - served)), ELEMENTSOF(m->slots));
                if (want == 1) {
                        int fds[WIRE_FDS_MAX];
                        size_t n_fds = 0;

                        n = connection_recv(&p->conn, fds, ELEMENTSOF(fds), &n_fds);
                        if (n == -EAGAIN) {
                                more = false;
                                break;
                        }
                        if (n > 0)
                                r = request_dispatch(m, p, m->buf, (size_t) n, fds, n_fds);
                        if (n <= 0 || r < 0)
                                broken = true;
                        else
                                served++;
                } else {
                        got = transport_recv_many(p->conn.fd, m->slots, want, manager_dispose_fd,
                                                  m);
                        if (got == -EAGAIN) {
                                more = false;
                                break;
                        }
                        if (got < 0) {
                                n = got;
                                broken = true;
                                break;
                        }
                        for (int i = 0; i < got; i++) {
                                transport_slot *slot = &m->slots[i];

                                n = slot->len;
                                if (broken || m->shutdown_requested) {
                                        /* Read, and never to be handled. */
                                        for (size_t f = 0; n > 0 && f < slot->n_fds; f++)
                                                manager_dispose_fd(slot->fds[f], m);
                                        continue;
                                }
                                /* Longer than any request: its header still
                                 * says which protocol error it is. */
                                if (n == -EMSGSIZE)
                                        n = sizeof(slot->data);
                                if (n > 0)
                                        r = request_dispatch(m, p, slot->data, (size_t) n,
                                                             slot->fds, slot->n_fds);
                                if (n <= 0 || r < 0)
                                        broken = true;
                                else
                                        served++;
                        }
                        if ((size_t) got < want)
                                more = false; /* the socket had no more */
                }
                /* The peer is not reading, or the manager is going: no more now. */
                if (!more || connection_is_stalled(&p->conn) || m->shutdown_requested)
                        break;
        }
        m->serving = NULL;

        /* The turn's replies, together (a peer that broke the protocol gets
         * those it had earned); what does not fit waits for EPOLLOUT. */
        k = connection_uncork(&p->conn);
        p->backlog += backlog_added(&p->conn);
        if (broken) {
                peer_close_broken(m, p, n, r);
                return served;
        }
        if (k < 0 && k != -EAGAIN) {
                peer_free(m, p);
                return served;
        }
        if (connection_has_output(&p->conn)) {
                if (peer_watch(m, p, true) < 0)
                        peer_free(m, p);
                return served;
        }
        if (held) {
                if (peer_hold(m, p) < 0)
                        peer_free(m, p);
                return served;
        }
        *ret_more = more;
        return served;
}
