/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-sandbox (unit) — the profiles as data: their names, what building
 * refuses, and what each built filter answers for a call, run on a small
 * classic-BPF interpreter over made-up seccomp_data. That reaches what real
 * processes cannot try one by one: every personality bit, arguments with
 * bits above 32 set, foreign architectures the machine may not run. And
 * docs/workers.md shows each profile's table as sandbox.c has it.
 * (tests/integration/test-sandbox.c tries the same in real processes.)
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "lmm.h"
#include "missing.h"
#include "sandbox.h"
#include "splitmix64.h"
#include "util.h"

#define DENIED (SECCOMP_RET_ERRNO | LMM_SANDBOX_ERRNO)
#define ENOSYS_ (SECCOMP_RET_ERRNO | ENOSYS)
#define SELF 4242

/* ---- a classic BPF interpreter, as much of it as seccomp programs use ---- */

static uint32_t bpf_run(const struct sock_fprog *prog, const struct seccomp_data *d) {
        uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
        const uint8_t *data = (const uint8_t *) d;

        for (unsigned pc = 0; pc < prog->len; pc++) {
                const struct sock_filter *f = &prog->filter[pc];
                uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;
                bool t;

                switch (BPF_CLASS(f->code)) {
                case BPF_LD:
                        if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
                                cr_assert(f->k % 4 == 0 && f->k + 4 <= sizeof(*d), "load at %u",
                                          f->k);
                                memcpy(&a, data + f->k, 4);
                        } else if (f->code == (BPF_LD | BPF_IMM))
                                a = f->k;
                        else if (f->code == (BPF_LD | BPF_MEM))
                                a = mem[f->k];
                        else
                                cr_assert_fail("unknown load 0x%x at %u", f->code, pc);
                        break;
                case BPF_LDX:
                        if (f->code == (BPF_LDX | BPF_IMM))
                                x = f->k;
                        else if (f->code == (BPF_LDX | BPF_MEM))
                                x = mem[f->k];
                        else
                                cr_assert_fail("unknown load 0x%x at %u", f->code, pc);
                        break;
                case BPF_ST:
                        mem[f->k] = a;
                        break;
                case BPF_STX:
                        mem[f->k] = x;
                        break;
                case BPF_ALU:
                        switch (BPF_OP(f->code)) {
                        case BPF_ADD:
                                a += src;
                                break;
                        case BPF_SUB:
                                a -= src;
                                break;
                        case BPF_MUL:
                                a *= src;
                                break;
                        case BPF_OR:
                                a |= src;
                                break;
                        case BPF_AND:
                                a &= src;
                                break;
                        case BPF_XOR:
                                a ^= src;
                                break;
                        case BPF_LSH:
                                a <<= src;
                                break;
                        case BPF_RSH:
                                a >>= src;
                                break;
                        case BPF_NEG:
                                a = -a;
                                break;
                        default:
                                cr_assert_fail("unknown alu 0x%x at %u", f->code, pc);
                        }
                        break;
                case BPF_JMP:
                        if (BPF_OP(f->code) == BPF_JA) {
                                pc += f->k;
                                break;
                        }
                        switch (BPF_OP(f->code)) {
                        case BPF_JEQ:
                                t = a == src;
                                break;
                        case BPF_JGT:
                                t = a > src;
                                break;
                        case BPF_JGE:
                                t = a >= src;
                                break;
                        case BPF_JSET:
                                t = (a & src) != 0;
                                break;
                        default:
                                cr_assert_fail("unknown jump 0x%x at %u", f->code, pc);
                        }
                        pc += t ? f->jt : f->jf;
                        break;
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? a : f->k;
                case BPF_MISC:
                        if (BPF_MISCOP(f->code) == BPF_TAX)
                                x = a;
                        else
                                a = x;
                        break;
                }
        }
        cr_assert_fail("the program ran off its end");
        return 0;
}

static struct sock_fprog build(sandbox_profile p, uint32_t flags, pid_t self) {
        struct sock_fprog prog = {};
        int r = sandbox_build_for(p, flags, self, &prog);

