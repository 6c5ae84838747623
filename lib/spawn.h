/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * spawn — the mechanics of starting a worker: a child made with clone3()
 * and CLONE_PIDFD, so that the launcher holds a pidfd from the start (no
 * window in which the pid could be reaped and reused), its fds moved into
 * place, optionally confined, then execve().
 *
 * Guarantees:
 *   - everything that allocates happens before the clone, in the parent
 *     (spawn_env_new(), proc_mounts_read(), the filter, the maps); between
 *     the clone and execve() the child makes system calls only, no malloc(),
 *     no stdio, no lock, so that a launcher whose other threads hold
 *     malloc's or stdio's locks at the moment of the clone cannot deadlock
 *     it;
 *   - the child is made with CLONE_VFORK: spawn() returns once it has
 *     exec'd or died, and knows which, without waiting for the end of a
 *     pipe that another process could be holding;
 *   - the worker holds fds 0-2, its blocks as 3, 4, ... in order and nothing
 *     else: every other fd is closed before execve(), whatever its
 *     close-on-exec flag;
 *   - the worker gets SIGKILL when the thread that launched it dies
 *     (PR_SET_PDEATHSIG), and never runs at all when the launcher died
 *     during the clone;
 *   - with mask_proc, the worker runs in a user and a mount namespace of its
 *     own, every procfs it could see covered by an empty read-only tmpfs,
 *     and without capabilities: it cannot reopen its fds through
 *     /proc/self/fd, nor reach the launcher through /proc/PID, nor undo the
 *     mask;
 *   - a failure in the child is reported as the step that failed and its
 *     errno, never as a worker that exits 127.
 */

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum spawn_step {
        SPAWN_STEP_CLONE,
        SPAWN_STEP_SIGNALS,
        SPAWN_STEP_PDEATHSIG,
        SPAWN_STEP_PARENT,
        SPAWN_STEP_FDS,
        SPAWN_STEP_CLOSE,
        SPAWN_STEP_UNSHARE,
        SPAWN_STEP_SETGROUPS,
        SPAWN_STEP_UID_MAP,
        SPAWN_STEP_GID_MAP,
        SPAWN_STEP_MOUNT_PRIVATE,
        SPAWN_STEP_MASK_PROC,
        SPAWN_STEP_CAPS,
        SPAWN_STEP_SECCOMP,
        SPAWN_STEP_EXEC,
        _SPAWN_STEP_MAX,
} spawn_step;

/* spawn_step_to_string() - what the step does, for a message: "mount tmpfs over". */
const char *spawn_step_to_string(spawn_step s);

typedef struct spawn_params {
        const char *path;
        char *const *argv;
        char *const *envp; /* complete: spawn_env_new() made it */
        /* Where the child writes its pid in decimal, NUL-terminated: the
         * value of envp's LISTEN_PID entry. NULL: no LISTEN_PID. */
        char *listen_pid;
        size_t listen_pid_size;
        const int *fds; /* borrowed: they become 3, 4, ... in this order */
        size_t n_fds;
        int stdio[3]; /* borrowed: they become 0, 1, 2; < 0 keeps the launcher's */

        /* A user and mount namespace with every procfs in @proc_mounts
         * covered, and an empty capability bounding set. */
        bool mask_proc;
        /* Without user namespaces (unshare() fails with EPERM, EINVAL,
         * ENOSPC or EUSERS), fail at SPAWN_STEP_UNSHARE rather than run the
         * worker unmasked. */
        bool mask_required;
        char *const *proc_mounts;
        size_t n_proc_mounts;
        const char *uid_map; /* what to write to /proc/self/uid_map */
        const char *gid_map;

        /* Loaded with sandbox_apply() (no_new_privs first) just before
         * execve(); NULL: none. */
        const struct sock_fprog *filter;

        /* Tests only: make the child with fork() and pidfd_open(), the way
         * taken where clone3() is missing (ENOSYS). */
        bool force_fork;
} spawn_params;

typedef struct spawn_error {
        spawn_step step;
        int error;      /* positive errno */
        unsigned index; /* SPAWN_STEP_MASK_PROC: which of proc_mounts */
} spawn_error;

/*
 * spawn() - start @p->path as described by @p.
 * Return: 0 with the child's pid and a pidfd (close-on-exec, the caller's)
 * once it has exec'd; or a negative errno with @ret_error saying which
 * step failed. A child that failed is reaped before this returns.
 */
int spawn(const spawn_params *p, pid_t *ret_pid, int *ret_pidfd, spawn_error *ret_error);

/*
 * spawn_env_new() - the worker's environment: @envp without LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, LISTEN_PIDFDID and NOTIFY_SOCKET (a worker
 * must not take the launcher's fds for its own, nor speak for it to the
 * service manager), then, when @n_names > 0, LISTEN_FDS=@n_names,
 * LISTEN_FDNAMES=@names joined by ':' and LISTEN_PID= with room for the
 * child to write its pid in (*@ret_listen_pid, *@ret_size bytes).
 * Free with spawn_env_free().
 */
int spawn_env_new(char *const *envp, const char *const *names, size_t n_names, char ***ret_env,
                  char **ret_listen_pid, size_t *ret_size);
char **spawn_env_free(char **env);

/*
 * proc_mounts_parse() - the mount points of @mountinfo's (the text of
 * /proc/PID/mountinfo) procfs mounts that must be covered to hide them
 * all: one per path, none beneath another (covering that one hides it),
 * unescaped (\040 is a space). Free with spawn_env_free().
 * Return: 0, -EBADMSG for a line that is not a mountinfo line, -ENOMEM.
 */
int proc_mounts_parse(const char *mountinfo, char ***ret, size_t *ret_n);

/* proc_mounts_read() - proc_mounts_parse() of /proc/self/mountinfo. */
int proc_mounts_read(char ***ret, size_t *ret_n);
