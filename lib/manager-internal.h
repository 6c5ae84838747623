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
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "closer.h"
#include "connection.h"
#include "lmm.h"
#include "policy.h"
#include "registry.h"
#include "user.h"
#include "wire.h"

/* What an epoll event's data.ptr points at: each record starts with its type. */
typedef enum source_type {
        SOURCE_LISTENER,
        SOURCE_PEER,
        SOURCE_SIGNAL,
        SOURCE_CLOSER,
} source_type;

typedef struct listener {
        source_type type;
        int fd;
        char *path; /* unlinked at shutdown when we bound it */
        char *dir;  /* removed at shutdown when we created it */
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
        user *user;    /* creds.uid's record, refused or not: its fds' closes are charged there */
        bool owner;    /* its close shuts the manager down */
        bool draining; /* waiting for the peer to read its replies */
        bool held;     /* not read until its uid's pending closes drain; out of epoll */
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
        int reserve_fd; /* given up when accept() runs out of fds */
        /* Every fd a peer sent, and every peer's socket, is closed there,
         * charged to the peer's uid; its eventfd says when closes are done. */
        closer *closer;
        source_type closer_source;
        peer *serving; /* the peer being served: fds disposed meanwhile are its uid's */
        peer *held;    /* peers not read until their uids' pending closes drain */
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
        lmm_log_func log;
        void *log_userdata;
        uint8_t buf[WIRE_MESSAGE_MAX]; /* the message being received or sent */
        wire_block page[WIRE_LIST_MAX];
};

/* manager.c */
void manager_log(lmm_manager *m, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
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
 * manager-peer.c
 * peer_add() - serve @fd (consumed), a connected SOCK_SEQPACKET socket,
 * whose peer has credentials @creds (NULL: ask the kernel). Tests inject
 * credentials here; everything else passes NULL.
 */
int peer_add(lmm_manager *m, int fd, const peer_creds *creds, bool owner);
void peer_dispatch(lmm_manager *m, peer *p, uint32_t events);
void peer_free(lmm_manager *m, peer *p);
/* peers_closes_done() - account for the closes the closer finished; read again
 * the peers whose uids are back under their limit of pending closes. */
void peers_closes_done(lmm_manager *m);
/* peer_send() - send @msg with @fd (consumed) to @p, or queue it and stop reading @p's requests. */
int peer_send(lmm_manager *m, peer *p, const wire_msg *msg, int fd);

/* manager-requests.c */
/*
 * request_dispatch() - decode and handle one request of @p (in m->buf, @len
 * bytes, with @fds, consumed) and send its reply. Return: 0, or < 0 when the
 * connection must be closed.
 */
int request_dispatch(lmm_manager *m, peer *p, size_t len, int *fds, size_t n_fds);
