/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * liblmm — shared memory blocks managed by a manager process, handed out as
 * sealed memfds over a Unix socket.
 *
 * Conventions, everywhere in this header:
 *   - functions return 0 (or a non-negative value) on success and a negative
 *     errno on failure; nothing is ever printed and nothing exits;
 *   - handles are opaque; every unref/free function accepts NULL and returns NULL;
 *   - an fd argument is *borrowed* unless the comment says *consumed*;
 *   - every fd the library creates is close-on-exec;
 *   - a client belongs to the process that made it (as an sd-bus connection
 *     does): after fork() every call on it in the child fails with -ECHILD
 *     without touching the socket it shares with the parent, and
 *     lmm_client_unref() in the child frees only the child's copy.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmm-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LMM_EXPORT __attribute__((visibility("default")))

/* Longest block name in bytes, without the terminating NUL. */
#define LMM_NAME_MAX 200

typedef struct lmm_client lmm_client;
typedef struct lmm_segment lmm_segment;
typedef struct lmm_manager lmm_manager;

/**
 * lmm_version() - the version of the liblmm this program runs with
 *
 * "MAJOR.MINOR.MICRO", as LMM_VERSION_MAJOR, _MINOR and _MICRO are for the
 * header it was compiled with.
 *
 * Return: a static string.
 */
LMM_EXPORT const char *lmm_version(void);

/* ---------------------------------------------------------------- client */

/*
 * A client is one connection to a manager. Besides the errors each call
 * lists, any call that asks the manager something may fail with: -EINVAL
 * for a NULL or bad argument; -ECHILD in a forked child; -ESHUTDOWN once
 * lmm_server_shutdown() ran on the client's server; -ETIMEDOUT when the
 * manager did not answer in time (the connection is then given up);
 * -ECONNRESET once the manager has closed the connection; -EACCES when the
 * manager does not serve the caller's uid, -EUSERS past its connection
 * limits (its first answer, after which it closes); -EBADMSG for a reply
 * that breaks the protocol; -ENOMEM.
 */

/**
 * lmm_default_socket_path() - the manager socket a client uses by default
 * @buf: receives the path
 * @size: size of @buf
 *
 * $LMM_SOCKET if set, else $XDG_RUNTIME_DIR/lmm/lmmd.sock, else for root
 * /run/lmm/lmmd.sock.
 *
 * Return: 0, -ENXIO when there is no runtime directory, -ENAMETOOLONG.
 */
LMM_EXPORT int lmm_default_socket_path(char *buf, size_t size);

/**
 * lmm_client_connect() - connect to a manager
 * @path: socket path, or NULL for lmm_default_socket_path()
 * @ret: receives the client
 *
 * The client outlives its manager's restarts (lmmd restarted by systemd,
 * or re-executed: lmm_client_reexec_manager()). Once its connection has
 * ended (the manager closed it, exited or was killed), the next call
 * connects to @path again first, under the same fd number (a new socket:
 * poll() sets stay right, an epoll user adds it again). A blocking call
 * whose connection ends before its reply comes is sent again on a new
 * connection, once, when its request never left, or when doing it twice is
 * doing it once: lmm_segment_open(), lmm_block_stat(), lmm_block_list(),
 * lmm_block_freeze(). lmm_segment_create(), lmm_segment_adopt(),
 * lmm_block_release(), lmm_client_shutdown_manager() and
 * lmm_client_reexec_manager() are not sent again: they fail with
 * -ECONNRESET, and the manager may or may not have done them (ask with
 * lmm_block_stat()). Asynchronous calls are never sent again: their
 * handlers get -ECONNRESET. While nothing listens at @path, calls fail
 * with -ECONNRESET; so they do while a process of another uid than the
 * manager's (whoever took the path once the manager had gone) listens
 * there, and lmm_client_last_error() says so: the client connects again
 * only to a manager of the uid it first connected to. A client of
 * lmm_server_get_client() never reconnects.
 *
 * Return: 0, or a negative errno: -ENOENT/-ECONNREFUSED when no manager
 * listens there, -EACCES when the socket may not be opened.
 */
LMM_EXPORT int lmm_client_connect(const char *path, lmm_client **ret);

/**
 * lmm_client_unref() - close the connection and free the client
 *
 * Segments made through the client stay valid: they own their fds. In a
 * forked child this closes the child's copy of the socket only; the
 * parent's connection stays open. Return: NULL.
 */
LMM_EXPORT lmm_client *lmm_client_unref(lmm_client *c);

/**
 * lmm_client_last_error() - the manager's explanation of the last failure
 *
 * Every call on @c forgets the previous message first.
 *
 * Return: a one-line message (owned by @c, valid until the next call), or
 * NULL when the last call did not fail in the manager: it succeeded, or the
 * library refused it itself (a bad argument, -ECHILD, -ESHUTDOWN). Block
 * names appear in it as their raw bytes; a text is at most 255 bytes, cut
 * before a UTF-8 character that would not fit whole.
 */
LMM_EXPORT const char *lmm_client_last_error(const lmm_client *c);

/**
 * lmm_client_set_timeout() - bound the time a call waits for the manager
 * @usec: microseconds; 0 waits forever. The default is 25 s.
 *
 * Return: 0, -EINVAL.
 */
LMM_EXPORT int lmm_client_set_timeout(lmm_client *c, uint64_t usec);

/**
 * lmm_client_shutdown_manager() - ask the manager to shut down
 *
 * The manager seals every block against writable mappings, drops its
 * references and exits. Mappings that exist keep working.
 *
 * Return: 0 once the manager has taken the request; -EPERM unless the
 * caller is root or of the manager's uid.
 */
LMM_EXPORT int lmm_client_shutdown_manager(lmm_client *c);

/**
 * lmm_client_reexec_manager() - ask lmmd to execute itself again
 *
 * lmmd answers, then executes the binary at its path (so an upgraded one
 * takes over), handing the new program its listening sockets, every block
 * and its restart state: every block keeps its name, id, memory, seals and
 * owner, and the socket never stops accepting. Connections are closed,
 * connection-scoped blocks released; clients reconnect on their next call.
 * Only the manager's uid and root may.
 *
 * Return: 0 once the manager has answered; -EPERM for another uid;
 * -EOPNOTSUPP for a manager that keeps no restart state (one embedded in a
 * program, lmm_server_start()'s).
 */
LMM_EXPORT int lmm_client_reexec_manager(lmm_client *c);

/* ---------------------------------------------------------------- blocks */

/*
 * A block is a memfd the manager keeps, by name; an lmm_segment is one
 * process's fd to it, and its mapping. A call that asks the manager may
 * also fail as every client call may (see "client": -ECHILD, -ETIMEDOUT,
 * -ECONNRESET, -EACCES, ...).
 */

