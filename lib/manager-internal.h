/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * manager-internal — what the manager's rooms share: the manager object,
 * the listener and the peer (one connection) records, and the calls each
 * room offers the others. Nothing here is installed.
 *
 * The rooms, one way: manager.c (object, loop, signals, shutdown) →
 * manager-listener.c (bind, probe, activation, accept) → manager-peer.c (one
 * connection: admission, receive → dispatch → send, back-pressure) →
 * manager-requests.c (the handler table and the one place where outcomes
 * become ERROR replies) → manager-create.c (CREATE and ADOPT, memfd vetting)
 * → policy.c, registry.c, user.c, closer.c (pure or self-contained).
 * manager-state.c (the restart state, opt-in) sits beside the requests: they
 * tell it of every block that comes, changes and goes.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "closer.h"
#include "connection.h"
#include "lmm.h"
#include "policy.h"
#include "ratelimit.h"
#include "registry.h"
#include "fair-sched.h"
#include "user.h"
#include "wire.h"

/* Requests one recvmmsg() reads at most: a turn's worth (manager.c). */
#define MANAGER_RECV_SLOTS 16

/* What an epoll event's data.ptr points at: each record starts with its type. */
typedef enum source_type {
        SOURCE_LISTENER,
        SOURCE_PEER,
        SOURCE_SIGNAL,
        SOURCE_PENDING, /* the scheduler has work: see manager.c */
        SOURCE_CLOSER,  /* closes have finished: see peers_closes_done() */
} source_type;

typedef struct listener {
        source_type type;
        int fd;
        /* The socket file we bound, unlinked at shutdown through its
         * directory's fd, and only while it is the file we bound: should
         * its path lead elsewhere by then (the directory removed, a link
         * put in its place), nothing there is touched. */
        bool bound;        /* by this manager (or the one it was before a re-exec) */
        int dir_fd;        /* O_PATH; -EBADF: no file to unlink */
        char *name;        /* its name in dir_fd */
        uint64_t dev, ino; /* the socket file's */
        char *dir;         /* removed at shutdown when we created it */
        struct listener *next;
} listener;

/* One connection, as the manager sees it. */
typedef struct peer {
        source_type type;
        uint64_t id; /* never reused: the scope of its connection-scoped blocks */
        connection conn;
        int pidfd;          /* pins the peer's identity against pid reuse; -EBADF */
        peer_creds creds;   /* taken once, at connect */
        gid_t *groups;      /* creds.groups, owned */
        user_charge charge; /* one connection, against creds.uid */
        user *user;         /* creds.uid's, refused or not: closes of its fds are charged there */
        fair_entity sched;  /* queued in its uid's turn while it has requests */
        bool owner;         /* its close shuts the manager down */
        bool close_inline;  /* the owner's, when the manager goes: its socket is closed there */
        bool draining;      /* waiting for the peer to read its replies */
        uint64_t backlog;   /* bytes of its replies that may wait in its socket, at most */
        bool held;          /* until its uid's closes drain: out of epoll and the scheduler */
        struct peer *prev, *next;
        struct peer *held_prev, *held_next;
} peer;

struct lmm_manager {
        int epoll_fd;
        registry reg;
        user_registry users;
        policy policy; /* allow lists owned, below */
        uid_t *allow_uids;
        gid_t *allow_gids;
        listener *listeners;
        source_type signal_source;
        int signal_fd;
        /* Connections with requests waiting, served per uid in turn. Peers
         * are edge-triggered; while this holds work, pending_fd (an eventfd
         * in the epoll set) stays readable, so that a host polling the
         * epoll fd comes back for it. */
        fair_sched sched;
        source_type pending_source;
        int pending_fd;
        bool pending;
        int reserve_fd; /* given up when accept() runs out of fds */
        /* Every fd a peer sent, and every peer's socket, is closed there,
         * charged to the peer's uid; its eventfd says when closes are done. */
        closer *closer;
        source_type closer_source;
        peer *serving; /* the peer being served: fds disposed meanwhile are its uid's */
        peer *held;    /* peers not read until their uids' pending closes drain */
        bool in_round; /* in fair_round(): a peer freed now is parted, not freed */
        peer *parted;  /* freed during the round: their charges go when it is over */
        /* Caps over all users, from RLIMIT_NOFILE: every block is an fd, every
         * connection two (socket, pidfd), and replies in flight carry more. */
        uint64_t max_conns_total;
        uint64_t max_blocks_total;
        peer *peers;
        uint64_t n_peers;
        uint64_t next_peer_id;
        int shutdown_result;
        bool shut_down;
        bool shutdown_requested;
        /* The host exits right after a shutdown (lmm_server_start()'s
         * process): the blocks are sealed but their fds left to the exit,
         * which closes them without a system call each. */
        bool exit_after_shutdown;
        /* What a restart needs (manager-state.c): NULL unless the host opted
         * in (lmmd). A re-execution asked for stops the loop, as a shutdown
         * does, without shutting down: the host then hands everything over. */
        struct manager_state *state;
        bool reexec_requested;
        lmm_log_func log;
        void *log_userdata;
        ratelimit log_limit;           /* for the lines peers can make us write again and again */
        uint8_t buf[WIRE_MESSAGE_MAX]; /* the message being received or sent */
        /* Requests read together, a recvmmsg() at a time (manager-peer.c). */
        transport_slot slots[MANAGER_RECV_SLOTS];
        wire_block page[WIRE_LIST_MAX];
};

