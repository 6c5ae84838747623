/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager — the manager object and its event loop: limits from
 * RLIMIT_NOFILE, logging, signals, the documented shutdown, and the loop
 * that hands each ready source to its room (manager-listener.c,
 * manager-peer.c). Single-threaded, driven by one epoll fd that a host
 * (lmmd, an embedding service, lmm_manager_run()) waits on; the only other
 * threads are the closer's (closer.c), which close what peers sent.
 *
 * Fairness: epoll only says which connections have requests; they wait in
 * the scheduler (fair-sched.c), and each pass of the loop is one round of it:
 * every uid with requests waiting gets REQUESTS_PER_UID_PER_ROUND of them
 * read, split among its connections in turns of at most REQUESTS_PER_TURN,
 * however many connections it has. A well-behaved uid waits at most one
 * round of each other uid's quantum, not one of every connection's.
 *
 * Guarantees: shutdown stops accepting before it seals, so nobody gets a
 * block that is about to be sealed; every block is sealed SHRINK, GROW,
 * FUTURE_WRITE and SEAL, then dropped; a block that could not be sealed
 * makes the shutdown fail (-EIO) after all the others were.
 */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <syslog.h>

#include "closer.h"
#include "manager-internal.h"
#include "manager-state.h"
#include "missing.h"
#include "util.h"

#define DEFAULT_MAX_BYTES (UINT64_C(8) << 30)
#define DEFAULT_MAX_BLOCKS 4096
#define DEFAULT_MAX_CONNS 256
/* Requests each uid with requests waiting gets read per round of the loop,
 * in turns of its connections: what one connection used to get per
 * wake-up, now shared by all of the uid's connections. */
#define REQUESTS_PER_UID_PER_ROUND 16
/* Requests one connection's turn reads at most, answered together: at most
 * one SIOCOUTQ, as few recvmmsg() as the closing limit allows, and one
 * sendmmsg() for all of them (manager-peer.c). The whole quantum, so that a
 * lone pipelining connection is served with one turn a round; a uid's
 * other connections take the next turns. */
#define REQUESTS_PER_TURN 16
/* Events taken per epoll_wait(): every connection of a uid at its default
 * cap, so that a newly ready uid joins the very next round. */
#define EVENTS_PER_WAIT 256
/* Lines of one kind about one uid: a burst of 10, then one a second. Over
 * all uids: a burst of 50, then 10 a second. A flood of refused connects
 * then costs about a kilobyte of log a second, however many uids make it. */
#define LOG_BURST 10
#define LOG_INTERVAL_USEC (UINT64_C(1000) * 1000)
#define LOG_TOTAL_BURST 50
#define LOG_TOTAL_INTERVAL_USEC (UINT64_C(100) * 1000)
/* Fds of one uid waiting to be closed (a close can wait on the peer for
 * ever: see closer.h), beyond one per connection it may hold: a service
 * whose connections all close at once must not be refused when it comes
 * back a millisecond later. Past the limit, the uid is not read and its new
 * connections are refused until its closes drain. Normal closes take
 * microseconds: a client that sends no lingering socket and no FUSE file
 * never comes near it. */
#define CLOSING_BEYOND_CONNS 64