        cr_assert_eq(r, 0, "building %s: %s", sandbox_profile_to_string(p), strerror(-r));
        return prog;
}

static int nr_of(const char *name) {
        int nr = seccomp_syscall_resolve_name(name);

        cr_assert_geq(nr, 0, "%s is not a call of this ABI", name);
        return nr;
}

/* What @prog answers for @name with @args on the native ABI. */
static uint32_t ask(const struct sock_fprog *prog, const char *name, uint64_t a0, uint64_t a1,
                    uint64_t a2, uint64_t a3) {
        struct seccomp_data d = {
                .nr = nr_of(name),
                .arch = seccomp_arch_native(),
                .args = { a0, a1, a2, a3 },
        };

        return bpf_run(prog, &d);
}

static uint32_t ask_nr(const struct sock_fprog *prog, uint32_t arch, int nr) {
        struct seccomp_data d = { .nr = nr, .arch = arch };

        return bpf_run(prog, &d);
}

/* ---- names and arguments ---- */

Test(sandbox_build, profile_names) {
        cr_assert_str_eq(sandbox_profile_to_string(SANDBOX_PROFILE_COMPUTE), "compute");
        cr_assert_str_eq(sandbox_profile_to_string(SANDBOX_PROFILE_LAUNCH), "launch");
        cr_assert_null(sandbox_profile_to_string(_SANDBOX_PROFILE_MAX));
        cr_assert_null(sandbox_profile_to_string(_SANDBOX_PROFILE_INVALID));
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                cr_assert_eq(sandbox_profile_from_string(sandbox_profile_to_string(p)), p);
        cr_assert_eq(sandbox_profile_from_string("Compute"), _SANDBOX_PROFILE_INVALID);
        cr_assert_eq(sandbox_profile_from_string("compute "), _SANDBOX_PROFILE_INVALID);
        cr_assert_eq(sandbox_profile_from_string(""), _SANDBOX_PROFILE_INVALID);
        cr_assert_eq(sandbox_profile_from_string(NULL), _SANDBOX_PROFILE_INVALID);
}

Test(sandbox_build, refuses_what_it_does_not_know) {
        struct sock_fprog prog = {};

        cr_assert_eq(sandbox_build(_SANDBOX_PROFILE_INVALID, 0, &prog), -EINVAL);
        cr_assert_eq(sandbox_build(_SANDBOX_PROFILE_MAX, 0, &prog), -EINVAL);
        cr_assert_eq(sandbox_build(SANDBOX_PROFILE_COMPUTE, 1u << 1, &prog), -EINVAL);
        cr_assert_eq(sandbox_build_for(SANDBOX_PROFILE_COMPUTE, 0, -1, &prog), -EINVAL);
        cr_assert_eq(sandbox_build(SANDBOX_PROFILE_LAUNCH, 0, NULL), -EINVAL);
        cr_assert_null(prog.filter, "a refused build wrote its output");
}

/* lmm_sandbox_enter()'s -EINVAL is the check for a profile's name; it confines nothing. */
Test(sandbox_build, enter_refuses_unknown_profiles_and_flags_and_confines_nothing) {
        static const char *const bad[] = { "", "Compute", "compute ", "launch\n", "strict" };

        cr_assert_eq(lmm_sandbox_enter(NULL, 0), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(lmm_sandbox_enter(bad[i], 0), -EINVAL, "\"%s\"", bad[i]);
        cr_assert_eq(lmm_sandbox_enter("compute", 1u << 1), -EINVAL);
        cr_assert_eq(lmm_sandbox_enter("launch", ~LMM_SANDBOX_KILL), -EINVAL);
        cr_assert_eq(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0, "a refused enter loaded a filter");
}

Test(sandbox_build, every_profile_builds_a_program_the_kernel_takes) {
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                for (uint32_t flags = 0; flags <= SANDBOX_KILL; flags++) {
                        struct sock_fprog prog = build(p, flags, SELF);
                        const struct sock_filter *last = &prog.filter[prog.len - 1];

                        cr_assert_gt(prog.len, 0);
                        cr_assert_leq(prog.len, BPF_MAXINSNS);
                        cr_assert_eq(BPF_CLASS(last->code), BPF_RET, "%s ends without a return",
                                     sandbox_profile_to_string(p));
                        cr_log_info("%s%s: %u instructions", sandbox_profile_to_string(p),
                                    flags ? " (kill)" : "", prog.len);
                        sandbox_program_done(&prog);
                        cr_assert_null(prog.filter);
                        cr_assert_eq(prog.len, 0);
                        sandbox_program_done(&prog); /* twice is harmless */
                }
        sandbox_program_done(NULL);
}

/* ---- what the filters answer ---- */

Test(sandbox_build, a_foreign_abi_is_killed_in_every_profile) {
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                for (uint32_t flags = 0; flags <= SANDBOX_KILL; flags++) {
                        struct sock_fprog prog = build(p, flags, SELF);

                        /* i386's socket(), and its getpid(), through int 0x80. */
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_I386, 359), SECCOMP_RET_KILL_PROCESS);
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_I386, 20), SECCOMP_RET_KILL_PROCESS);
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_AARCH64, 198),
                                     SECCOMP_RET_KILL_PROCESS);
