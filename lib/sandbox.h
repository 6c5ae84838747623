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
 * x32) kills the process in every profile.
 */

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

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
