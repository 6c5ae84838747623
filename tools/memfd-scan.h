/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * memfd-scan — read /proc and build an in-memory model of every memfd the
 * caller can see, grouped by the memory itself (device + inode), not by fd:
 * who holds an fd to it (pid, fd, access mode) and who maps it (range,
 * protection, shared or private, Rss and Pss from smaps).
 *
 * Guarantees: nothing is printed, nothing exits; functions return 0 or a
 * negative errno. A process that exits during the scan is skipped silently;
 * a process that may not be read (EACCES/EPERM), or whose memory map stayed
 * locked past the stall timeout (ETIMEDOUT), is recorded in
 * memfd_scan.unreadable with its errno, so a front end can say so once.
 * Every fd opened here is O_CLOEXEC and is closed before returning.
 *
 * Safe against hostile processes, run as root: a file counts as a memfd only
 * when it lives on a mount the kernel keeps for memfds, and no other file is
 * ever stat()ed or opened (a FUSE file named "memfd:x" would wait on its
 * daemon); every /proc read that waits on a lock of the process it describes
 * is bounded by the stall timeout. The scan may still take one stall timeout
 * per such process.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct memfd_holder {
        pid_t pid;
        int fd;
        int accmode; /* O_RDONLY, O_WRONLY, O_RDWR, or -1 (an O_PATH fd): from the fd link's mode */
} memfd_holder;

typedef struct memfd_mapper {
        pid_t pid;
        uint64_t start, end; /* [start, end) */
        uint64_t offset;     /* file offset of start */
        bool read, write, exec, shared;
        uint64_t rss, pss; /* bytes, from smaps (hugetlb pages included) */
} memfd_mapper;

typedef struct memfd_entry {
        uint64_t dev; /* st_dev as the kernel encodes it (makedev()) */
        uint64_t ino;
        char *name; /* without "/memfd:" and " (deleted)" */
        bool have_size;
        uint64_t size;
        uint64_t allocated; /* st_blocks * 512: what the kernel frees with the last reference */
        int seals;          /* F_SEAL_* as F_GET_SEALS reports them; -errno when unknown */
        bool hugetlb;
        memfd_holder *holders;
        size_t n_holders;
        memfd_mapper *mappers;
        size_t n_mappers;
        uint64_t rss, pss; /* sums over mappers */
} memfd_entry;

typedef struct memfd_process {
        pid_t pid;
        char comm[17];
        uint32_t uid;
        size_t n_fds;      /* memfd fds it holds */
        size_t n_mappings; /* memfd mappings it has */
        size_t n_memfds;   /* distinct memfds it holds or maps */
        uint64_t rss, pss; /* sums over its memfd mappings */
} memfd_process;

typedef struct memfd_unreadable {
        pid_t pid;
        int error; /* positive errno: EACCES, EPERM, or ETIMEDOUT (maps stayed locked) */
} memfd_unreadable;

typedef struct memfd_scan {
        memfd_entry *entries;
        size_t n_entries;
        memfd_process *processes; /* only processes that hold or map a memfd */
        size_t n_processes;
        memfd_unreadable *unreadable;
        size_t n_unreadable;
        size_t n_scanned;   /* processes looked at */
        pid_t socket_owner; /* see memfd_scan_opts.socket_path; 0 if none found */
} memfd_scan;

typedef struct memfd_scan_opts {
        const pid_t *pids; /* scan only these; NULL: every process in /proc */
        size_t n_pids;
        bool skip_self; /* leave out the calling process */
        /* When set, find the process that holds the listening Unix socket
         * bound to this path (the manager), from /proc/net/unix. */
        const char *socket_path;
        /* Give up on a process whose maps, smaps or map_files/ do not answer within this
         * long (its locks are held); 0: MEMFD_SCAN_STALL_TIMEOUT_MS. */
        unsigned stall_timeout_ms;
} memfd_scan_opts;

#define MEMFD_SCAN_STALL_TIMEOUT_MS 1000

/* memfd_scan_run() - scan /proc. @o may be NULL. Return: 0, -ENOMEM, or -errno
 * when /proc itself cannot be read or no memfd can be made (to learn where
 * memfds live). */
int memfd_scan_run(const memfd_scan_opts *o, memfd_scan **ret);

/* memfd_scan_free() - Return: NULL. Accepts NULL. */
memfd_scan *memfd_scan_free(memfd_scan *s);

/* memfd_scan_find_entry() - the entry for @dev/@ino, or NULL. */
const memfd_entry *memfd_scan_find_entry(const memfd_scan *s, uint64_t dev, uint64_t ino);

/* memfd_scan_find_process() - the process record of @pid, or NULL. */
const memfd_process *memfd_scan_find_process(const memfd_scan *s, pid_t pid);

/* memfd_parse_link() - the memfd name in a /proc/PID/fd link or a maps path
 * ("/memfd:NAME (deleted)"), into @buf. Return: 1 for a memfd, 0 for anything else. */
int memfd_parse_link(const char *link, char *buf, size_t size);

/* memfd_parse_maps_line() - parse one /proc/PID/maps (or smaps header) line. Return: 1 when it
 * names a memfd (fills @ret_m's range, protection and offset, @ret_dev, @ret_ino and @name),
 * 0 for another mapping, -EINVAL for a line that is not a maps line. */
int memfd_parse_maps_line(const char *line, memfd_mapper *ret_m, uint64_t *ret_dev,
                          uint64_t *ret_ino, char *name, size_t size);