#if defined(__x86_64__)
                        /* x32 is the x86-64 architecture with bit 30 in the number. */
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_X86_64, 0x40000000 | 41),
                                     SECCOMP_RET_KILL_PROCESS, "x32 socket() in %s",
                                     sandbox_profile_to_string(p));
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_X86_64, 0x40000000 | 39),
                                     SECCOMP_RET_KILL_PROCESS, "x32 getpid() in %s",
                                     sandbox_profile_to_string(p));
                        cr_assert_eq(ask_nr(&prog, AUDIT_ARCH_X86_64, 0x7fffffff),
                                     SECCOMP_RET_KILL_PROCESS);
#endif
                        sandbox_program_done(&prog);
                }
}

Test(sandbox_build, clone3_fails_with_enosys_in_every_profile_even_with_kill) {
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                for (uint32_t flags = 0; flags <= SANDBOX_KILL; flags++) {
                        struct sock_fprog prog = build(p, flags, SELF);

                        cr_assert_eq(ask(&prog, "clone3", 0, 0, 0, 0), ENOSYS_);
                        sandbox_program_done(&prog);
                }
}

/* Every row of a table does what it says, for the arguments that always match. */
Test(sandbox_build, every_unconditional_row_is_in_its_filter) {
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                for (uint32_t flags = 0; flags <= SANDBOX_KILL; flags++) {
                        struct sock_fprog prog = build(p, flags, SELF);
                        uint32_t deny = flags ? SECCOMP_RET_KILL_PROCESS : DENIED;
                        const sandbox_rule *rules;
                        size_t n;

                        rules = sandbox_rules(p, &n);
                        for (size_t i = 0; i < n; i++) {
                                int nr = seccomp_syscall_resolve_name(rules[i].syscall);
                                uint32_t want = rules[i].action == SANDBOX_ALLOW ? SECCOMP_RET_ALLOW
                                                : rules[i].action == SANDBOX_DENY ? deny
                                                                                  : ENOSYS_;

                                if (rules[i].when != SANDBOX_ALWAYS)
                                        continue;
                                if (nr < 0)
                                        nr = rules[i].nr; /* newer than libseccomp */
                                if (nr < 0)
                                        continue; /* not a call of this ABI (vm86 on x86-64) */
                                cr_assert_eq(ask_nr(&prog, seccomp_arch_native(), nr), want,
                                             "%s: %s answers 0x%x, not 0x%x",
                                             sandbox_profile_to_string(p), rules[i].syscall,
                                             ask_nr(&prog, seccomp_arch_native(), nr), want);
                        }
                        sandbox_program_done(&prog);
                }
}

