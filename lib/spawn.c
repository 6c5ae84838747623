/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spawn — starting a worker: preparing in the parent, then system calls only
 * in the child until execve(). See spawn.h for the guarantees.
 */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "missing.h"
#include "sandbox.h"
#include "spawn.h"
#include "util.h"

/* The first published struct clone_args (CLONE_ARGS_SIZE_VER0, Linux 5.3),
 * here rather than from <linux/sched.h>, which clashes with <sched.h>. */
struct spawn_clone_args {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
};

/* What the child writes to the report pipe when a step fails, before it exits. */
typedef struct spawn_report {
        int32_t step;
        int32_t error;
        uint32_t index;
} spawn_report;

static const char *const step_names[_SPAWN_STEP_MAX] = {
        [SPAWN_STEP_CLONE] = "clone3",
        [SPAWN_STEP_SIGNALS] = "reset the signal handlers",
        [SPAWN_STEP_PDEATHSIG] = "set the parent-death signal",
        [SPAWN_STEP_PARENT] = "the launcher died before the worker started",
        [SPAWN_STEP_FDS] = "move the blocks to fds 3 and up",
        [SPAWN_STEP_CLOSE] = "close the launcher's other fds",
        [SPAWN_STEP_UNSHARE] = "create a user and mount namespace",
        [SPAWN_STEP_SETGROUPS] = "write /proc/self/setgroups",
        [SPAWN_STEP_UID_MAP] = "write /proc/self/uid_map",
        [SPAWN_STEP_GID_MAP] = "write /proc/self/gid_map",
        [SPAWN_STEP_MOUNT_PRIVATE] = "make / a private mount",
        [SPAWN_STEP_MASK_PROC] = "mount tmpfs over",
        [SPAWN_STEP_CAPS] = "drop the capability bounding set",
        [SPAWN_STEP_SECCOMP] = "load the seccomp filter",
        [SPAWN_STEP_EXEC] = "execve",
};

const char *spawn_step_to_string(spawn_step s) {
        if (s < 0 || s >= _SPAWN_STEP_MAX)
                return NULL;
        return step_names[s];
}

/* ---------------------------------------------------------------- the child
 *
 * Between clone3() and execve(): system calls and code of our own only. The
 * child has a copy of the parent's memory (no CLONE_VM), so it may write to
 * what the parent prepared (the LISTEN_PID buffer, the scratch array). */

static _Noreturn void child_exit(void) {
        /* exit_group directly: not _exit(), which sanitizers intercept. */
        for (;;)
                (void) syscall(SYS_exit_group, 127);
}

static _Noreturn void child_fail(int report, spawn_step step, unsigned index) {
        spawn_report r = { .step = (int32_t) step,
                           .error = errno > 0 ? errno : EIO,
                           .index = index };

        /* 12 bytes, far below PIPE_BUF: all or nothing. */
        (void) !write(report, &r, sizeof(r));
        child_exit();
}

static void child_format_pid(char *buf, size_t size, pid_t pid) {
        char digits[16];
        size_t n = 0, i = 0;
        unsigned v = (unsigned) pid;

        do
                digits[n++] = (char) ('0' + v % 10);
        while ((v /= 10) > 0 && n < sizeof(digits));
        for (; n > 0 && i + 1 < size; i++)
                buf[i] = digits[--n];
        buf[i] = 0;
}

/* Write @text to @path (a /proc/self file): open, one write, close. */
static int child_write_file(const char *path, const char *text) {
        size_t len = strlen(text);
        ssize_t n;
        int fd;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -1;
        n = write(fd, text, len);
        if (n >= 0 && (size_t) n != len) {
                n = -1;
                errno = EIO;
        }
        if (n < 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
                return -1;
        }
        return close(fd);
}