enum {
        /* Back the block with huge pages (MFD_HUGETLB). The size is rounded up
         * to the huge page size; fails with -ENOMEM when none are free. */
        LMM_CREATE_HUGETLB = 1u << 0,
        /* Scope the block to this connection: the manager releases it when
         * the connection closes, for any reason (exit, crash, kill -9). */
        LMM_CREATE_SCOPE_CONNECTION = 1u << 1,
        /* What other users may do with the block (the manager's uid and root
         * always may everything). Without either flag a block is its
         * creator's alone: no other uid can open, stat or list it. With
         * OTHERS_READ, every uid the manager serves may open it read-only;
         * with OTHERS_WRITE (which implies OTHERS_READ) read-write too. The
         * kernel holds to it as well: the memfd is mode 0600 and owned by
         * the manager's uid, so a read-only fd cannot be reopened
         * read-write through /proc/self/fd by another uid. */
        LMM_CREATE_OTHERS_READ = 1u << 2,
        LMM_CREATE_OTHERS_WRITE = 1u << 3,
};

enum {
        /* Open read-only: the fd is O_RDONLY and can only be mapped
         * read-only. This holds against a holder of another uid (blocks are
         * 0600, owned by the manager's uid), a holder that cannot open files
         * (a sandboxed worker), and for a frozen block; a process of the
         * manager's own uid can reopen /proc/self/fd/N read-write. */
        LMM_OPEN_RDONLY = 1u << 0,
};

/* Flags reported in lmm_block_info.flags. */
enum {
        LMM_BLOCK_HUGETLB = 1u << 0,
        LMM_BLOCK_SCOPE_CONNECTION = 1u << 1,
        LMM_BLOCK_FROZEN = 1u << 2,
        LMM_BLOCK_ADOPTED = 1u << 3,
        LMM_BLOCK_OTHERS_READ = 1u << 4,  /* other uids may open it read-only */
        LMM_BLOCK_OTHERS_WRITE = 1u << 5, /* ... and read-write */
};

/*
 * Names. Each uid has a namespace of its own: two users may both have a
 * block called "config", and nobody can take a name away from another user.
 * Where a call finds a block by name, NAME means the caller's own block, or,
 * when it has none, the block of that name that the manager's uid made; a
 * block of another user is named "UID/NAME" (UID in decimal), and is found
 * only when its owner shares it (LMM_CREATE_OTHERS_*). A name is 1 to
 * LMM_NAME_MAX bytes, with no '/' and no control characters.
 */

typedef struct lmm_segment_opts {
        uint64_t size;    /* bytes, > 0 */
        const char *name; /* NULL: the manager makes one up: "lmm_" and 16 hex
                           * digits of a counter of its own, not the id */
        uint32_t flags;   /* LMM_CREATE_* */
        /* Room for the fields of later versions (docs/abi.md): leave it zero,
         * as designated initialisers and {0} do. The library refuses any
         * other content with -EINVAL. */
        uint64_t reserved_[8];
        void *reserved_ptr_[8];
} lmm_segment_opts;

typedef struct lmm_block_info {
        uint64_t id;    /* unique within the manager, never reused */
        uint64_t size;  /* bytes */
        uint32_t seals; /* F_SEAL_* as F_GET_SEALS reports them */
        uint32_t flags; /* LMM_BLOCK_* */
        uint32_t owner_uid;
        int32_t owner_pid; /* creator's pid, as SO_PEERCRED saw it */
        uint64_t device;   /* st_dev of the memfd ... */
        uint64_t inode;    /* ... and its st_ino: which memory it is, to match it in /proc */
        char name[LMM_NAME_MAX + 1];
        /* Room for the fields of later versions (docs/abi.md); the library
         * zeroes it. */
        uint64_t reserved_[8];
} lmm_block_info;

/**
 * lmm_segment_create() - create a new block in the manager
 *
 * The block is an anonymous memfd of exactly @o->size bytes (rounded up to
 * the huge page size for LMM_CREATE_HUGETLB), sealed against shrinking and
 * growing, zero-filled. @ret holds a read-write fd to it.
 *
 * Return: 0; -EEXIST for a name in use; -EINVAL for a bad size (0, or above
 * 2^63-1: refused here, without asking the manager), name or flag; -EDQUOT
 * past the manager's per-user limits; with LMM_CREATE_HUGETLB -EOPNOTSUPP
 * when the system has no huge pages at all and -ENOMEM when too few are
 * free (checked before the limits); -ENOMEM.
 */
LMM_EXPORT int lmm_segment_create(lmm_client *c, const lmm_segment_opts *o, lmm_segment **ret);

/**
 * lmm_segment_open() - open an existing block by name
 * @name: NAME or UID/NAME (see "Names" above)
 * @flags: LMM_OPEN_*
 *
 * Return: 0; -ENOENT when no block of that name is there for the caller;
 * -EACCES when its owner shares it read-only and @flags asks to write.
 */
LMM_EXPORT int lmm_segment_open(lmm_client *c, const char *name, uint32_t flags, lmm_segment **ret);

/**
 * lmm_segment_adopt() - hand a memfd of one's own to the manager
 * @fd: a memfd made with MFD_ALLOW_SEALING (borrowed; the manager receives
 *      its own copy)
 * @name: name to give it, or NULL
 *
 * Python's track_segment(). The manager checks that @fd is a memfd, seals
 * its size, takes group and other permissions off its mode (so that no other
 * uid can reopen it through /proc), and from then on treats it like a block
 * of its own. @flags: LMM_CREATE_SCOPE_CONNECTION and LMM_CREATE_OTHERS_*.
 * The block reports LMM_BLOCK_HUGETLB for a memfd made with MFD_HUGETLB, and
 * LMM_BLOCK_FROZEN when the memfd is sealed F_SEAL_FUTURE_WRITE or
 * F_SEAL_WRITE already.
 *
 * Return: 0; -EBADF; -EINVAL when @fd is not a sealable memfd; -EPERM when
 * @fd is not open read-write (O_RDWR), the memfd can no longer be sealed, or
 * its mode lets other users in and the manager may not change it; -EEXIST
 * when the name is in use or the memfd is a block already.
 */
LMM_EXPORT int lmm_segment_adopt(lmm_client *c, int fd, const char *name, uint32_t flags,
                                 lmm_segment **ret);

/**
 * lmm_segment_from_fd() - wrap a block fd that arrived some other way
 * @fd: consumed, also on failure
 * @name: for lmm_segment_get_name(), may be NULL
 *
 * For workers that received blocks as fds. Checks that @fd is a memfd sealed
 * against shrinking, so that mapping it can never SIGBUS.
 *
 * Return: 0, -EBADF, -EINVAL (not a memfd), -EPERM (not size-sealed).
 */
LMM_EXPORT int lmm_segment_from_fd(int fd, const char *name, lmm_segment **ret);

/** lmm_segment_unref() - unmap and close. Return: NULL. */
LMM_EXPORT lmm_segment *lmm_segment_unref(lmm_segment *s);

enum {
        LMM_MAP_RDONLY = 1u << 0, /* map read-only even where writable is allowed */
};

/**
 * lmm_segment_map() - map the whole block, shared
 * @flags: LMM_MAP_*
 * @ret_addr: receives the address (may be NULL)
 *
 * The seals and the size are checked first (a block that could shrink is
 * refused). The mapping is writable unless the fd is read-only, the block is
 * frozen, or LMM_MAP_RDONLY is given. Mapping twice returns the same address.
 *
 * Return: 0, or 1 when the mapping is read-only; -EPERM when the block lost
 * its size seal, -EIO when its size is not the one announced.
 */
LMM_EXPORT int lmm_segment_map(lmm_segment *s, uint32_t flags, void **ret_addr);