Test(sandbox_build, compute_denies_by_default_and_kills_with_the_flag) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF),
                          kill = build(SANDBOX_PROFILE_COMPUTE, SANDBOX_KILL, SELF);

        /* Calls no row names. */
        cr_assert_eq(ask(&prog, "mkdir", 0, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "sendmsg", 0, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "prctl", 0, 0, 0, 0), DENIED);
        cr_assert_eq(ask_nr(&prog, seccomp_arch_native(), 1000), DENIED);
        cr_assert_eq(ask(&kill, "mkdir", 0, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
        cr_assert_eq(ask(&kill, "openat", 0, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
        cr_assert_eq(ask(&kill, "read", 0, 0, 0, 0), SECCOMP_RET_ALLOW);
        sandbox_program_done(&prog);
        sandbox_program_done(&kill);
}

Test(sandbox_build, compute_never_maps_anything_executable) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF);
        const char *const calls[] = { "mmap", "mprotect" };

        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                cr_assert_eq(ask(&prog, calls[i], 0, 4096, PROT_READ | PROT_WRITE, 0),
                             SECCOMP_RET_ALLOW);
                cr_assert_eq(ask(&prog, calls[i], 0, 4096, PROT_NONE, 0), SECCOMP_RET_ALLOW);
                cr_assert_eq(ask(&prog, calls[i], 0, 4096, PROT_EXEC, 0), DENIED);
                cr_assert_eq(ask(&prog, calls[i], 0, 4096, PROT_READ | PROT_EXEC, 0), DENIED);
                cr_assert_eq(ask(&prog, calls[i], 0, 4096,
                                 (UINT64_C(1) << 40) | PROT_READ | PROT_WRITE | PROT_EXEC, 0),
                             DENIED);
        }
        sandbox_program_done(&prog);
}

Test(sandbox_build, compute_fcntl_reads_flags_and_seals_never_adds_seals) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF);
        const uint64_t ok[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_GET_SEALS, F_DUPFD_CLOEXEC };
        const uint64_t no[] = { F_ADD_SEALS, F_DUPFD,      F_SETOWN, F_SETSIG,    F_SETLEASE,
                                F_NOTIFY,    F_SETPIPE_SZ, F_SETLK,  F_OFD_SETLKW };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                cr_assert_eq(ask(&prog, "fcntl", 3, ok[i], 0, 0), SECCOMP_RET_ALLOW);
                /* The kernel reads the low 32 bits; so does the filter. */
                cr_assert_eq(ask(&prog, "fcntl", 3, (UINT64_C(1) << 32) | ok[i], 0, 0),
                             SECCOMP_RET_ALLOW);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                cr_assert_eq(ask(&prog, "fcntl", 3, no[i], F_SEAL_SEAL, 0), DENIED, "cmd %llu",
                             (unsigned long long) no[i]);
                cr_assert_eq(ask(&prog, "fcntl", 3, (UINT64_C(1) << 32) | no[i], 0, 0), DENIED);
        }
        sandbox_program_done(&prog);
}

Test(sandbox_build, compute_clone_makes_threads_only) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF);
        const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                                CLONE_CHILD_CLEARTID;
        const uint64_t news[] = { CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET };

        cr_assert_eq(ask(&prog, "clone", thread, 0, 0, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "clone", SIGCHLD, 0, 0, 0), DENIED, "fork");
        cr_assert_eq(ask(&prog, "clone", CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0), DENIED,
                     "posix_spawn");
        for (size_t i = 0; i < ELEMENTSOF(news); i++)
                cr_assert_eq(ask(&prog, "clone", thread | news[i], 0, 0, 0), DENIED, "0x%llx",
                             (unsigned long long) news[i]);
        sandbox_program_done(&prog);
}

Test(sandbox_build, compute_signals_reach_the_process_itself_only) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF),
                          anon = build(SANDBOX_PROFILE_COMPUTE, 0, 0);

        cr_assert_eq(ask(&prog, "tgkill", SELF, SELF + 1, SIGABRT, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "kill", SELF, SIGTERM, 0, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "tgkill", SELF + 1, SELF + 1, SIGKILL, 0), DENIED);
        cr_assert_eq(ask(&prog, "kill", 1, SIGKILL, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "kill", 0, SIGKILL, 0, 0), DENIED, "its process group");
        cr_assert_eq(ask(&prog, "kill", (uint64_t) -1, SIGKILL, 0, 0), DENIED, "everyone");
        cr_assert_eq(ask(&prog, "kill", (UINT64_C(1) << 32) | SELF, SIGKILL, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "tkill", SELF, SIGKILL, 0, 0), DENIED);
        /* Built without a pid (a launcher's parent): no signal at all. */
        cr_assert_eq(ask(&anon, "tgkill", SELF, SELF, SIGABRT, 0), DENIED);
        cr_assert_eq(ask(&anon, "kill", 0, SIGKILL, 0, 0), DENIED);
        sandbox_program_done(&prog);
        sandbox_program_done(&anon);
}

