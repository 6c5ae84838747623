/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * launch — the public face of starting workers: which blocks, read-only or
 * not, how confined; and the workers themselves (pidfd, wait, kill).
 *
 * Guarantees:
 *   - a block passed read-only is never writable in disguise: its fd is
 *     O_RDONLY, and unless the block is frozen the worker runs where /proc
 *     is hidden (spawn.h's mask_proc), or it does not run at all;
 *   - every fd the launch holds is its own duplicate, close-on-exec;
 *   - every failure leaves a one-line message naming the block or program
 *     and the cause (lmm_launch_last_error()).
 */

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "lmm.h"
#include "missing.h"
#include "sandbox.h"
#include "spawn.h"
#include "util.h"

typedef struct launch_block {
        char *name;
        int fd; /* the launch's own; O_RDONLY for a read-only block */
        bool read_only;
} launch_block;

struct lmm_launch {
        launch_block *blocks;
        size_t n_blocks;
        int stdio[3]; /* the launch's own copies; -EBADF: the launcher's */
        sandbox_profile profile;
        bool unconfined;
        bool kill_on_violation;
        char error[512]; /* "": none */
};

static void spawn_env_freep(char ***p) {
        *p = spawn_env_free(*p);
}

static void sandbox_program_donep(struct sock_fprog *p) {
        sandbox_program_done(p);
}

struct lmm_worker {
        pid_t pid;
        int pidfd;
        bool reaped;
        int status;
};

static void launch_clear_error(lmm_launch *l) {
        l->error[0] = 0;
}

/* Set the message and return @r. */
__attribute__((format(printf, 3, 4))) static int launch_error(lmm_launch *l, int r, const char *fmt,
                                                              ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(l->error, sizeof(l->error), fmt, ap);
        va_end(ap);
        return r;
}

_public_ int lmm_launch_new(lmm_launch **ret) {
        lmm_launch *l;

        if (!ret)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->stdio[0] = l->stdio[1] = l->stdio[2] = -EBADF;
        l->profile = SANDBOX_PROFILE_LAUNCH;
        *ret = l;
        return 0;
}

_public_ lmm_launch *lmm_launch_free(lmm_launch *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_blocks; i++) {
                safe_close(l->blocks[i].fd);
                free(l->blocks[i].name);
        }
        free(l->blocks);
        close_many(l->stdio, 3);
        free(l);
        return NULL;
}

_public_ const char *lmm_launch_last_error(const lmm_launch *l) {
        return l && l->error[0] ? l->error : NULL;
}

_public_ int lmm_launch_add_block(lmm_launch *l, lmm_segment *s, uint32_t flags) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        bool read_only = flags & LMM_LAUNCH_READ_ONLY;
        launch_block *grown;
        const char *n;
        int r;

        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        if (!s || (flags & ~(uint32_t) LMM_LAUNCH_READ_ONLY))
                return -EINVAL;
        n = lmm_segment_get_name(s);
        if (!n || !n[0])
                return launch_error(l, -EINVAL,
                                    "a block without a name cannot be passed: "
                                    "a worker finds its blocks by name");
        if (strchr(n, ':'))
                return launch_error(l, -EINVAL,
                                    "block '%s': its name has a ':', which separates the names "
                                    "in LISTEN_FDNAMES",
                                    n);
        for (size_t i = 0; i < l->n_blocks; i++)
                if (strcmp(l->blocks[i].name, n) == 0)
                        return launch_error(l, -EEXIST, "block '%s' is in the launch already", n);

        r = fd_is_writable(lmm_segment_get_fd(s));
        if (r < 0)
                return launch_error(l, r, "block '%s': %s", n, strerror(-r));
        /* An O_RDONLY fd looks read-only to the worker: it is held to it. */
        if (r == 0)
                read_only = true;
        if (read_only && r > 0) {
                r = fd_reopen(lmm_segment_get_fd(s), O_RDONLY, &fd);
                if (r < 0)
                        return launch_error(l, r,
                                            "block '%s': cannot reopen it read-only through "
                                            "/proc/self/fd: %s",
                                            n, strerror(-r));
        } else {
                fd = fcntl(lmm_segment_get_fd(s), F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        r = negative_errno();
                        return launch_error(l, r, "block '%s': duplicate its fd: %s", n,
                                            strerror(-r));
                }
        }
        name = strdup(n);
        grown = reallocarray(l->blocks, l->n_blocks + 1, sizeof(*grown));
        if (!name || !grown) {
                if (grown)
                        l->blocks = grown;
                return -ENOMEM;
        }
        l->blocks = grown;
        l->blocks[l->n_blocks++] = (launch_block){
                .name = TAKE_PTR(name),
                .fd = TAKE_FD(fd),
                .read_only = read_only,
        };
        return 0;
}