/**
 * lmm_segment_unmap() - drop the mapping; the fd stays open.
 * Return: 0 (also when not mapped), -EINVAL, or munmap()'s error.
 */
LMM_EXPORT int lmm_segment_unmap(lmm_segment *s);

/** lmm_segment_get_fd() - the block's fd, owned by @s (borrow it). Return: the fd, -EINVAL. */
LMM_EXPORT int lmm_segment_get_fd(const lmm_segment *s);
/** lmm_segment_get_size() - the block's size. Return: bytes; 0 for NULL. */
LMM_EXPORT uint64_t lmm_segment_get_size(const lmm_segment *s);
/** lmm_segment_get_name() - the block's name. Return: owned by @s; NULL when it has none. */
LMM_EXPORT const char *lmm_segment_get_name(const lmm_segment *s);
/** lmm_segment_get_data() - the mapping. Return: its address; NULL when unmapped. */
LMM_EXPORT void *lmm_segment_get_data(const lmm_segment *s);
/** lmm_segment_is_writable() - whether the mapping is writable. Return: false when unmapped. */
LMM_EXPORT bool lmm_segment_is_writable(const lmm_segment *s);

/**
 * lmm_block_release() - drop the manager's reference and the name
 *
 * Python's unlink(). Holders keep their memory; the kernel frees it when the
 * last one closes. Only the owner, the manager's uid and root may.
 * Return: 0, -ENOENT, -EPERM for another user's block.
 */
LMM_EXPORT int lmm_block_release(lmm_client *c, const char *name);

/**
 * lmm_block_freeze() - seal a block F_SEAL_FUTURE_WRITE
 *
 * From then on nobody can map it writable or write() it; mappings that exist
 * keep working (publish, then share). Only the owner, the manager's uid and
 * root may. Return: 0, -ENOENT, -EPERM for another user's block.
 */
LMM_EXPORT int lmm_block_freeze(lmm_client *c, const char *name);

/**
 * lmm_block_stat() - what the manager knows of one block (@name: NAME or UID/NAME)
 * Return: 0, -ENOENT.
 */
LMM_EXPORT int lmm_block_stat(lmm_client *c, const char *name, lmm_block_info *ret);

/**
 * lmm_block_list() - every block the caller may open: its own and those
 * other users share (the manager's uid and root: every block)
 * @ret_blocks: receives an array, free() it
 * @ret_n: receives its length
 *
 * Return: 0; -EBADMSG when the manager's answers do not move forward.
 */
LMM_EXPORT int lmm_block_list(lmm_client *c, lmm_block_info **ret_blocks, size_t *ret_n);

/**
 * lmm_seals_to_string() - "shrink,grow,future_write"
 * Return: @buf, or "" for no seals.
 */
LMM_EXPORT const char *lmm_seals_to_string(uint32_t seals, char *buf, size_t size);

/* ---------------------------------------------------------------- asynchronous calls
 *
 * A service that runs its own event loop keeps many requests in flight on
 * one client (sd-bus's sd_bus_call_async()): it starts calls with the
 * *_async() functions, polls lmm_client_get_fd() for
 * lmm_client_get_events(), and calls lmm_client_process() when the fd is
 * ready. Each call's handler runs once, from lmm_client_process() (or from
 * a blocking call made on the same client, which processes what arrives
 * while it waits), in the order the calls were started. Inside a handler,
 * lmm_client_last_error() is the manager's explanation of a failure. A
 * handler may start calls, make blocking calls, and unref the client.
 * Handlers of calls still in flight when the client is unref'd never run.
 * The client's timeout does not apply: the caller's loop decides how long
 * to wait. Starting a call returns 0, or a negative errno and the handler
 * will not run.
 */

/* @s: on success a new segment that the handler owns (unref it); NULL on failure. */
typedef void (*lmm_segment_handler)(lmm_client *c, int error, lmm_segment *s, void *userdata);
/* @info: on success the block's record, valid during the call; NULL on failure. */
typedef void (*lmm_stat_handler)(lmm_client *c, int error, const lmm_block_info *info,
                                 void *userdata);
/* For calls that return nothing but their outcome: 0 or a negative errno. */
typedef void (*lmm_done_handler)(lmm_client *c, int error, void *userdata);

/**
 * lmm_segment_create_async() - lmm_segment_create(), completed by @handler.
 * Return: 0 when started; -EINVAL (as the blocking call would, and for
 * a NULL handler where one is needed), -ECHILD, -ESHUTDOWN, -ECONNRESET.
 */
LMM_EXPORT int lmm_segment_create_async(lmm_client *c, const lmm_segment_opts *o,
                                        lmm_segment_handler handler, void *userdata);
/**
 * lmm_segment_open_async() - lmm_segment_open(), completed by @handler.
 * Return: as lmm_segment_create_async().
 */
LMM_EXPORT int lmm_segment_open_async(lmm_client *c, const char *name, uint32_t flags,
                                      lmm_segment_handler handler, void *userdata);
/**
 * lmm_block_stat_async() - lmm_block_stat(), completed by @handler.
 * Return: as lmm_segment_create_async().
 */
LMM_EXPORT int lmm_block_stat_async(lmm_client *c, const char *name, lmm_stat_handler handler,
                                    void *userdata);
/**
 * lmm_block_release_async() - lmm_block_release(), completed by @handler (may be NULL).
 * Return: as lmm_segment_create_async().
 */
LMM_EXPORT int lmm_block_release_async(lmm_client *c, const char *name, lmm_done_handler handler,
                                       void *userdata);
/**
 * lmm_block_freeze_async() - lmm_block_freeze(), completed by @handler (may be NULL).
 * Return: as lmm_segment_create_async().
 */
LMM_EXPORT int lmm_block_freeze_async(lmm_client *c, const char *name, lmm_done_handler handler,
                                      void *userdata);

/** lmm_client_get_fd() - the fd to poll; borrowed. Return: the fd, or -EINVAL. */
LMM_EXPORT int lmm_client_get_fd(const lmm_client *c);

/**
 * lmm_client_get_events() - what to poll lmm_client_get_fd() for: POLLIN,
 * and POLLOUT while requests wait to be sent. Return: poll events, or -EINVAL.
 */
LMM_EXPORT int lmm_client_get_events(const lmm_client *c);

/**
 * lmm_client_process() - send what waits to be sent, read the replies that
 * arrived and run their handlers; never waits.
 *
 * Return: 1 when something was done, 0 when there was nothing to do; a
 * negative errno when the connection broke (every call in flight has then
 * completed with an error).
 */
LMM_EXPORT int lmm_client_process(lmm_client *c);

/**
 * lmm_client_wait() - wait until lmm_client_process() has something to do
 * @usec: at most this long; UINT64_MAX waits for ever.
 *
 * Return: 1 when it has, 0 on timeout, a negative errno.
 */
LMM_EXPORT int lmm_client_wait(lmm_client *c, uint64_t usec);

/** lmm_client_get_n_pending() - calls started and not yet completed. Return: their number. */
LMM_EXPORT size_t lmm_client_get_n_pending(const lmm_client *c);

/* ---------------------------------------------------------------- manager */