Test(sandbox_build, compute_reads_limits_and_fstats_but_changes_and_resolves_nothing) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_COMPUTE, 0, SELF);

        cr_assert_eq(ask(&prog, "prlimit64", 0, RLIMIT_NOFILE, 0, 0x1000), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "prlimit64", 0, RLIMIT_NOFILE, 0x1000, 0), DENIED);
        cr_assert_eq(ask(&prog, "prlimit64", 1, RLIMIT_NOFILE, 0, 0x1000), DENIED);
        cr_assert_eq(ask(&prog, "newfstatat", 3, 0x1000, 0x2000, AT_EMPTY_PATH), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "newfstatat", AT_FDCWD, 0x1000, 0x2000, 0), DENIED);
        cr_assert_eq(ask(&prog, "newfstatat", AT_FDCWD, 0x1000, 0x2000, AT_SYMLINK_NOFOLLOW),
                     DENIED);
        cr_assert_eq(ask(&prog, "ioctl", 1, TCGETS, 0x1000, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "ioctl", 1, TCSETS, 0x1000, 0), DENIED);
        cr_assert_eq(ask(&prog, "ioctl", 1, TIOCSTI, 0x1000, 0), DENIED);
        cr_assert_eq(ask(&prog, "ioctl", 1, FIONREAD, 0x1000, 0), DENIED);
        sandbox_program_done(&prog);
}

Test(sandbox_build, launch_allows_by_default) {
        const char *const calls[] = { "openat",  "execve",  "mmap",  "mprotect", "memfd_create",
                                      "connect", "sendmsg", "wait4", "prctl",    "pidfd_open" };

        for (uint32_t flags = 0; flags <= SANDBOX_KILL; flags++) {
                struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, flags, 0);

                for (size_t i = 0; i < ELEMENTSOF(calls); i++)
                        cr_assert_eq(ask(&prog, calls[i], 3, PROT_READ | PROT_EXEC, PROT_EXEC, 0),
                                     SECCOMP_RET_ALLOW, "%s", calls[i]);
                cr_assert_eq(ask(&prog, "socket", AF_UNIX, SOCK_STREAM, 0, 0),
                             flags ? SECCOMP_RET_KILL_PROCESS : DENIED);
                sandbox_program_done(&prog);
        }
}

/* The high bits of a 32-bit argument: flatpak's CVE-2019-10063 was TIOCSTI with bit 32 set. */
Test(sandbox_build, launch_deny_rules_see_through_bits_above_32) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, 0, 0);
        const uint64_t hi[] = { 0, UINT64_C(1) << 32, UINT64_C(0xffffffff00000000) };

        for (size_t i = 0; i < ELEMENTSOF(hi); i++) {
                cr_assert_eq(ask(&prog, "fcntl", 3, hi[i] | F_ADD_SEALS, F_SEAL_SEAL, 0), DENIED);
                cr_assert_eq(ask(&prog, "ioctl", 0, hi[i] | TIOCSTI, 0x1000, 0), DENIED);
                cr_assert_eq(ask(&prog, "ioctl", 0, hi[i] | TIOCLINUX, 0x1000, 0), DENIED);
                cr_assert_eq(ask(&prog, "fcntl", 3, hi[i] | F_GET_SEALS, 0, 0), SECCOMP_RET_ALLOW);
                cr_assert_eq(ask(&prog, "fcntl", 3, hi[i] | F_SETFD, FD_CLOEXEC, 0),
                             SECCOMP_RET_ALLOW);
                cr_assert_eq(ask(&prog, "ioctl", 0, hi[i] | TCGETS, 0x1000, 0), SECCOMP_RET_ALLOW);
        }
        sandbox_program_done(&prog);
}