_public_ int lmm_launch_set_profile(lmm_launch *l, const char *profile) {
        sandbox_profile p;

        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        p = profile ? sandbox_profile_from_string(profile) : SANDBOX_PROFILE_LAUNCH;
        if (p == SANDBOX_PROFILE_COMPUTE)
                return launch_error(l, -EINVAL,
                                    "profile 'compute' forbids execve(), so no program can be "
                                    "launched in it; a program enters it itself with "
                                    "lmm_sandbox_enter()");
        if (p < 0)
                return launch_error(l, -EINVAL, "unknown profile '%s'", profile);
        l->profile = p;
        return 0;
}

_public_ int lmm_launch_set_unconfined(lmm_launch *l, bool unconfined) {
        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        l->unconfined = unconfined;
        return 0;
}

_public_ int lmm_launch_set_kill_on_violation(lmm_launch *l, bool kill) {
        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        l->kill_on_violation = kill;
        return 0;
}

_public_ int lmm_launch_set_stdio(lmm_launch *l, int in, int out, int err) {
        int src[3] = { in, out, err }, copy[3] = { -EBADF, -EBADF, -EBADF };

        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        for (size_t i = 0; i < 3; i++) {
                if (src[i] < 0)
                        continue;
                copy[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
                if (copy[i] < 0) {
                        int r = negative_errno();

                        close_many(copy, i);
                        return r;
                }
        }
        close_many(l->stdio, 3);
        memcpy(l->stdio, copy, sizeof(copy));
        return 0;
}

/* The block that makes the launch need /proc hidden: read-only and not frozen. NULL: none. */
static const launch_block *launch_find_unfrozen_read_only(lmm_launch *l, int *ret_error) {
        for (size_t i = 0; i < l->n_blocks; i++) {
                int seals;

                if (!l->blocks[i].read_only)
                        continue;
                seals = fd_get_seals(l->blocks[i].fd);
                if (seals < 0) {
                        *ret_error = launch_error(l, seals, "block '%s': F_GET_SEALS: %s",
                                                  l->blocks[i].name, strerror(-seals));
                        return NULL;
                }
                /* Seals are never removed: a frozen block stays frozen. */
                if (!(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
                        return &l->blocks[i];
        }
        *ret_error = 0;
        return NULL;
}

static int launch_child_error(lmm_launch *l, const char *path, const launch_block *unfrozen,
                              char *const *proc_mounts, const spawn_error *e) {
        int r = -e->error;

        if (e->step == SPAWN_STEP_UNSHARE && unfrozen &&
            (e->error == EPERM || e->error == EINVAL || e->error == ENOSPC || e->error == EUSERS))
                return launch_error(l, r,
                                    "block '%s' is read-only but not frozen, and without user "
                                    "namespaces (unshare: %s) /proc cannot be hidden from the "
                                    "worker, which could reopen it read-write there; freeze it, "
                                    "pass it read-write, or enable user namespaces",
                                    unfrozen->name, strerror(e->error));
        if (e->step == SPAWN_STEP_MASK_PROC)
                return launch_error(l, r, "cannot launch %s: %s %s: %s", path,
                                    spawn_step_to_string(e->step), proc_mounts[e->index],
                                    strerror(e->error));
        return launch_error(l, r, "cannot launch %s: %s: %s", path, spawn_step_to_string(e->step),
                            strerror(e->error));
}

_public_ int lmm_launch_spawn(lmm_launch *l, const char *path, char *const argv[],
                              char *const envp[], lmm_worker **ret) {
        _cleanup_free_ const char **names = NULL;
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char *uid_map = NULL, *gid_map = NULL;
        _cleanup_(spawn_env_freep) char **env = NULL, **proc_mounts = NULL;
        _cleanup_(sandbox_program_donep) struct sock_fprog filter = {};
        const launch_block *unfrozen;
        char *const default_argv[] = { (char *) path, NULL };
        spawn_params p = {};
        spawn_error e;
        lmm_worker *w;
        pid_t pid;
        int pidfd, r;

        if (!l)
                return -EINVAL;
        launch_clear_error(l);
        if (!path || !ret)
                return -EINVAL;

        unfrozen = launch_find_unfrozen_read_only(l, &r);
        if (r < 0)
                return r;
        if (unfrozen && l->unconfined)
                return launch_error(l, -EPERM,
                                    "block '%s' is read-only but not frozen, and an unconfined "
                                    "worker could reopen it read-write through /proc; freeze it, "
                                    "pass it read-write, or confine the worker",
                                    unfrozen->name);

        names = calloc(l->n_blocks + 1, sizeof(char *));
        fds = calloc(l->n_blocks + 1, sizeof(int));
        if (!names || !fds)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_blocks; i++) {
                names[i] = l->blocks[i].name;
                fds[i] = l->blocks[i].fd;
        }
        p = (spawn_params){
                .path = path,
                .argv = argv ?: default_argv,
                .fds = fds,
                .n_fds = l->n_blocks,
                .stdio = { l->stdio[0], l->stdio[1], l->stdio[2] },
        };
        r = spawn_env_new(envp ?: environ, names, l->n_blocks, &env, &p.listen_pid,
                          &p.listen_pid_size);
        if (r < 0)
                return r;
        p.envp = env;

        if (!l->unconfined) {
                r = sandbox_build(l->profile, l->kill_on_violation ? SANDBOX_KILL : 0, &filter);
                if (r < 0)
                        return launch_error(
                                l, r, "cannot launch %s: build the seccomp profile '%s': %s", path,
                                sandbox_profile_to_string(l->profile), strerror(-r));
                p.filter = &filter;
                r = proc_mounts_read(&proc_mounts, &p.n_proc_mounts);
                if (r < 0)
                        return launch_error(l, r,
                                            "cannot launch %s: find the procfs mounts to hide in "
                                            "/proc/self/mountinfo: %s",
                                            path, strerror(-r));
                p.proc_mounts = proc_mounts;
                if (asprintf(&uid_map, "%u %u 1\n", (unsigned) geteuid(), (unsigned) geteuid()) <
                            0 ||
                    asprintf(&gid_map, "%u %u 1\n", (unsigned) getegid(), (unsigned) getegid()) < 0)
                        return -ENOMEM;
                p.uid_map = uid_map;
                p.gid_map = gid_map;
                p.mask_proc = true;
                p.mask_required = unfrozen;
        }

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        r = spawn(&p, &pid, &pidfd, &e);
        if (r < 0) {
                free(w);
                return launch_child_error(l, path, unfrozen, proc_mounts, &e);
        }
        w->pid = pid;
        w->pidfd = pidfd;
        *ret = w;
        return 0;
}

_public_ pid_t lmm_worker_get_pid(const lmm_worker *w) {
        return w ? w->pid : -EINVAL;
}

_public_ int lmm_worker_get_pidfd(const lmm_worker *w) {
        return w ? w->pidfd : -EINVAL;
}

_public_ int lmm_worker_wait(lmm_worker *w, int *ret_status) {
        siginfo_t si = {};
        int r;

        if (!w)
                return -EINVAL;
        while (!w->reaped) {
                r = waitid(P_PIDFD, (id_t) w->pidfd, &si, WEXITED);
                if (r < 0 && errno == EINVAL) /* before Linux 5.4: no P_PIDFD */
                        r = waitid(P_PID, (id_t) w->pid, &si, WEXITED);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return negative_errno();
                w->reaped = true;
                w->status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        }
        if (ret_status)
                *ret_status = w->status;
        return 0;
}

_public_ int lmm_worker_kill(lmm_worker *w, int sig) {
        if (!w)
                return -EINVAL;
        if (w->reaped)
                return -ESRCH;
        return pidfd_signal(w->pidfd, sig);
}

_public_ lmm_worker *lmm_worker_free(lmm_worker *w) {
        if (!w)
                return NULL;
        safe_close(w->pidfd);
        free(w);
        return NULL;
}