/*
 * The manager core, as lmmd runs it, for a service that serves blocks from
 * its own event loop. Its calls that return an int fail with -EINVAL for a
 * NULL manager.
 */

typedef struct lmm_manager_opts {
        const uid_t *allow_uids; /* besides the manager's own uid */
        size_t n_allow_uids;
        const gid_t *allow_gids;
        size_t n_allow_gids;
        uint64_t max_bytes_per_uid;  /* 0: default (8 GiB) */
        uint32_t max_blocks_per_uid; /* 0: default (4096) */
        uint32_t max_conns_per_uid;  /* 0: default (256) */
        /* Room for the fields of later versions (docs/abi.md): leave it zero,
         * as designated initialisers and {0} do. The library refuses any
         * other content with -EINVAL. */
        uint64_t reserved_[8];
        void *reserved_ptr_[8];
} lmm_manager_opts;

/**
 * lmm_manager_new() - a manager core, to embed in a service
 * @o: NULL for the defaults
 *
 * Return: 0; -EINVAL for a NULL @ret, a NULL list with a count, or
 * reserved space that is not zero; -ENOMEM; -EMFILE and the other errors
 * of making its fds and its thread.
 */
LMM_EXPORT int lmm_manager_new(const lmm_manager_opts *o, lmm_manager **ret);

/**
 * lmm_manager_free() - close every connection and drop every block without
 * sealing (use lmm_manager_shutdown() first for the documented shutdown).
 * Return: NULL.
 */
LMM_EXPORT lmm_manager *lmm_manager_free(lmm_manager *m);

/**
 * lmm_manager_listen() - create the socket at @path and serve it
 *
 * The directory is created 0700 when missing (0755 when other users are
 * allowed); the socket is 0600 (0666 when other users are allowed, the
 * manager checks SO_PEERCRED). A stale socket is replaced; a live one gives
 * -EADDRINUSE. The manager removes the socket at shutdown.
 *
 * Return: 0; -EINVAL for a relative path; -ENAMETOOLONG; -EADDRINUSE;
 * -ENOTSOCK when something else than a socket is there; -ESHUTDOWN after
 * lmm_manager_shutdown(); -EPERM when a user other than root and the manager's could
 * replace the socket: a directory on the way (symbolic links followed) is
 * owned by another uid, or writable by its group or others without the
 * sticky bit; or a socket file of another uid is already there.
 */
LMM_EXPORT int lmm_manager_listen(lmm_manager *m, const char *path);

/**
 * lmm_manager_add_listener() - serve an already listening socket
 * @fd: consumed; a SOCK_SEQPACKET socket (socket activation)
 *
 * Return: 0; -ESOCKTNOSUPPORT for another type of socket; -ESHUTDOWN after
 * lmm_manager_shutdown(); -ENOMEM.
 */
LMM_EXPORT int lmm_manager_add_listener(lmm_manager *m, int fd);

/**
 * lmm_manager_add_connection() - serve one already connected socket
 * @fd: consumed; SOCK_SEQPACKET
 * @owner: when true the manager shuts down once this connection closes, so
 *         that the process that started it cannot leave it orphaned; at
 *         shutdown its socket is closed on the calling thread (every other
 *         peer's on the closer's), so what its peer queued can delay that
 *         call, and nothing else
 *
 * Return: as lmm_manager_add_listener().
 */
LMM_EXPORT int lmm_manager_add_connection(lmm_manager *m, int fd, bool owner);

/**
 * lmm_manager_get_fd() - an epoll fd that is readable when the manager has
 * work; call lmm_manager_dispatch() then. Borrowed. Return: the fd.
 */
LMM_EXPORT int lmm_manager_get_fd(const lmm_manager *m);

/**
 * lmm_manager_dispatch() - handle what is pending, waiting at most
 * @timeout_usec (0: do not wait; UINT64_MAX: wait forever)
 *
 * Return: 0, or 1 once the manager has shut down; epoll_wait()'s error.
 */
LMM_EXPORT int lmm_manager_dispatch(lmm_manager *m, uint64_t timeout_usec);

/**
 * lmm_manager_run() - serve until shut down (Python's serve_forever())
 * Return: 0; as lmm_manager_dispatch() and lmm_manager_shutdown().
 */
LMM_EXPORT int lmm_manager_run(lmm_manager *m);

/**
 * lmm_manager_shutdown() - the documented shutdown: stop accepting, seal
 * every block shrink|grow|future_write|seal, drop the manager's fds, remove
 * the socket. Idempotent.
 *
 * Return: 0; -EIO when a block could not be sealed (the others were).
 */
LMM_EXPORT int lmm_manager_shutdown(lmm_manager *m);

/**
 * lmm_manager_is_shut_down() - whether lmm_manager_shutdown() has run.
 * Return: true once it has.
 */
LMM_EXPORT bool lmm_manager_is_shut_down(const lmm_manager *m);

/**
 * lmm_manager_handle_signals() - shut down cleanly on SIGTERM and SIGINT
 *
 * Blocks both signals in the calling thread and watches them through a
 * signalfd on the manager's epoll fd. A SIGINT the process ignores (SIG_IGN)
 * when this is called is left alone and stays ignored. For a process whose
 * only job is to be the manager (lmmd, lmm_server_start()).
 *
 * Return: 0 (also when called again); signalfd()'s or epoll_ctl()'s error.
 */
LMM_EXPORT int lmm_manager_handle_signals(lmm_manager *m);

/** Log callback: one line, no newline; level as syslog's LOG_*. */
typedef void (*lmm_log_func)(int level, const char *line, void *userdata);
/** lmm_manager_set_log() - where the manager's log lines go: @f, or nowhere for NULL. */
LMM_EXPORT void lmm_manager_set_log(lmm_manager *m, lmm_log_func f, void *userdata);

/** Statistics for tests and status output. */
typedef struct lmm_manager_stats {
        uint64_t n_blocks, n_bytes, n_connections;
        /* Room for the fields of later versions (docs/abi.md); the library
         * zeroes it. */
        uint64_t reserved_[8];
} lmm_manager_stats;
/** lmm_manager_get_stats() - fill in @ret; nothing for a NULL @m or @ret. */
LMM_EXPORT void lmm_manager_get_stats(const lmm_manager *m, lmm_manager_stats *ret);

/* ---------------------------------------------------------------- server */

/*
 * A manager process started by this program: Python's
 * SharedMemoryManager().start(). It needs no system-wide lmmd. It ends when
 * lmm_server_shutdown() is called, and also when this program exits or is
 * killed, since it serves only as long as its owner connection is open; it
 * then removes its socket, and the private directory it made for it.
 *
 * An lmm_server belongs to the process that started it, as an sd-bus
 * connection does. In a child forked after lmm_server_start() the copy only
 * answers the getters: lmm_server_shutdown() fails with -ECHILD, calls on
 * the owner client fail with -ECHILD, and lmm_server_unref() frees the
 * child's copy without touching the manager, its socket or its directory.
 */
typedef struct lmm_server lmm_server;

/* Runs in the manager process before it serves (Python's initializer).
 * Return: >= 0 to go on, a negative errno to abort the start with it. */
typedef int (*lmm_initializer)(void *initargs);