void manager_log(lmm_manager *m, int level, const char *fmt, ...) {
        char line[512];
        va_list ap;

        if (!m->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        m->log(level, line, m->log_userdata);
}

void manager_log_limited(lmm_manager *m, uid_t uid, log_reason reason, int level, const char *fmt,
                         ...) {
        uint64_t suppressed, lost;
        char line[512];
        size_t n;
        va_list ap;

        if (!m->log || !ratelimit_check(&m->log_limit, uid, reason, now_usec(), &suppressed, &lost))
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        n = strlen(line);
        if (suppressed > 0 && uid != RATELIMIT_NO_UID)
                snprintf(line + n, sizeof(line) - n,
                         " (suppressed %" PRIu64 " similar messages from uid %u)", suppressed,
                         (unsigned) uid);
        else if (suppressed > 0)
                snprintf(line + n, sizeof(line) - n, " (suppressed %" PRIu64 " similar messages)",
                         suppressed);
        n = strlen(line);
        if (lost > 0)
                snprintf(line + n, sizeof(line) - n, " (suppressed %" PRIu64 " other messages)",
                         lost);
        m->log(level, line, m->log_userdata);
}

void manager_close_fd(lmm_manager *m, int fd, user *u) {
        user_charge c = {};

        if (fd < 0)
                return;
        if (u)
                user_charge_closing(&c, u, 1);
        closer_dispose(m->closer, fd, &c);
}

void manager_dispose_fd(int fd, void *userdata) {
        lmm_manager *m = userdata;

        manager_close_fd(m, fd, m->serving ? m->serving->user : NULL);
}

_public_ void lmm_manager_set_log(lmm_manager *m, lmm_log_func f, void *userdata) {
        if (!m)
                return;
        m->log = f;
        m->log_userdata = userdata;
}

/* Caps over all users, from the fd table: half of it for blocks; connections
 * at ~32 fds each (two of their own plus a backlog of replies in flight). */
static void limits_from_rlimit(lmm_manager *m) {
        struct rlimit rl = { .rlim_cur = 1024 };

        (void) getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 30))
                rl.rlim_cur = 1u << 30;
        m->max_blocks_total = MAX(rl.rlim_cur / 2, (rlim_t) 16);
        m->max_conns_total = MAX(rl.rlim_cur / 64, (rlim_t) 4);
}

static int copy_ids(const void *src, size_t n, size_t size, void **ret) {
        if (n == 0)
                return 0;
        *ret = calloc(n, size);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, src, n * size);
        return 0;
}

_public_ int lmm_manager_new(const lmm_manager_opts *o, lmm_manager **ret) {
        static const lmm_manager_opts defaults = {};
        lmm_manager *m;
        uint8_t key[SIPHASH_KEY_SIZE];
        user_limits limits;
        int r;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &defaults;
        if ((o->n_allow_uids && !o->allow_uids) || (o->n_allow_gids && !o->allow_gids) ||
            !OPTS_RESERVED_IS_ZERO(o))
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->signal_source = SOURCE_SIGNAL;
        m->signal_fd = -EBADF;
        m->pending_source = SOURCE_PENDING;
        m->pending_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        m->closer_source = SOURCE_CLOSER;
        limits_from_rlimit(m);
        limits = (user_limits){
                .max_bytes = o->max_bytes_per_uid ?: DEFAULT_MAX_BYTES,
                .max_blocks = o->max_blocks_per_uid ?: DEFAULT_MAX_BLOCKS,
                .max_conns = o->max_conns_per_uid ?: DEFAULT_MAX_CONNS,
        };
        limits.max_closing = limits.max_conns > UINT32_MAX - CLOSING_BEYOND_CONNS
                                     ? UINT32_MAX
                                     : limits.max_conns + CLOSING_BEYOND_CONNS;
        user_registry_init(&m->users, &limits);
        ratelimit_init(&m->log_limit, &(ratelimit_opts){
                                              .burst = LOG_BURST,
                                              .interval_usec = LOG_INTERVAL_USEC,
                                              .total_burst = LOG_TOTAL_BURST,
                                              .total_interval_usec = LOG_TOTAL_INTERVAL_USEC,
                                      });
        random_bytes(key, sizeof(key));
        registry_init(&m->reg, key);
        m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (m->epoll_fd < 0 || m->pending_fd < 0 ||
            epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->pending_fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &m->pending_source }) <
                    0) {
                r = negative_errno();
                lmm_manager_free(m);
                return r;
        }
        /* No closer, no manager: closing a peer's fd here instead could stall the loop. */
        r = closer_new(&m->closer);
        if (r >= 0 && epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, closer_get_fd(m->closer),
                                &(struct epoll_event){ .events = EPOLLIN,
                                                       .data.ptr = &m->closer_source }) < 0)
                r = negative_errno();
        if (r < 0) {
                lmm_manager_free(m);
                return r;
        }
        if (copy_ids(o->allow_uids, o->n_allow_uids, sizeof(uid_t), (void **) &m->allow_uids) < 0 ||
            copy_ids(o->allow_gids, o->n_allow_gids, sizeof(gid_t), (void **) &m->allow_gids) < 0) {
                lmm_manager_free(m);
                return -ENOMEM;
        }
        m->policy = (policy){
                .manager_uid = geteuid(),
                .allow_uids = m->allow_uids,
                .n_allow_uids = o->n_allow_uids,
                .allow_gids = m->allow_gids,
                .n_allow_gids = o->n_allow_gids,
        };
        *ret = m;
        return 0;
}