/* Close every fd from @from up, but @keep (>= @from). */
static int child_close_from(int from, int keep) {
        struct rlimit rl;

        if (keep > from && close_range((unsigned) from, (unsigned) keep - 1, 0) < 0 &&
            errno != ENOSYS)
                return -1;
        if (close_range((unsigned) keep + 1, ~0U, 0) == 0)
                return 0;
        if (errno != ENOSYS)
                return -1;
        /* Before Linux 5.9: one by one, up to the limit on fd numbers. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -1;
        for (rlim_t fd = (rlim_t) from; fd < rl.rlim_cur && fd <= INT32_MAX; fd++)
                if ((int) fd != keep)
                        (void) close((int) fd);
        return 0;
}

/*
 * Move the blocks to 3..3+n-1 and the stdio fds to 0..2. Any of the fds the
 * launcher gave may sit where another must go (its block fd may be 3 while
 * block 0 must become 3 too), so first everything, the report pipe included,
 * is duplicated above the target range, then put in place: a target is
 * never one of the duplicates. *@report is always a valid fd to report on.
 */
static int child_move_fds(const spawn_params *p, int *report, int *scratch) {
        int lowest = 3 + (int) p->n_fds, stdio_tmp[3] = { -1, -1, -1 }, r;

        r = fcntl(*report, F_DUPFD_CLOEXEC, lowest);
        if (r < 0)
                return -1;
        *report = r;
        for (size_t i = 0; i < 3; i++)
                if (p->stdio[i] >= 0) {
                        stdio_tmp[i] = fcntl(p->stdio[i], F_DUPFD_CLOEXEC, lowest);
                        if (stdio_tmp[i] < 0)
                                return -1;
                }
        for (size_t i = 0; i < p->n_fds; i++) {
                scratch[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, lowest);
                if (scratch[i] < 0)
                        return -1;
        }
        /* dup3() without O_CLOEXEC: the targets survive execve(). */
        for (int i = 0; i < 3; i++)
                if (stdio_tmp[i] >= 0 && dup3(stdio_tmp[i], i, 0) < 0)
                        return -1;
        for (size_t i = 0; i < p->n_fds; i++)
                if (dup3(scratch[i], 3 + (int) i, 0) < 0)
                        return -1;
        return 0;
}

static int child_mask_proc(const spawn_params *p, int report) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
                if (!p->mask_required &&
                    (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS))
                        return 0; /* no user namespaces here: go on unmasked */
                child_fail(report, SPAWN_STEP_UNSHARE, 0);
        }
        /* Without "deny", an unprivileged launcher may not write gid_map;
         * the file is missing before Linux 3.19, where it need not be written.
         * A launcher that is not dumpable (it changed its uid without an
         * exec, or asked so) finds its /proc/self files root's, and cannot
         * write them: its worker then stays unmapped and sees itself as the
         * overflow uid, though the kernel still treats it as the launcher's
         * uid. Becoming dumpable to write them would open this copy of the
         * launcher's memory to ptrace by every process of its uid. */
        if (child_write_file("/proc/self/setgroups", "deny") < 0) {
                if (errno == EACCES)
                        goto unmapped;
                if (errno != ENOENT)
                        child_fail(report, SPAWN_STEP_SETGROUPS, 0);
        }
        if (child_write_file("/proc/self/uid_map", p->uid_map) < 0)
                child_fail(report, SPAWN_STEP_UID_MAP, 0);
        if (child_write_file("/proc/self/gid_map", p->gid_map) < 0)
                child_fail(report, SPAWN_STEP_GID_MAP, 0);
unmapped:
        /* Nothing mounted here may reach the launcher's namespace, nor
         * anything mounted there reach this one: a procfs mounted on the
         * host after this moment would not be covered below, and through
         * it the worker could reopen a read-only block read-write. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(report, SPAWN_STEP_MOUNT_PRIVATE, 0);
        for (size_t i = 0; i < p->n_proc_mounts; i++)
                if (mount("tmpfs", p->proc_mounts[i], "tmpfs",
                          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0") < 0)
                        child_fail(report, SPAWN_STEP_MASK_PROC, (unsigned) i);
        /* The new namespace gave us every capability in it, and a program
         * run as uid 0 (a root launcher's) would keep them through execve():
         * enough to unmount the mask. An empty bounding set leaves it none,
         * whatever the seccomp profile allows. */
        for (unsigned long cap = 0;; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL) /* past the last capability */
                                break;
                        child_fail(report, SPAWN_STEP_CAPS, 0);
                }
        return 0;
}

static _Noreturn void child_run(const spawn_params *p, int report, pid_t parent, int *scratch) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* The parent blocked every signal around the clone, so that none of
         * its handlers can run here; reset them all, then unblock. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &sa, NULL) < 0 &&
                    errno != EINVAL)
                        child_fail(report, SPAWN_STEP_SIGNALS, 0);
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(report, SPAWN_STEP_SIGNALS, 0);

        /* Die with the launching thread; and if the launcher died already,
         * we were reparented before this could be set: do not start. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail(report, SPAWN_STEP_PDEATHSIG, 0);
        if ((pid_t) syscall(SYS_getppid) != parent) {
                errno = ESRCH;
                child_fail(report, SPAWN_STEP_PARENT, 0);
        }
        if (p->listen_pid)
                child_format_pid(p->listen_pid, p->listen_pid_size, (pid_t) syscall(SYS_getpid));

        if (child_move_fds(p, &report, scratch) < 0)
                child_fail(report, SPAWN_STEP_FDS, 0);
        if (child_close_from(3 + (int) p->n_fds, report) < 0)
                child_fail(report, SPAWN_STEP_CLOSE, 0);

        if (p->mask_proc)
                (void) child_mask_proc(p, report);

        /* Set again, before a filter may forbid it: a change of credentials
         * (the namespace) may have cleared it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail(report, SPAWN_STEP_PDEATHSIG, 0);
        if ((pid_t) syscall(SYS_getppid) != parent) {
                errno = ESRCH;
                child_fail(report, SPAWN_STEP_PARENT, 0);
        }
        if (p->filter) {
                int r = sandbox_apply(p->filter, false);

                if (r < 0) {
                        errno = -r;
                        child_fail(report, SPAWN_STEP_SECCOMP, 0);
                }
        }

        execve(p->path, p->argv, p->envp);
        child_fail(report, SPAWN_STEP_EXEC, 0);
}

/* ---------------------------------------------------------------- the parent */