typedef struct lmm_server_opts {
        const lmm_manager_opts *manager; /* limits and allowed users; NULL: defaults */
        /* NULL: a fresh private directory in $XDG_RUNTIME_DIR or /tmp, 0700
         * (0755 when the manager lets other users in) */
        const char *socket_path;
        lmm_initializer initializer;
        void *initargs;
        /* Room for the fields of later versions (docs/abi.md): leave it zero,
         * as designated initialisers and {0} do. The library refuses any
         * other content with -EINVAL. */
        uint64_t reserved_[8];
        void *reserved_ptr_[8];
} lmm_server_opts;

/**
 * lmm_server_start() - fork a manager process and connect to it
 * @o: NULL for the defaults
 *
 * The manager process keeps no fd of its caller's but stdin, stdout and
 * stderr; it ignores SIGINT (a terminal's ^C, sent to the whole process
 * group, reaches the program, whose exit then ends the manager) and shuts
 * down cleanly on SIGTERM. It stays in the caller's process group.
 *
 * The owner connection is close-on-exec, but a plain fork() of the caller
 * shares it: the manager then ends when the last of those processes has
 * closed it (lmm_server_unref() in the child closes the child's copy) or
 * exited, or when the process that started it calls lmm_server_shutdown().
 *
 * Each call starts a manager of its own, also after an earlier one was shut
 * down, and also in a forked child (the child then owns that one).
 *
 * Return: 0 once the manager accepts connections; the initializer's error;
 * -EADDRINUSE when @o->socket_path is served already; -ECHILD when the
 * manager died before it could say why; -EINVAL for a relative
 * @o->socket_path or reserved space that is not zero; lmm_manager_new()'s
 * and lmm_manager_listen()'s errors; -ENOMEM.
 */
LMM_EXPORT int lmm_server_start(const lmm_server_opts *o, lmm_server **ret);

/**
 * lmm_server_get_address() - the socket path, for lmm_client_connect() elsewhere
 *
 * Owned by @s, valid until lmm_server_unref(), also after shutdown and in a
 * forked child. While the manager is stopped, connecting there still works
 * but calls time out. Once it has ended it listens there no more: it
 * removes its socket (and a private directory) itself, unless it was
 * killed, and then lmm_server_shutdown() removes them. (In /tmp another
 * user may then make the path again; a client that was connected to this
 * manager does not connect to that user's: lmm_client_connect().)
 * Return: NULL for a NULL @s.
 */
LMM_EXPORT const char *lmm_server_get_address(const lmm_server *s);

/**
 * lmm_server_get_client() - the owner connection
 *
 * Owned by @s: valid until lmm_server_unref(), never freed before. After
 * lmm_server_shutdown() every call on it fails with -ESHUTDOWN; in a forked
 * child with -ECHILD (neither sends anything). While the manager is stopped
 * or hung, a call fails with -ETIMEDOUT after the client's timeout
 * (lmm_client_set_timeout()) and the connection is given up: later calls
 * fail with -ECONNRESET, as they do once the manager is dead. The client's
 * timeout also bounds lmm_server_shutdown(). Return: NULL for a NULL @s.
 */
LMM_EXPORT lmm_client *lmm_server_get_client(const lmm_server *s);

/**
 * lmm_server_get_pid() - the manager process
 *
 * The caller's child until lmm_server_shutdown() reaps it, so until then
 * the pid stays the manager's, stopped or even dead (a zombie), and may be
 * signalled; after that it may belong to another process. In a forked child
 * it is the parent's child, not the caller's: leave it alone. Return: -1 for NULL.
 */
LMM_EXPORT pid_t lmm_server_get_pid(const lmm_server *s);

/**
 * lmm_server_shutdown() - the documented shutdown, then reap the process
 *
 * Sends the shutdown request on the owner connection, closes it, and waits
 * for the manager to exit, each for at most the owner client's timeout
 * (25 s unless lmm_client_set_timeout() changed it; 0 waits for ever). A
 * manager that does not answer or exit in time (stopped, hung) gets SIGTERM
 * with SIGCONT, so that a stopped manager still shuts down as documented,
 * and after another timeout SIGKILL, through a pidfd. It is reaped in every
 * case, and its private socket and directory removed. The owner client
 * stays valid; its calls fail with -ESHUTDOWN from then on.
 *
 * Return: 0 when the manager exited cleanly, every block sealed (also when
 * another client had shut it down already); -ETIMEDOUT when it did not
 * answer or exit in time, and was signalled unless it had exited meanwhile
 * (its blocks are sealed only if it could still shut down); -EIO when it
 * exited with an error (a block it could not seal) or by a signal someone
 * else sent (with SIGCHLD ignored the kernel reaps it, and its status is
 * lost: 0); -ECHILD in a forked child, which must leave the manager to its
 * parent. Idempotent: later calls return the same.
 */
LMM_EXPORT int lmm_server_shutdown(lmm_server *s);

/**
 * lmm_server_unref() - shut down if still running, and free
 *
 * In the process that started the manager: lmm_server_shutdown() unless it
 * ran already, so also bounded by the owner client's timeout, escalating on
 * a stopped manager and reaping a dead one; then the owner client is freed
 * too. In a forked child: frees the child's copy only (closing its copy of
 * the owner connection); the manager keeps serving the parent. Return: NULL.
 */
LMM_EXPORT lmm_server *lmm_server_unref(lmm_server *s);

/* Scope helpers, the counterpart of Python's "with":
 *     _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;                */
#define _lmm_cleanup_(f) __attribute__((cleanup(f)))
static inline void lmm_server_unrefp(lmm_server **p) {
        *p = lmm_server_unref(*p);
}
static inline void lmm_client_unrefp(lmm_client **p) {
        *p = lmm_client_unref(*p);
}
static inline void lmm_segment_unrefp(lmm_segment **p) {
        *p = lmm_segment_unref(*p);
}

/* ---------------------------------------------------------------- shareable list */

/*
 * A fixed-length list of typed items in one block (Python's ShareableList,
 * without its known bugs): strings and bytes keep their exact length,
 * trailing NULs included; string slots are sized in UTF-8 bytes; access by
 * index is O(1); every item is guarded by a sequence lock in the block, so a
 * reader never sees a half-written item and two writers in two processes
 * never interleave. A block that holds garbage is refused, never read out of
 * bounds, at open and on every access. Layout and guarantees:
 * docs/shareable-list.md.
 */

typedef struct lmm_list lmm_list;

typedef enum lmm_item_type {
        LMM_ITEM_NONE = 0,
        LMM_ITEM_INT = 1,    /* int64_t */
        LMM_ITEM_DOUBLE = 2, /* IEEE 754 binary64 */
        LMM_ITEM_BOOL = 3,
        LMM_ITEM_STR = 4, /* valid UTF-8, any bytes including NUL */
        LMM_ITEM_BYTES = 5,
} lmm_item_type;

/* Largest slot of one item, in bytes (Python caps items at 10 MB). */
#define LMM_LIST_ITEM_MAX (16u * 1024u * 1024u)
/* Most items in one list. */
#define LMM_LIST_LEN_MAX (1u << 26)

