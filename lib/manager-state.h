/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * manager-state — what lets a manager be restarted, or re-execute itself,
 * without losing a block: the restart state (state.h's records in a memfd
 * of the manager's own), kept current by one record written per change,
 * and a store outside the process that keeps a copy of every block's fd
 * and of the state's (lmmd: the service manager's fd store, sd_notify(3)'s
 * FDSTORE=1). Opt-in: a manager that never calls manager_state_enable()
 * (lmm_manager_new()'s and lmm_server_start()'s) records nothing and
 * refuses to re-execute.
 *
 * Fd names, in the store and in LISTEN_FDNAMES alike: "state" for the
 * state, "b" and the decimal id (no leading zero) for a block.
 *
 * Order per request, so that a SIGKILL at any point leaves a state that a
 * restart either takes as it is or repairs, logging what it drops:
 *   create, adopt: the record, then the fd stored, then the reply;
 *   freeze: the seal, then the record, then the reply;
 *   release: the fd removed from the store, the record cleared, the reply;
 *   shutdown: each block sealed, its fd removed and its record cleared,
 *   then the state removed from the store.
 * A connection-scoped block is never recorded nor stored: its connection
 * does not survive a restart, so neither does it.
 *
 * Guarantees: no change costs more than O(1) (amortized where the state
 * grows: it doubles); ids are never given again after a restart, nor are
 * made-up names; a restart never puts a name on memory other than the one
 * recorded for it (same st_dev and st_ino, same size, still size-sealed):
 * whatever does not match is logged and dropped, never fatal.
 */

#include "manager-internal.h"

/* How blocks reach a store outside the process. Both return 0 or a negative errno. */
typedef struct manager_store_ops {
        /* store() - keep a copy of @fd (borrowed) under @name. */
        int (*store)(int fd, const char *name, void *userdata);
        /* remove() - drop every fd kept under @name. */
        int (*remove)(const char *name, void *userdata);
} manager_store_ops;

/*
 * manager_state_enable() - opt in: keep a restart state from now on, and
 * hand blocks to @ops (NULL: no store; the state still serves a
 * re-execution). Call it before manager_state_restore() and
 * lmm_manager_handle_signals(), which then also takes SIGHUP: re-execute.
 */
int manager_state_enable(lmm_manager *m, const manager_store_ops *ops, void *userdata);

/*
 * manager_state_limit_names() - record no more blocks than fit @bytes of
 * names ("b<id>:" each). The default, with a store, is what one
 * environment string can carry to the next program (LISTEN_FDNAMES,
 * MAX_ARG_STRLEN); without one, none. Tests lower it to reach it with few
 * blocks.
 */
void manager_state_limit_names(lmm_manager *m, size_t bytes);

/* manager_state_free() - forget the state (lmm_manager_free()); the store is left as it is. */
void manager_state_free(lmm_manager *m);

/* manager_state_owns_name() - whether a handed-over fd named @name is the state's or a block's. */
bool manager_state_owns_name(const char *name);

/*
 * manager_take_listener() - serve @fd (consumed), a listening socket handed
 * over under @name: one a re-execution passed on ("lmmd-bound*", below)
 * keeps its socket file to remove at shutdown; any other is served as
 * lmm_manager_add_listener() serves it.
 */
int manager_take_listener(lmm_manager *m, int fd, const char *name);

/*
 * manager_state_restore() - take over what a restart handed back: @fds
 * (consumed, all of them) named @names: "state", blocks, and anything else,
 * which is closed and removed from the store. Rebuilds the registry from
 * the state and the blocks' fds, before anything is served; starts a new,
 * empty state, and stores it, when there was none or it is refused (every
 * block fd is then dropped, since nothing says whose it is). Logs what it
 * restores and everything it drops, and why.
 * Return: 0; a negative errno when no state could be made at all.
 */
int manager_state_restore(lmm_manager *m, const int *fds, char *const *names, size_t n);

/* The registry's side, called by the requests. A block that is not recorded is left alone. */
/*
 * manager_state_block_added() - record @b and store its fd.
 * Return: 0; -E2BIG when its name would not fit in what a restart can hand
 * back (manager_state_limit_names()); another error; nothing recorded then.
 */
int manager_state_block_added(lmm_manager *m, registry_block *b);
/* manager_state_block_changed() - write @b's record again (its flags changed). */
int manager_state_block_changed(lmm_manager *m, registry_block *b);
/* manager_state_block_removed() - remove @b's fd from the store and clear its record. */
void manager_state_block_removed(lmm_manager *m, registry_block *b);
/* manager_state_shutdown() - after the last block: remove the state from the store. */
void manager_state_shutdown(lmm_manager *m);

/* manager_reexec_requested() - whether the loop stopped for a re-execution (REEXEC, SIGHUP). */
bool manager_reexec_requested(const lmm_manager *m);

/*
 * The fds a re-execution passes on, in the order of LISTEN_FDS: the
 * listening sockets, the state, then every recorded block by id. Names:
 * "state", "b<id>", and for a socket "lmmd-bound" (a socket this manager
 * bound: its file is removed at shutdown), "lmmd-bound-dir" (its directory
 * too), each followed by "-DEV-INO" (st_dev and st_ino of the file bound,
 * in hexadecimal: the only file removed), or "lmmd-listen" (one it was
 * handed). @names is LISTEN_FDNAMES.
 */
typedef struct manager_handover {
        int *fds; /* borrowed: still the manager's */
        size_t n_fds;
        char *names;
} manager_handover;

/* manager_handover_prepare() - flush what waits for the peers, and list the fds to pass on. */
int manager_handover_prepare(lmm_manager *m, manager_handover *ret);
void manager_handover_done(manager_handover *h);
/* manager_reexec_cancel() - the re-execution failed: serve on. */
void manager_reexec_cancel(lmm_manager *m);