static void reap(pid_t pid) {
        siginfo_t si;

        /* ECHILD: SIGCHLD is ignored, and the kernel reaped it. */
        while (waitid(P_PID, (id_t) pid, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

int spawn(const spawn_params *p, pid_t *ret_pid, int *ret_pidfd, spawn_error *ret_error) {
        _cleanup_close_ int report_r = -EBADF, report_w = -EBADF, pidfd = -EBADF;
        _cleanup_free_ int *scratch = NULL;
        struct spawn_clone_args args = {};
        spawn_report rep = {};
        sigset_t all, saved;
        pid_t parent = getpid(), pid;
        bool vforked = true;
        int fds[2], child_pidfd = -1, saved_errno;
        ssize_t n;

        *ret_error = (spawn_error){ .step = SPAWN_STEP_CLONE };
        if (pipe2(fds, O_CLOEXEC) < 0)
                return ret_error->error = errno, negative_errno();
        report_r = fds[0];
        report_w = fds[1];
        scratch = calloc(p->n_fds + 1, sizeof(int));
        if (!scratch)
                return ret_error->error = ENOMEM, -ENOMEM;

        /* No handler of ours may run in the child before it has reset them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        args.flags = CLONE_PIDFD | CLONE_VFORK;
        args.pidfd = (uint64_t) (uintptr_t) &child_pidfd;
        args.exit_signal = SIGCHLD;
        errno = ENOSYS;
        pid = p->force_fork ? -1 : (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0 && errno == ENOSYS) {
                vforked = false;
                pid = fork();
        }
        if (pid == 0)
                child_run(p, report_w, parent, scratch);
        saved_errno = errno;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0) {
                ret_error->error = saved_errno;
                return -saved_errno;
        }
        report_w = safe_close(report_w);

        if (vforked) {
                /* The child has exec'd or exited by now; a failure was
                 * reported before the exit. No waiting for the end of the
                 * pipe: a process forked meanwhile by another thread of
                 * ours may hold the write end until it execs. */
                pidfd = child_pidfd;
                struct pollfd pfd = { .fd = report_r, .events = POLLIN };
                n = poll(&pfd, 1, 0) > 0 ? read(report_r, &rep, sizeof(rep)) : 0;
        } else {
                pidfd = pidfd_new(pid); /* ours to reap: the pid cannot be reused yet */
                do
                        n = read(report_r, &rep, sizeof(rep));
                while (n < 0 && errno == EINTR);
        }
        if (n == 0 && pidfd >= 0) {
                *ret_pid = pid;
                *ret_pidfd = TAKE_FD(pidfd);
                return 0;
        }
        if (n == 0) { /* exec'd, but no pidfd: end it rather than lose track of it */
                ret_error->error = -pidfd;
                (void) kill(pid, SIGKILL);
                reap(pid);
                return pidfd;
        }
        if (n == (ssize_t) sizeof(rep) && rep.step >= 0 && rep.step < _SPAWN_STEP_MAX &&
            rep.error > 0)
                *ret_error = (spawn_error){ .step = (spawn_step) rep.step,
                                            .error = rep.error,
                                            .index = rep.index };
        else
                *ret_error = (spawn_error){ .step = SPAWN_STEP_EXEC, .error = EIO };
        reap(pid);
        return -ret_error->error;
}

/* ---------------------------------------------------------------- preparing */

char **spawn_env_free(char **env) {
        if (!env)
                return NULL;
        for (char **e = env; *e; e++)
                free(*e);
        free(env);
        return NULL;
}

static bool env_is_inherited(const char *e) {
        static const char *const drop[] = {
                "LISTEN_FDS=",     "LISTEN_PID=",    "LISTEN_FDNAMES=",
                "LISTEN_PIDFDID=", "NOTIFY_SOCKET=",
        };

        for (size_t i = 0; i < ELEMENTSOF(drop); i++)
                if (strncmp(e, drop[i], strlen(drop[i])) == 0)
                        return false;
        return true;
}

int spawn_env_new(char *const *envp, const char *const *names, size_t n_names, char ***ret_env,
                  char **ret_listen_pid, size_t *ret_size) {
        static const char pid_key[] = "LISTEN_PID=";
        const size_t pid_room = 21; /* any pid_t in decimal, and the NUL */
        char **env = NULL;
        size_t n_env = 0, k = 0, names_len = 0;

        for (; envp && envp[n_env]; n_env++)
                ;
        env = calloc(n_env + 4, sizeof(char *));
        if (!env)
                return -ENOMEM;
        for (size_t i = 0; i < n_env; i++)
                if (env_is_inherited(envp[i]) && !(env[k++] = strdup(envp[i])))
                        goto oom;
        *ret_listen_pid = NULL;
        *ret_size = 0;
        if (n_names > 0) {
                char *p;

                if (asprintf(&env[k++], "LISTEN_FDS=%zu", n_names) < 0) {
                        env[--k] = NULL;
                        goto oom;
                }
                for (size_t i = 0; i < n_names; i++)
                        names_len += strlen(names[i]) + 1;
                p = env[k++] = malloc(strlen("LISTEN_FDNAMES=") + names_len + 1);
                if (!p)
                        goto oom;
                p = stpcpy(p, "LISTEN_FDNAMES=");
                for (size_t i = 0; i < n_names; i++)
                        p = stpcpy(stpcpy(p, i > 0 ? ":" : ""), names[i]);
                p = env[k++] = calloc(1, sizeof(pid_key) - 1 + pid_room);
                if (!p)
                        goto oom;
                memcpy(p, pid_key, sizeof(pid_key) - 1);
                p[sizeof(pid_key) - 1] = '0';
                *ret_listen_pid = p + sizeof(pid_key) - 1;
                *ret_size = pid_room;
        }
        *ret_env = env;
        return 0;
oom:
        spawn_env_free(env);
        return -ENOMEM;
}

/* Undo mountinfo's escapes (\040 space, \011 tab, \012 newline, \134 backslash) in place. */
static void mountinfo_unescape(char *s) {
        char *w = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *w++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 3;
                } else
                        *w++ = *s;
        }
        *w = 0;
}