_public_ int lmm_manager_get_fd(const lmm_manager *m) {
        if (!m)
                return -EINVAL;
        return m->epoll_fd;
}

_public_ bool lmm_manager_is_shut_down(const lmm_manager *m) {
        return m && m->shut_down;
}

_public_ void lmm_manager_get_stats(const lmm_manager *m, lmm_manager_stats *ret) {
        if (!m || !ret)
                return;
        *ret = (lmm_manager_stats){
                .n_blocks = m->reg.n_blocks,
                .n_bytes = m->reg.n_bytes,
                .n_connections = m->n_peers,
        };
}

_public_ int lmm_manager_handle_signals(lmm_manager *m) {
        struct sigaction sa = {};
        sigset_t mask;
        int fd;

        if (!m)
                return -EINVAL;
        if (m->signal_fd >= 0)
                return 0;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        /* A manager that keeps a restart state re-executes itself on SIGHUP. */
        if (m->state)
                sigaddset(&mask, SIGHUP);
        /* A SIGINT the process ignores stays ignored: blocked, it would be
         * queued for the signalfd instead of dropped. lmm_server_start()'s
         * manager ignores it, so that a terminal's ^C to its process group
         * does not end it (bpo-36368); so does any program a shell starts in
         * the background without job control. */
        if (sigaction(SIGINT, NULL, &sa) < 0 || sa.sa_handler != SIG_IGN)
                sigaddset(&mask, SIGINT);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &m->signal_source }) <
            0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        /* Blocked only once the signalfd is there to take them. */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        m->signal_fd = fd;
        return 0;
}

static void on_signal(lmm_manager *m) {
        struct signalfd_siginfo si;

        if (read(m->signal_fd, &si, sizeof(si)) != sizeof(si))
                return;
        if (si.ssi_signo == SIGHUP) {
                manager_log(m, LOG_INFO, "SIGHUP received, re-executing");
                m->reexec_requested = true;
                return;
        }
        manager_log(m, LOG_INFO, "%s received, shutting down",
                    sigabbrev_np((int) si.ssi_signo) ?: "signal");
        m->shutdown_requested = true;
}

static void peers_free(lmm_manager *m) {
        while (m->peers) {
                peer *p = m->peers;

                /* Its socket is closed here, not on the closer: see
                 * peer_close_socket(). And its going ends nothing more. */
                p->close_inline = p->owner;
                p->owner = false;
                peer_free(m, p);
        }
}

_public_ int lmm_manager_shutdown(lmm_manager *m) {
        unsigned failed = 0;

        if (!m)
                return -EINVAL;
        if (m->shut_down)
                return 0;
        m->shut_down = true;

        /* Stop accepting first, so that nobody gets a block that is about to be sealed. */
        listeners_close(m);

        /* Seal every block for good: no new writable mapping, no size
         * change, no seal change; then drop our references. */
        for (registry_block *b = registry_first(&m->reg), *next; b; b = next) {
                int r = fd_add_seals(b->fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
                                                    F_SEAL_SEAL);

                next = registry_next(b);

                if (r < 0) {
                        failed++;
                        manager_log(m, LOG_WARNING, "cannot seal block \"%s\" at shutdown: %s",
                                    registry_block_name(b), strerror(-r));
                }
                /* Out of the store too, so that a later start begins empty. */
                manager_state_block_removed(m, b);
                /* Each close() is a system call, a microsecond on a VM, and
                 * the exit about to come closes them all in one. */
                if (!m->exit_after_shutdown)
                        safe_close(registry_remove(&m->reg, b));
        }
        manager_state_shutdown(m);

        peers_free(m);
        manager_log(m, LOG_INFO, "shut down");
        return failed ? -EIO : 0;
}