/* manager.c */

/* manager_exit_after_shutdown() - the host ends its process as soon as
 * lmm_manager_run() returns from a shutdown, freeing nothing: the shutdown
 * seals every block and leaves its fd, and the registry, to the exit. */
void manager_exit_after_shutdown(lmm_manager *m);
void manager_log(lmm_manager *m, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The lines a peer can make the manager write again and again, each kind
 * rate-limited per uid (manager_log_limited()). */
typedef enum log_reason {
        LOG_REASON_REFUSED,  /* a uid that is not allowed connected */
        LOG_REASON_PROTOCOL, /* a connection closed for breaking the protocol */
        LOG_REASON_ACCEPT,   /* accept() failed: about no uid (RATELIMIT_NO_UID) */
} log_reason;

/*
 * manager_log_limited() - manager_log(), at most a burst of lines per
 * (@uid, @reason) and then one a second; the next line that goes out says
 * how many were suppressed.
 */
void manager_log_limited(lmm_manager *m, uid_t uid, log_reason reason, int level, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));
/* manager_dispose_fd() - close @fd (consumed), which a peer sent, off the
 * serving thread; charged to the uid of the peer being served, if any. */
void manager_dispose_fd(int fd, void *userdata);
/* manager_close_fd() - close @fd (consumed) on the closer, charged to @u (NULL: to nobody). */
void manager_close_fd(lmm_manager *m, int fd, user *u);

/* manager-listener.c */
void listener_accept(lmm_manager *m, listener *l);
/* listeners_close() - stop listening; remove the socket files and directories we made. */
void listeners_close(lmm_manager *m);
/*
 * listener_adopt() - serve @fd (consumed), a listening socket this manager
 * bound before it re-executed: as lmm_manager_add_listener(), and its file
 * (its path from getsockname()), with its directory when @remove_dir, is
 * removed at shutdown as if it had been bound now, but only while it is
 * the file @file names (st_dev, st_ino, as listener_file_id() gave them
 * before); with @file NULL, the file is left.
 */
int listener_adopt(lmm_manager *m, int fd, bool remove_dir, const uint64_t *file);

/* listener_file_id() - @l's socket file as bound (st_dev, st_ino) into
 * @ret. Return: false when it has no file to remove at shutdown. */
bool listener_file_id(const listener *l, uint64_t ret[static 2]);

/*
 * manager-peer.c
 * peer_add() - serve @fd (consumed), a connected SOCK_SEQPACKET socket,
 * whose peer has credentials @creds (NULL: ask the kernel). Tests inject
 * credentials here; everything else passes NULL.
 */
int peer_add(lmm_manager *m, int fd, const peer_creds *creds, bool owner);
/* peer_dispatch() - an epoll event of @p: send what waits, and queue @p for its turn. */
void peer_dispatch(lmm_manager *m, peer *p, uint32_t events);
/*
 * peer_serve() - @p's turn (manager.c): read and handle up to @budget of its
 * requests, and send their replies together. Return: the requests read;
 * *@ret_more: whether @p may have more (false when it has none for now,
 * waits for its peer to read its replies, is held, or was freed).
 */
unsigned peer_serve(lmm_manager *m, peer *p, unsigned budget, bool *ret_more);
void peer_free(lmm_manager *m, peer *p);

/* peers_parted() - after a round: release the charges of the peers freed
 * during it (which may free their uids' records), and the peers. */
void peers_parted(lmm_manager *m);
/* peer_refuse_fd() - tell the peer on @fd (borrowed), not yet a peer, why it is not served:
 * an ERROR with serial 0, sent without waiting. */
void peer_refuse_fd(lmm_manager *m, int fd, int error, const char *text);
/* peers_closes_done() - account for the closes the closer finished; read again
 * the peers whose uids are back under their limit of pending closes. */
void peers_closes_done(lmm_manager *m);
/*
 * peer_send() - send @msg with @fd to @p, with the other replies of its
 * turn: @fd is consumed, or borrowed if @borrowed (an fd the registry
 * keeps: it goes out with the turn's replies, or a copy of it waits).
 */
int peer_send(lmm_manager *m, peer *p, const wire_msg *msg, int fd, bool borrowed);

/*
 * peer_reply_room() - the longest reply @p's turn may still send, in bytes:
 * any (WIRE_MESSAGE_MAX) as its first; after that, what is left of
 * BACKLOG_MAX, so that a peer that pipelines large replies without reading
 * them cannot make one turn queue one per request. A LIST page is cut to
 * it (at least one block: a page may always hold fewer than fit).
 */
size_t peer_reply_room(const peer *p);

/*
 * peer_send_queued() - send the replies @p's turn has queued so far, before
 * a request that may close an fd one of them borrowed. Return: 0, or < 0
 * when the connection must be closed.
 */
int peer_send_queued(lmm_manager *m, peer *p);

/* manager-requests.c */
/*
 * request_dispatch() - decode and handle one request of @p (@len bytes at
 * @data, with @fds, consumed) and send its reply. Return: 0, or < 0 when the
 * connection must be closed.
 */
int request_dispatch(lmm_manager *m, peer *p, const uint8_t *data, size_t len, int *fds,
                     size_t n_fds);