typedef struct lmm_item {
        lmm_item_type type;
        union {
                int64_t i;
                double d;
                bool b;
                struct {
                        const void *data;
                        size_t len; /* bytes, exact */
                } buf;
        };
        /* Slot size in bytes. At create: 0 picks the value's length rounded
         * up to 8, at least 8; more reserves room for longer values later.
         * Scalars live in the item's descriptor and always fit; the slot lets
         * a string or bytes value replace them later. On get: the slot's size. */
        size_t capacity;
} lmm_item;

/* A zeroed item that neither C nor C++ compilers warn about. */
#ifdef __cplusplus
#define LMM_ITEM_ZERO_ \
        {}
#else
#define LMM_ITEM_ZERO_ \
        { LMM_ITEM_NONE }
#endif

static inline lmm_item lmm_item_none(void) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_NONE;
        return v;
}
static inline lmm_item lmm_item_int(int64_t i) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_INT;
        v.i = i;
        return v;
}
static inline lmm_item lmm_item_double(double d) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_DOUBLE;
        v.d = d;
        return v;
}
static inline lmm_item lmm_item_bool(bool b) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_BOOL;
        v.b = b;
        return v;
}
/* @len bytes of UTF-8 at @s; NULs are part of the value. */
static inline lmm_item lmm_item_strn(const char *s, size_t len) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_STR;
        v.buf.data = s;
        v.buf.len = len;
        return v;
}
/* A NUL-terminated string, without its terminator. */
static inline lmm_item lmm_item_str(const char *s) {
        size_t len = 0;
        while (s[len])
                len++;
        return lmm_item_strn(s, len);
}
static inline lmm_item lmm_item_bytes(const void *p, size_t len) {
        lmm_item v = LMM_ITEM_ZERO_;
        v.type = LMM_ITEM_BYTES;
        v.buf.data = p;
        v.buf.len = len;
        return v;
}
/* The same item with a slot of @capacity bytes (for lmm_list_create()). */
static inline lmm_item lmm_item_with_capacity(lmm_item v, size_t capacity) {
        v.capacity = capacity;
        return v;
}

/**
 * lmm_list_create() - create a block in the manager and lay out a list in it
 * @name: block name, or NULL for one made up by the manager
 * @items: the initial items (@n of them, @n may be 0)
 * @create_flags: LMM_CREATE_*
 *
 * The list is complete before any other process can see it as one: the
 * header's magic is written last.
 *
 * Return: 0; -EINVAL for a bad item (unknown type, capacity smaller than the
 * value, @n > LMM_LIST_LEN_MAX, a slot > LMM_LIST_ITEM_MAX); -EILSEQ for a
 * string that is not UTF-8; whatever lmm_segment_create() returns.
 */
LMM_EXPORT int lmm_list_create(lmm_client *c, const char *name, const lmm_item *items, size_t n,
                               uint32_t create_flags, lmm_list **ret);

/**
 * lmm_list_open() - open a list by its block's name
 * @flags: LMM_OPEN_* (LMM_OPEN_RDONLY: a read-only list, sets give -EROFS)
 *
 * Return: 0; -EBADMSG when the block does not hold a valid list; -EBUSY when
 * an item stays locked by a writer for more than a second while it is
 * checked; whatever lmm_segment_open() and lmm_segment_map() return.
 */
LMM_EXPORT int lmm_list_open(lmm_client *c, const char *name, uint32_t flags, lmm_list **ret);

/**
 * lmm_list_from_segment() - a list in a block that arrived as an fd
 * @s: consumed, also on failure; mapped here unless it already is
 *
 * Return: 0, -EBADMSG, or what lmm_segment_map() returns.
 */
LMM_EXPORT int lmm_list_from_segment(lmm_segment *s, lmm_list **ret);

/** lmm_list_unref() - unmap, close and free (single owner). Return: NULL. */
LMM_EXPORT lmm_list *lmm_list_unref(lmm_list *l);

/** lmm_list_len() - number of items, fixed at create. Return: it; 0 for NULL. */
LMM_EXPORT size_t lmm_list_len(const lmm_list *l);

/**
 * lmm_list_get() - read item @i, consistently
 * @ret: receives the item; for STR and BYTES @ret->buf.data points into @buf
 * @buf: receives a copy of a STR or BYTES value, NUL-terminated when there
 *       is room for one more byte (the NUL is not counted in buf.len)
 * @bufsize: size of @buf (may be 0 with @buf NULL for scalars)
 *
 * Return: 0; -ERANGE for @i >= length; -ENOBUFS when @bufsize is too small:
 * then, unlike other failures, @ret->type and @ret->buf.len (the bytes
 * needed) are filled in and @ret->buf.data is NULL; -EBADMSG when the item
 * in the block is corrupt; -EBUSY when the item stays locked by a writer for
 * more than a second (a writer that died mid-write, or a hostile one).
 */
LMM_EXPORT int lmm_list_get(lmm_list *l, size_t i, lmm_item *ret, void *buf, size_t bufsize);

/**
 * lmm_list_set() - replace item @i, atomically for every reader and writer
 *
 * The item may change type: a scalar always fits; a STR or BYTES value
 * fits when it is no longer than the slot.
 *
 * Return: 0; -ERANGE for @i; -ENOSPC when the value is longer than the
 * slot; -EILSEQ for a string that is not UTF-8; -EINVAL for an unknown
 * type; -EROFS for a read-only list; -EBADMSG, -EBUSY as for lmm_list_get().
 */
LMM_EXPORT int lmm_list_set(lmm_list *l, size_t i, const lmm_item *v);

/**
 * lmm_list_count() - how many items equal @v (same type and value; doubles
 * compare with ==, so NaN equals nothing; @v's capacity is ignored)
 *
 * Return: the count (>= 0; an int holds LMM_LIST_LEN_MAX), or -EINVAL,
 * -EILSEQ for a bad @v, -EBADMSG, -EBUSY as for lmm_list_get().
 */
LMM_EXPORT int lmm_list_count(lmm_list *l, const lmm_item *v);

/**
 * lmm_list_index() - the first index whose item equals @v, as for count
 *
 * Return: 0 with @ret set; -ENOENT when no item equals @v; -EBADMSG, -EBUSY.
 */
LMM_EXPORT int lmm_list_index(lmm_list *l, const lmm_item *v, size_t *ret);

/** lmm_list_get_name() - the block's name (owned by @l). Return: NULL when it has none. */
LMM_EXPORT const char *lmm_list_get_name(const lmm_list *l);
/** lmm_list_get_segment() - the block (owned by @l, borrow it). Return: NULL for NULL. */
LMM_EXPORT lmm_segment *lmm_list_get_segment(const lmm_list *l);
/** lmm_list_is_writable() - whether lmm_list_set() can succeed. Return: false for NULL. */
LMM_EXPORT bool lmm_list_is_writable(const lmm_list *l);

/* ---------------------------------------------------------------- sandbox */

/*
 * A worker can be confined with a seccomp filter (docs/workers.md has each
 * profile's table of calls, with reasons):
 *   "compute" — what a program enters itself once it has mapped its blocks:
 *               reading and writing the fds it holds, memory (never
 *               executable), threads, clocks, waiting. No opening files, no
 *               sockets, no exec, no new process, no other process.
 *   "launch"  — what a launcher applies to an arbitrary program at exec: it
 *               can still exec and load its libraries, but makes no socket
 *               (AF_UNIX socketpairs aside), mounts nothing, enters no
 *               namespace, reaches no other process's memory or fds, adds no
 *               seal to a block.
 * In every profile, a call through a foreign ABI (i386's int 0x80, x32)
 * kills the process, and clone3() fails with ENOSYS, so that glibc falls
 * back to clone(), whose flags a filter can see.
 */