/* The scheduler's turn of one connection (fair_serve_fn). */
static fair_result peer_turn(fair_entity *e, unsigned budget, unsigned *ret_units, void *userdata) {
        lmm_manager *m = userdata;
        bool more;

        if (m->shutdown_requested || m->reexec_requested)
                return FAIR_STOP;
        *ret_units = peer_serve(m, container_of(e, peer, sched), budget, &more);
        return more ? FAIR_READY : FAIR_IDLE;
}

/* pending_update() - make the epoll fd readable exactly while connections
 * wait for their turn: their edges were taken, and a host that polls the
 * epoll fd must still come back for them. Writes only when that changes. */
static void pending_update(lmm_manager *m) {
        bool want = !fair_is_idle(&m->sched);
        eventfd_t v;

        if (want == m->pending)
                return;
        if (want)
                (void) eventfd_write(m->pending_fd, 1);
        else
                (void) eventfd_read(m->pending_fd, &v);
        m->pending = want;
}

_public_ int lmm_manager_dispatch(lmm_manager *m, uint64_t timeout_usec) {
        struct epoll_event ev[EVENTS_PER_WAIT];
        int n, timeout;

        if (!m)
                return -EINVAL;
        if (m->shut_down)
                return 1;

        if (timeout_usec == UINT64_MAX)
                timeout = -1;
        else
                timeout = (int) MIN(timeout_usec / 1000 + (timeout_usec % 1000 != 0),
                                    (uint64_t) INT32_MAX);
        n = epoll_wait(m->epoll_fd, ev, ELEMENTSOF(ev), timeout);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();

        for (int i = 0; i < n && !m->shutdown_requested && !m->reexec_requested; i++) {
                source_type *t = ev[i].data.ptr;

                /* Handling a connection frees at most that connection, and
                 * each fd appears once per batch: no pointer here is stale.
                 * Requests are not read here but in the round below. */
                if (*t == SOURCE_PEER)
                        peer_dispatch(m, (peer *) t, ev[i].events);
                else if (*t == SOURCE_LISTENER)
                        listener_accept(m, (listener *) t);
                else if (*t == SOURCE_CLOSER)
                        peers_closes_done(m);
                else if (*t == SOURCE_SIGNAL)
                        on_signal(m);
                /* SOURCE_PENDING: only there to wake us for the round. */
        }

        if (!m->shutdown_requested && !m->reexec_requested) {
                m->in_round = true;
                (void) fair_round(&m->sched, REQUESTS_PER_UID_PER_ROUND, REQUESTS_PER_TURN,
                                  peer_turn, m);
                m->in_round = false;
                peers_parted(m);
        }
        pending_update(m);

        if (m->shutdown_requested) {
                m->shutdown_result = lmm_manager_shutdown(m);
                return 1;
        }
        /* Stop serving and let the host hand everything over (manager-state.h). */
        return m->reexec_requested ? 1 : 0;
}

void manager_exit_after_shutdown(lmm_manager *m) {
        m->exit_after_shutdown = true;
}

_public_ int lmm_manager_run(lmm_manager *m) {
        int r;

        do
                r = lmm_manager_dispatch(m, UINT64_MAX);
        while (r == 0);
        /* A block that could not be sealed at shutdown is a failure to report. */
        return r < 0 ? r : m->shutdown_result;
}

_public_ lmm_manager *lmm_manager_free(lmm_manager *m) {
        if (!m)
                return NULL;
        peers_free(m);
        /* Freed without a shutdown (an error path): leave no socket file behind. */
        listeners_close(m);
        for (registry_block *b; (b = registry_first(&m->reg));)
                safe_close(registry_remove(&m->reg, b));
        registry_done(&m->reg);
        manager_state_free(m);
        /* The peers' sockets went to the closer above. Their charges, and
         * those of every close still waiting, go back now; the closes
         * themselves finish on the closer's threads. */
        m->closer = closer_free(m->closer);
        user_registry_done(&m->users);
        if (m->signal_fd >= 0) {
                (void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, m->signal_fd, NULL);
                safe_close(m->signal_fd);
        }
        safe_close(m->epoll_fd);
        safe_close(m->pending_fd);
        safe_close(m->reserve_fd);
        free(m->allow_uids);
        free(m->allow_gids);
        free(m);
        return NULL;
}