static bool path_is_beneath(const char *path, const char *top) {
        size_t n = strlen(top);

        if (strcmp(top, "/") == 0)
                return true;
        return strncmp(path, top, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static int cmp_len(const void *a, const void *b) {
        size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);

        return la < lb ? -1 : la > lb;
}

int proc_mounts_parse(const char *mountinfo, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(mountinfo);
        char **all = NULL, **keep = NULL, *line, *save = NULL;
        size_t n_all = 0, n_keep = 0;
        int r = -ENOMEM;

        if (!copy)
                return -ENOMEM;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *field[64], *f, *fsave = NULL, **grown;
                size_t nf = 0, sep = 0;

                for (f = strtok_r(line, " ", &fsave); f && nf < ELEMENTSOF(field);
                     f = strtok_r(NULL, " ", &fsave))
                        field[nf++] = f;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
                for (size_t i = 6; i < nf && !sep; i++)
                        if (strcmp(field[i], "-") == 0)
                                sep = i;
                if (nf < 7 || !sep || sep + 1 >= nf) {
                        r = -EBADMSG;
                        goto fail;
                }
                if (strcmp(field[sep + 1], "proc") != 0)
                        continue;
                mountinfo_unescape(field[4]);
                grown = reallocarray(all, n_all + 2, sizeof(char *));
                if (!grown)
                        goto fail;
                all = grown;
                all[n_all] = field[4]; /* points into copy until kept */
                all[++n_all] = NULL;
        }

        /* Shortest first: a path's covering mount comes before the mounts
         * beneath it, which it hides, and which are then left alone. */
        if (n_all > 0)
                qsort(all, n_all, sizeof(char *), cmp_len);
        keep = calloc(n_all + 1, sizeof(char *));
        if (!keep)
                goto fail;
        for (size_t i = 0; i < n_all; i++) {
                bool hidden = false;

                for (size_t j = 0; j < n_keep && !hidden; j++)
                        hidden = path_is_beneath(all[i], keep[j]);
                if (hidden)
                        continue;
                keep[n_keep] = strdup(all[i]);
                if (!keep[n_keep])
                        goto fail;
                n_keep++;
        }
        free(all);
        *ret = keep;
        *ret_n = n_keep;
        return 0;
fail:
        free(all);
        spawn_env_free(keep);
        return r;
}

int proc_mounts_read(char ***ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        char buf[4096];
        size_t k;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();
        /* The whole file, as one string. */
        while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
                char *grown = realloc(text, size + k + 1);

                if (!grown)
                        return -ENOMEM;
                text = grown;
                memcpy(text + size, buf, k);
                size += k;
                text[size] = 0;
        }
        if (ferror(f))
                return -EIO;
        return proc_mounts_parse(text ?: "", ret, ret_n);
}