/*
 * A call the sandbox denies fails with this errno. The kernel's own code
 * never returns it (Linux 6.12's source uses ENOSTR nowhere but in the list
 * of errno names), so a denied call cannot be mistaken for one the kernel
 * refused; only a FUSE daemon, a ptrace or seccomp supervisor, or another
 * filter can make a call fail with any errno it likes. EOPNOTSUPP would
 * not do: mmap() (MAP_SYNC) and socketpair() (AF_INET) return it.
 */
#define LMM_SANDBOX_ERRNO ENOSTR

enum {
        /* A denied call kills the process with SIGSYS instead of failing. */
        LMM_SANDBOX_KILL = 1u << 0,
};

/**
 * lmm_sandbox_enter() - confine the calling process with a profile
 * @profile: "compute" or "launch"
 * @flags: LMM_SANDBOX_*
 *
 * Every thread of the process is confined (SECCOMP_FILTER_FLAG_TSYNC),
 * threads made later too, and so is every program it execs (where the
 * profile lets it exec). It cannot be undone; entering again adds a filter,
 * and the stricter answer of the two wins. Sets PR_SET_NO_NEW_PRIVS. For
 * "compute" it also clears READ_IMPLIES_EXEC from the personality, which
 * would make every readable mapping executable.
 *
 * Under "compute", kill() and tgkill() reach the process itself (raise(),
 * abort() and pthread_kill() work) and nothing else; newfstatat() is
 * allowed with AT_EMPTY_PATH, as glibc's fstat() calls it, and a filter
 * cannot see the path, so a process can still learn a reachable file's
 * metadata (never open it).
 *
 * Return: 0; -EINVAL for an unknown profile or flag; -EBUSY when another
 * thread has a seccomp filter of its own; -ENOMEM; another -errno from
 * building or loading the filter (under "compute" already, building fails:
 * it needs memfd_create()).
 */
LMM_EXPORT int lmm_sandbox_enter(const char *profile, uint32_t flags);
/* ---------------------------------------------------------------- workers
 *
 * A worker is a program started with blocks already open: fds 3, 4, ... in
 * the order they were added, described as systemd's socket activation
 * describes its fds (LISTEN_FDS, LISTEN_FDNAMES with the blocks' names,
 * LISTEN_PID), so that it finds them with lmm_segment_from_listen_fds() or
 * sd_listen_fds_with_names(). It holds no other fd of its launcher's but 0,
 * 1 and 2. By default it is confined: in a user and mount namespace of its
 * own where an empty read-only tmpfs covers every procfs, with no
 * capabilities, and under the "launch" seccomp profile. docs/workers.md
 * says what that leaves a worker, and how to write one.
 */

typedef struct lmm_launch lmm_launch; /* what to launch with: blocks, confinement */
typedef struct lmm_worker lmm_worker; /* a launched process */

enum {
        /* Pass the block read-only: the worker's fd is O_RDONLY (reopened
         * so through /proc/self/fd when the segment's is read-write), and
         * it cannot write the block by any route. A block that is not
         * frozen (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE) is then passed only
         * to a confined worker in a user namespace, where /proc is hidden:
         * anywhere else a process of the block's owner could reopen its fd
         * read-write through /proc. */
        LMM_LAUNCH_READ_ONLY = 1u << 0,
};

/**
 * lmm_launch_new() - an empty launch: no blocks, confined, "launch" profile
 * Return: 0, -EINVAL, -ENOMEM.
 */
LMM_EXPORT int lmm_launch_new(lmm_launch **ret);

/** lmm_launch_free() - close the launch's fds and free it; workers live on. Return: NULL. */
LMM_EXPORT lmm_launch *lmm_launch_free(lmm_launch *l);

/**
 * lmm_launch_last_error() - why the last call on @l failed, in one line
 * naming the block or program and the cause, for a tool to print after its
 * own name: "cannot launch /bin/foo: mount tmpfs over /proc: Operation not
 * permitted".
 *
 * Return: the message (owned by @l, valid until the next call on it), or
 * NULL when the last call succeeded, or failed on a bad argument or for
 * want of memory.
 */
LMM_EXPORT const char *lmm_launch_last_error(const lmm_launch *l);

/**
 * lmm_launch_add_block() - pass a block to the workers of this launch
 * @s: borrowed; the launch keeps an fd of its own (so @s may be unref'd)
 * @flags: LMM_LAUNCH_*
 *
 * The block becomes the next fd from 3 up, named by @s's name in
 * LISTEN_FDNAMES. A segment whose fd is read-only (LMM_OPEN_RDONLY) is
 * passed read-only, LMM_LAUNCH_READ_ONLY or not.
 *
 * Return: 0; -EINVAL for a block without a name or with ':' in it (which
 * separates LISTEN_FDNAMES), or an unknown flag; -EEXIST when a block of
 * that name was added already; the errno of reopening it read-only.
 */
LMM_EXPORT int lmm_launch_add_block(lmm_launch *l, lmm_segment *s, uint32_t flags);

/**
 * lmm_launch_set_profile() - the seccomp profile of a confined worker
 * @profile: "launch" (the default; NULL means it too)
 *
 * Return: 0; -EINVAL for an unknown name, and for "compute", which forbids
 * execve(): a program enters it itself once set up, with lmm_sandbox_enter().
 */
LMM_EXPORT int lmm_launch_set_profile(lmm_launch *l, const char *profile);

/**
 * lmm_launch_set_unconfined() - launch without any confinement: no
 * namespaces, no seccomp filter. Must be asked for; a block passed
 * read-only then has to be frozen.
 *
 * Return: 0, -EINVAL for NULL.
 */
LMM_EXPORT int lmm_launch_set_unconfined(lmm_launch *l, bool unconfined);

/**
 * lmm_launch_set_kill_on_violation() - a call the profile forbids kills the
 * worker (SIGSYS) instead of failing with LMM_SANDBOX_ERRNO.
 *
 * Return: 0, -EINVAL for NULL.
 */
LMM_EXPORT int lmm_launch_set_kill_on_violation(lmm_launch *l, bool kill);

/**
 * lmm_launch_set_stdio() - the worker's stdin, stdout and stderr
 * @in, @out, @err: borrowed (the launch keeps its own copies); -1 leaves the
 * launcher's own fd in place, as without this call.
 *
 * Return: 0, -EBADF.
 */
LMM_EXPORT int lmm_launch_set_stdio(lmm_launch *l, int in, int out, int err);