Test(sandbox_build, launch_socketpair_only_for_unix) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, 0, 0);

        cr_assert_eq(ask(&prog, "socketpair", AF_UNIX, SOCK_STREAM, 0, 0x1000), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "socketpair", AF_UNIX, SOCK_SEQPACKET, 0, 0x1000),
                     SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "socketpair", AF_INET, SOCK_STREAM, 0, 0x1000), DENIED);
        cr_assert_eq(ask(&prog, "socketpair", AF_NETLINK, SOCK_RAW, 0, 0x1000), DENIED);
        cr_assert_eq(ask(&prog, "socketpair", AF_VSOCK, SOCK_STREAM, 0, 0x1000), DENIED);
        /* AF_UNIX with bits above: the kernel would read AF_UNIX; refused, which is safe. */
        cr_assert_eq(ask(&prog, "socketpair", (UINT64_C(1) << 32) | AF_UNIX, SOCK_STREAM, 0, 0),
                     DENIED);
        sandbox_program_done(&prog);
}

Test(sandbox_build, launch_clone_makes_processes_and_threads_but_no_namespace) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, 0, 0);
        const uint64_t news[] = { CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET };

        cr_assert_eq(ask(&prog, "clone", SIGCHLD, 0, 0, 0), SECCOMP_RET_ALLOW, "fork");
        cr_assert_eq(ask(&prog, "clone", CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0),
                     SECCOMP_RET_ALLOW, "posix_spawn");
        cr_assert_eq(ask(&prog, "clone", CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, 0, 0, 0),
                     SECCOMP_RET_ALLOW);
        for (size_t i = 0; i < ELEMENTSOF(news); i++) {
                cr_assert_eq(ask(&prog, "clone", news[i] | SIGCHLD, 0, 0, 0), DENIED, "0x%llx",
                             (unsigned long long) news[i]);
                cr_assert_eq(ask(&prog, "clone", (UINT64_C(1) << 33) | news[i], 0, 0, 0), DENIED);
        }
        cr_assert_eq(ask(&prog, "unshare", CLONE_FILES, 0, 0, 0), DENIED);
        sandbox_program_done(&prog);
}

/* Calls that act on a pid: on itself (0) they work, on another process they do not. */
Test(sandbox_build, launch_keeps_to_its_own_process_where_a_call_takes_a_pid) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, 0, 0);
        const char *const calls[] = { "get_robust_list", "move_pages", "migrate_pages",
                                      "prlimit64" };

        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                cr_assert_eq(ask(&prog, calls[i], 0, 0x1000, 0x2000, 0), SECCOMP_RET_ALLOW, "%s",
                             calls[i]);
                cr_assert_eq(ask(&prog, calls[i], 1, 0x1000, 0x2000, 0), DENIED, "%s", calls[i]);
                cr_assert_eq(ask(&prog, calls[i], SELF, 0, 0, 0), DENIED, "%s", calls[i]);
                cr_assert_eq(ask(&prog, calls[i], UINT64_C(1) << 32, 0, 0, 0), DENIED, "%s",
                             calls[i]);
        }
        sandbox_program_done(&prog);
}

static bool personality_allowed(uint64_t v) {
        uint32_t low = (uint32_t) v;

        return low == 0 || low == UINT32_MAX;
}

