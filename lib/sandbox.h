/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sandbox — the seccomp profiles a worker is confined with, built with
 * libseccomp. Building allocates and may fail; applying is one prctl() and
 * one seccomp() on a program built beforehand, so that a launcher can build
 * in the parent and apply between fork and exec, where a multithreaded
 * caller may not allocate.
 *
 * Profiles:
 *   compute — what a program enters itself once set up: computing on the
 *             blocks it has mapped. No opening files, no sockets, no exec.
 *   launch  — applied to an arbitrary program at exec: it can still exec and
 *             load its libraries, but not make sockets (AF_UNIX socketpairs
 *             aside), mount, enter namespaces, ptrace, reach other
 *             processes' memory or add seals to a block.
 *
 * A denied call fails with LMM_SANDBOX_ERRNO (lmm.h), or kills the process
 * with SANDBOX_KILL. A call made through a foreign ABI (i386's int 0x80,
 * x32) kills the process in every profile. clone3() fails with ENOSYS in
 * every profile, so that glibc falls back to clone(), whose flags a filter
 * can see.
 */

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum sandbox_profile {
        SANDBOX_PROFILE_COMPUTE,
        SANDBOX_PROFILE_LAUNCH,
        _SANDBOX_PROFILE_MAX,
        _SANDBOX_PROFILE_INVALID = -1,
} sandbox_profile;

enum {
        SANDBOX_KILL = 1u << 0, /* a denied call kills the process instead of failing */
};

/* "compute", "launch"; NULL for anything else. */
const char *sandbox_profile_to_string(sandbox_profile p);
/* The profile named @s, or _SANDBOX_PROFILE_INVALID. */
sandbox_profile sandbox_profile_from_string(const char *s);

/*
 * sandbox_build() - @p's filter for this machine's native ABI as a classic
 * BPF program in @ret (its filter array malloc()ed; free with
 * sandbox_program_done()). Return: 0 or -errno.
 */
int sandbox_build(sandbox_profile p, uint32_t flags, struct sock_fprog *ret);
void sandbox_program_done(struct sock_fprog *p);

/*
 * sandbox_apply() - set PR_SET_NO_NEW_PRIVS and load @prog into the calling
 * thread (with @tsync, into every thread of the process). Async-signal-safe:
 * two system calls, no allocation. Return: 0 or -errno.
 */
int sandbox_apply(const struct sock_fprog *prog, bool tsync);

/*
 * sandbox_build_for() - sandbox_build() for the process @self (its pid, as
 * the process sees it), when that is known before the filter is built (a
 * program confining itself): the compute profile then lets kill() and
 * tgkill() reach @self, so that raise(), abort() and pthread_kill() work,
 * and nobody else. @self 0: the same as sandbox_build(), no signal at all.
 * A child forked after loading keeps the parent's pid in its filter, which
 * compute never lets happen (no fork). Return: 0 or -errno.
 */
int sandbox_build_for(sandbox_profile p, uint32_t flags, pid_t self, struct sock_fprog *ret);

/*
 * The tables the filters are built from, one per profile: each row a system
 * call, what the filter does with it, for which arguments, and why.
 * docs/workers.md carries the same tables; a unit test holds them together.
 */
typedef enum sandbox_action {
        SANDBOX_ALLOW,
        SANDBOX_DENY,   /* LMM_SANDBOX_ERRNO, or SIGSYS with SANDBOX_KILL */
        SANDBOX_ENOSYS, /* ENOSYS in every case, so that glibc falls back to an older call */
        _SANDBOX_ACTION_MAX,
} sandbox_action;

typedef enum sandbox_when {
        SANDBOX_ALWAYS,
        SANDBOX_PROT_NOT_EXEC,         /* argument 2 (prot) without PROT_EXEC */
        SANDBOX_FCNTL_QUERY,           /* argument 1 (cmd): one of fcntl_queries[] (sandbox.c) */
        SANDBOX_FCNTL_ADD_SEALS,       /* argument 1 (cmd): F_ADD_SEALS */
        SANDBOX_IOCTL_TCGETS,          /* argument 1 (cmd): TCGETS */
        SANDBOX_IOCTL_TIOCSTI,         /* argument 1 (cmd): TIOCSTI */
        SANDBOX_IOCTL_TIOCLINUX,       /* argument 1 (cmd): TIOCLINUX */
        SANDBOX_IOCTL_USERFAULTFD_NEW, /* argument 1 (cmd): USERFAULTFD_IOC_NEW */
        SANDBOX_CLONE_THREAD,          /* argument 0 (flags): CLONE_THREAD, no CLONE_NEW* */
        SANDBOX_CLONE_NEW,             /* argument 0 (flags): any CLONE_NEW* */
        SANDBOX_SELF,                  /* argument 0 (pid, tgid): the process itself */
        SANDBOX_PRLIMIT_READ,          /* argument 0 (pid) 0, argument 2 (new limit) NULL */
        SANDBOX_EMPTY_PATH,            /* argument 3 (flags) with AT_EMPTY_PATH */
        SANDBOX_NOT_AF_UNIX,           /* argument 0 (domain) other than AF_UNIX */
        SANDBOX_SOCK_DGRAM,            /* argument 1 (type): SOCK_DGRAM, whatever its flags */
        SANDBOX_PERSONALITY_SET,       /* argument 0 neither 0 (PER_LINUX) nor 0xffffffff (query) */
        SANDBOX_OTHER_PID,             /* argument 0 (pid) other than 0, the caller itself */
        _SANDBOX_WHEN_MAX,
} sandbox_when;

typedef struct sandbox_rule {
        const char *syscall; /* as libseccomp names it */
        int nr;              /* the number of a call libseccomp 2.5 does not know, or -1 */
        sandbox_action action;
        sandbox_when when;
        const char *why;
} sandbox_rule;

/*
 * sandbox_rules() - @p's table, @ret_n rows. A call without a row gets
 * sandbox_default_action(): compute denies it, launch allows it. A row
 * whose action is the default one is there for its reason, and builds no
 * rule.
 */
const sandbox_rule *sandbox_rules(sandbox_profile p, size_t *ret_n);
sandbox_action sandbox_default_action(sandbox_profile p);

/* "allow", "deny", "ENOSYS"; and how a row's condition reads in docs/workers.md. */
const char *sandbox_action_to_string(sandbox_action a);
const char *sandbox_when_to_string(sandbox_when w);