/**
 * lmm_launch_spawn() - start a worker
 * @path: the program; no $PATH search
 * @argv: its arguments, argv[0] first, NULL-terminated; NULL: { @path, NULL }
 * @envp: its environment; NULL: the launcher's (environ). LISTEN_FDS,
 *        LISTEN_PID, LISTEN_FDNAMES, LISTEN_PIDFDID and NOTIFY_SOCKET are
 *        taken out and the first three set anew for the blocks.
 * @ret: receives the worker
 *
 * Safe in a multithreaded launcher: between the clone and execve() the
 * child allocates nothing and takes no lock. Returns once the program runs,
 * or with the error of the step that failed (the child is reaped).
 *
 * Confined, the worker runs as the launcher's uid and gid, mapped to
 * themselves in its user namespace; a launcher that is not dumpable (it
 * changed uid without an exec(), or set PR_SET_DUMPABLE to 0) cannot write
 * that map, and its worker sees itself as the overflow uid (65534) while
 * the kernel treats it as the launcher's uid all the same.
 *
 * The worker dies (SIGKILL) when the *thread* that called this ends, not
 * only the process: PR_SET_PDEATHSIG. A launcher that may end the thread
 * before the worker should launch from a thread that lives as long.
 * Unconfined, a set-user-ID program loses that link at execve().
 *
 * Return: 0; -EPERM when a read-only block is not frozen and the launch is
 * unconfined; the errno of unshare() when it is confined but user
 * namespaces are unavailable to hide /proc for such a block; otherwise
 * the errno of the failing step (-ENOENT, -EACCES from execve() ...).
 * lmm_launch_last_error() says which step, on what, and why.
 */
LMM_EXPORT int lmm_launch_spawn(lmm_launch *l, const char *path, char *const argv[],
                                char *const envp[], lmm_worker **ret);

/**
 * lmm_worker_get_pid() - the worker's pid (the caller's child until reaped)
 * Return: the pid, -EINVAL for NULL.
 */
LMM_EXPORT pid_t lmm_worker_get_pid(const lmm_worker *w);

/**
 * lmm_worker_get_pidfd() - a pidfd of the worker, owned by @w (borrow it)
 * Return: the fd, -EINVAL for NULL.
 */
LMM_EXPORT int lmm_worker_get_pidfd(const lmm_worker *w);

/**
 * lmm_worker_wait() - wait for the worker to end, and reap it
 * @ret_status: its exit code, or 128+N when signal N ended it, as shells
 *              report (may be NULL)
 *
 * Blocks. Once reaped, later calls give the same status at once.
 * Return: 0; -ECHILD when someone else reaped it (a waitpid(-1), SIGCHLD
 * ignored), or in a forked child of the launcher.
 */
LMM_EXPORT int lmm_worker_wait(lmm_worker *w, int *ret_status);

/**
 * lmm_worker_kill() - send @sig through the pidfd, never to a reused pid
 * Return: 0; -ESRCH once the worker has been reaped.
 */
LMM_EXPORT int lmm_worker_kill(lmm_worker *w, int sig);

/**
 * lmm_worker_free() - close the pidfd and free @w
 *
 * Does not stop the worker: it runs on until it ends, or until the thread
 * that launched it ends (see lmm_launch_spawn()). It stays the launcher's
 * child: once it has ended it is a zombie until the launcher reaps it
 * (waitpid() on lmm_worker_get_pid(), taken before this call) or ignores
 * SIGCHLD. Return: NULL.
 */
LMM_EXPORT lmm_worker *lmm_worker_free(lmm_worker *w);

/**
 * lmm_segment_from_listen_fds() - in a worker: the block called @name
 *
 * Looks @name up in LISTEN_FDNAMES, once LISTEN_PID has said that
 * LISTEN_FDS are this process's, and wraps a duplicate of its fd (3 + its
 * index) as a segment, checked as lmm_segment_from_fd() checks: a segment
 * that maps read-only when the fd is. The fd at 3 + index stays open,
 * close-on-exec from then on, as sd_listen_fds() leaves it. Works where
 * /proc is hidden.
 *
 * Return: 0; -ENXIO when the process was not launched with fds (no
 * LISTEN_PID, or another process's); -EINVAL when LISTEN_FDS,
 * LISTEN_FDNAMES or LISTEN_PID are malformed or disagree; -ENOENT when no
 * block has that name; -EBADF when its fd is closed; what
 * lmm_segment_from_fd() returns.
 */
LMM_EXPORT int lmm_segment_from_listen_fds(const char *name, lmm_segment **ret);

/* Scope helpers, as for the server: _lmm_cleanup_(lmm_launch_freep) lmm_launch *l = NULL; */
static inline void lmm_launch_freep(lmm_launch **p) {
        *p = lmm_launch_free(*p);
}
static inline void lmm_worker_freep(lmm_worker **p) {
        *p = lmm_worker_free(*p);
}

/* ---------------------------------------------------------------- passing blocks */

/*
 * A block sent to a process that is already running, over any connected
 * AF_UNIX socket (stream, seqpacket or datagram): one message of a small
 * header, the name and exactly one fd. The format is in docs/workers.md, so
 * that a program without liblmm can speak it.
 */

enum {
        /* Send an O_RDONLY fd (reopened so through /proc/self/fd when the
         * segment's is read-write) and say so in the header. As for
         * LMM_OPEN_RDONLY, that holds against a receiver of another uid, a
         * confined one, and for a frozen block: a process of the block's
         * owner can reopen the fd read-write through /proc. */
        LMM_SEND_READ_ONLY = 1u << 0,
};

/**
 * lmm_block_send() - send @s's fd, name, size and mode over @sock
 * @sock: borrowed; blocking or not, the whole message is sent
 * @flags: LMM_SEND_*
 *
 * A read-only fd is always announced read-only. Never raises SIGPIPE.
 * Return: 0; -EINVAL; -EPIPE, -ECONNRESET, -ENOTCONN when nobody receives;
 * -EAGAIN when a non-blocking socket can take nothing now (nothing was sent;
 * once a stream took part of the message, the rest is waited for); the
 * errno of reopening it read-only.
 */
LMM_EXPORT int lmm_block_send(int sock, lmm_segment *s, uint32_t flags);

/**
 * lmm_block_recv() - receive one block sent with lmm_block_send()
 * @sock: borrowed. On a stream socket the call reads exactly one message,
 *        waiting for its rest once it has begun (also when @sock is
 *        non-blocking); after a failure the stream is out of step, close it.
 * @flags: 0
 * @ret: receives the segment, read-only when its fd is
 *
 * The fd arrives close-on-exec. Every fd that came with a refused message
 * is closed. Return: 0, or for a refusal:
 *   -ECONNRESET  the peer closed the socket before a message began;
 *   -EAGAIN      nothing there yet on a non-blocking socket;
 *   -EBADMSG     not such a message: magic, length, name, reserved bits;
 *   -EPROTONOSUPPORT  a version of the format this library does not know;
 *   -ETIMEDOUT   a blocking stream's SO_RCVTIMEO ran out inside a message;
 *   -ENOBUFS     fds were lost on the way (MSG_CTRUNC: this process's fd
 *                table was full);
 *   -ENODATA     no fd came with it;
 *   -ETOOMANYREFS  more than one fd came with it;
 *   -EMEDIUMTYPE the fd is not a memfd;
 *   -EPERM       the memfd's size is not sealed (F_SEAL_SHRINK|F_SEAL_GROW);
 *   -EIO         its size is not the one the header announces;
 *   -EROFS       the header says read-only but the fd is writable.
 */
LMM_EXPORT int lmm_block_recv(int sock, uint32_t flags, lmm_segment **ret);

#ifdef __cplusplus
}
#endif