Test(sandbox_build, launch_personality_only_linux_and_the_query) {
        struct sock_fprog prog = build(SANDBOX_PROFILE_LAUNCH, 0, 0);
        uint64_t seed = 7;

        cr_assert_eq(ask(&prog, "personality", PER_LINUX, 0, 0, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "personality", 0xffffffff, 0, 0, 0), SECCOMP_RET_ALLOW);
        cr_assert_eq(ask(&prog, "personality", ADDR_NO_RANDOMIZE, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "personality", READ_IMPLIES_EXEC, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "personality", PER_LINUX32, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "personality", 0xfffffffe, 0, 0, 0), DENIED);
        cr_assert_eq(ask(&prog, "personality", 0x7fffffff, 0, 0, 0), DENIED);
        for (unsigned i = 0; i < 32; i++) {
                cr_assert_eq(ask(&prog, "personality", UINT64_C(1) << i, 0, 0, 0), DENIED, "bit %u",
                             i);
                cr_assert_eq(ask(&prog, "personality", 0xffffffff & ~(UINT64_C(1) << i), 0, 0, 0),
                             DENIED, "all bits but %u", i);
        }
        for (int i = 0; i < 20000; i++) {
                uint64_t v = splitmix64(&seed);

                if (i % 3 == 0)
                        v &= 0xffffffff; /* mostly what a caller passes */
                cr_assert_eq(ask(&prog, "personality", v, 0, 0, 0),
                             personality_allowed(v) ? SECCOMP_RET_ALLOW : DENIED, "0x%llx",
                             (unsigned long long) v);
        }
        sandbox_program_done(&prog);
}

/* ---- the tables themselves ---- */

Test(sandbox_build, every_row_names_a_call_and_says_why) {
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++) {
                const sandbox_rule *rules;
                size_t n;

                rules = sandbox_rules(p, &n);
                cr_assert_gt(n, 0);
                for (size_t i = 0; i < n; i++) {
                        const sandbox_rule *r = &rules[i];

                        cr_assert(seccomp_syscall_resolve_name(r->syscall) != __NR_SCMP_ERROR ||
                                          r->nr >= 0,
                                  "%s: libseccomp does not know %s, and the row has no number",
                                  sandbox_profile_to_string(p), r->syscall);
                        cr_assert(r->why && strlen(r->why) > 3, "%s without a reason", r->syscall);
                        cr_assert_not_null(sandbox_action_to_string(r->action));
                        cr_assert_not_null(sandbox_when_to_string(r->when));
                        for (size_t j = 0; j < i; j++)
                                cr_assert(strcmp(rules[j].syscall, r->syscall) != 0 ||
                                                  rules[j].when != r->when,
                                          "%s: %s twice", sandbox_profile_to_string(p), r->syscall);
                }
        }
        cr_assert_null(sandbox_rules(_SANDBOX_PROFILE_MAX, &(size_t){ 0 }));
}

/* The markdown table docs/workers.md shows for @p, as the unit test expects it. */
static char *doc_table(sandbox_profile p) {
        const sandbox_rule *rules;
        char *buf = NULL;
        size_t size = 0, n;
        FILE *f = open_memstream(&buf, &size);

        cr_assert_not_null(f);
        fprintf(f, "| call | action | when | why |\n|---|---|---|---|\n");
        rules = sandbox_rules(p, &n);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "| `%s` | %s | %s | %s |\n", rules[i].syscall,
                        sandbox_action_to_string(rules[i].action),
                        sandbox_when_to_string(rules[i].when), rules[i].why);
        cr_assert_eq(fclose(f), 0);
        return buf;
}

static char *read_file(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *in = fopen(path, "re"), *out = open_memstream(&buf, &size);
        char chunk[4096];
        size_t k;

        cr_assert_not_null(in, "%s: %s", path, strerror(errno));
        cr_assert_not_null(out);
        while ((k = fread(chunk, 1, sizeof(chunk), in)) > 0)
                fwrite(chunk, 1, k, out);
        fclose(in);
        cr_assert_eq(fclose(out), 0);
        return buf;
}

Test(sandbox_build, docs_show_each_profile_s_table_as_built) {
        const char *root = getenv("LMM_SOURCE_ROOT");
        char path[4096];
        char *doc;

        cr_assert_not_null(root, "LMM_SOURCE_ROOT is not set (meson sets it)");
        snprintf(path, sizeof(path), "%s/docs/workers.md", root);
        doc = read_file(path);
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++) {
                char *want = doc_table(p);

                cr_expect_not_null(strstr(doc, want),
                                   "docs/workers.md does not show the %s profile's table as "
                                   "lib/sandbox.c has it; it should read:\n%s",
                                   sandbox_profile_to_string(p), want);
                free(want);
        }
        free(doc);
}
