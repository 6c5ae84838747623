/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox — the seccomp profiles of lmm's workers (sandbox.h), built with
 * libseccomp from one table per profile: each row a system call, what the
 * filter does with it, for which arguments, and why. docs/workers.md shows
 * the same tables, and tests/unit/test-sandbox.c checks that it does.
 *
 * Guarantees:
 *   - a filter is for the native ABI alone: a call through another one
 *     (i386's int 0x80, x32's numbers from 0x40000000 on x86-64) kills the
 *     process, whatever the profile; libseccomp's x86-64 filter checks the
 *     x32 bit itself (seen in its output: nr >= 0x40000000 goes to the
 *     bad-architecture action);
 *   - an argument the kernel reads as a 32-bit int (fcntl's and ioctl's
 *     cmd, personality) is compared on its low 32 bits only, so that bits
 *     set above them cannot slip a call past a deny rule (flatpak's
 *     CVE-2019-10063, TIOCSTI with a high bit);
 *   - clone3() fails with ENOSYS in every profile, also with SANDBOX_KILL:
 *     its flags are in memory a filter cannot read, and on ENOSYS glibc
 *     falls back to clone(), whose flags it can;
 *   - building allocates; sandbox_apply() is two system calls.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "lmm.h"
#include "missing.h"
#include "sandbox.h"
#include "util.h"

#define CLONE_NEW_ANY                                                                  \
        (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
         CLONE_NEWPID | CLONE_NEWNET)

/*
 * compute: what a program that has set itself up needs to compute on the
 * blocks it has mapped. Everything else fails; the denied rows below are
 * there for their reasons (the default denies them already).
 */
static const sandbox_rule compute_rules[] = {
        /* memory */
        { "brk", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "malloc()'s heap" },
        { "mmap", -1, SANDBOX_ALLOW, SANDBOX_PROT_NOT_EXEC,
          "map blocks and anonymous memory; nothing new is ever executable" },
        { "mprotect", -1, SANDBOX_ALLOW, SANDBOX_PROT_NOT_EXEC,
          "change a mapping's protection, never to executable (thread stacks' guard pages)" },
        { "munmap", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "unmap" },
        { "mremap", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "grow or move a mapping (realloc() of large allocations); its protection stays" },
        { "madvise", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "malloc() gives memory back, an ending thread its stack" },
        { "membarrier", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "memory barriers across the process's own threads (userspace RCU)" },
        /* fds the process holds already */
        { "read", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "write", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "pread64", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "pwrite64", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "readv", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "writev", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "lseek", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "I/O on fds the process holds already" },
        { "close", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "drop an fd" },
        { "dup", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "another number for an fd it holds" },
        { "dup2", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "another number for an fd it holds (glibc's dup2() on x86-64)" },
        { "dup3", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "another number for an fd it holds" },
        { "fcntl", -1, SANDBOX_ALLOW, SANDBOX_FCNTL_QUERY,
          "an fd's flags, and a block's seals before mapping it; never F_ADD_SEALS: a "
          "read-write holder could seal a block F_SEAL_SEAL and defeat freeze and shutdown" },
        { "fstat", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "a block's size before mapping it" },
        { "newfstatat", -1, SANDBOX_ALLOW, SANDBOX_EMPTY_PATH,
          "glibc's fstat(); a filter cannot read the path, so a path given with the flag still "
          "resolves: a file's metadata, never its contents" },
        { "ioctl", -1, SANDBOX_ALLOW, SANDBOX_IOCTL_TCGETS,
          "isatty(), so that stdio line-buffers a terminal" },
        /* time */
        { "clock_gettime", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "clocks, where the vDSO falls back" },
        { "clock_getres", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "clocks, where the vDSO falls back" },
        { "gettimeofday", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "clocks, where the vDSO falls back" },
        { "clock_nanosleep", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "sleep" },
        { "nanosleep", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "sleep" },
        /* threads, signals, the process itself */
        { "getpid", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "its own pid (raise())" },
        { "gettid", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "its own thread ids" },
        { "getppid", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "its parent is none of its business: the number serves only to reach it" },
        { "clone", -1, SANDBOX_ALLOW, SANDBOX_CLONE_THREAD,
          "threads; no new process, no namespace" },
        { "clone3", -1, SANDBOX_ENOSYS, SANDBOX_ALWAYS,
          "its flags are in memory a filter cannot read; on ENOSYS glibc falls back to clone()" },
        { "set_robust_list", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "a new thread's set-up in glibc" },
        { "rseq", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "a new thread's set-up in glibc" },
        { "futex", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "mutexes, condition variables, joining a thread" },
        { "sched_yield", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "spin locks' back-off" },
        { "sched_getaffinity", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "how many CPUs it may run on, to size a pool of threads" },
        { "getrandom", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "random numbers, hash seeds" },
        { "prlimit64", -1, SANDBOX_ALLOW, SANDBOX_PRLIMIT_READ,
          "getrlimit(): read its own limits, never change them" },
        { "kill", -1, SANDBOX_ALLOW, SANDBOX_SELF,
          "signal itself; only when the filter is built for a known pid (lmm_sandbox_enter())" },
        { "tgkill", -1, SANDBOX_ALLOW, SANDBOX_SELF,
          "raise(), abort(), pthread_kill() within the process; only when the filter is built "
          "for a known pid" },
        { "rt_sigaction", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "signal handlers" },
        { "rt_sigprocmask", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "signal masks (every new thread's)" },
        { "rt_sigreturn", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "return from a signal handler" },
        { "sigaltstack", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "a stack for a SIGSEGV handler" },
        { "restart_syscall", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "a sleep that a signal interrupted goes on" },
        { "exit", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "a thread ends" },
        { "exit_group", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "the process ends" },
        /* waiting */
        { "poll", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "ppoll", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "epoll_create1", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "epoll_ctl", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "epoll_wait", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "epoll_pwait", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "epoll_pwait2", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS, "wait on fds it holds" },
        { "eventfd2", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "wake-ups between its threads: an fd that reaches nothing outside" },
        { "pipe2", -1, SANDBOX_ALLOW, SANDBOX_ALWAYS,
          "wake-ups between its threads: fds that reach nothing outside" },
        /* what it never gets */
        { "open", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "no file is opened: a block received read-only could be reopened read-write through "
          "/proc/self/fd/N" },
        { "openat", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as open" },
        { "openat2", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as open" },
        { "creat", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as open" },
        { "socket", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "no network, no reaching other services" },
        { "socketpair", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as socket" },
        { "connect", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as socket" },
        { "accept4", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as socket" },
        { "bind", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as socket" },
        { "execve", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "no other program: nothing runs that did not set itself up" },
        { "execveat", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as execve" },
        { "memfd_create", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "no new file to map executable or to pass on" },
        { "ptrace", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "other processes of the same uid are not its business" },
        { "process_vm_readv", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as ptrace" },
        { "process_vm_writev", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as ptrace" },
        { "pidfd_open", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as ptrace" },
        { "pidfd_getfd", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "as ptrace: it would copy fds out of another process" },
        { "io_uring_setup", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "io_uring's requests (open, socket, ...) run without passing this filter" },
        { "io_uring_enter", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as io_uring_setup" },
        { "io_uring_register", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as io_uring_setup" },
        { "mount", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "no mounts (see the launch profile)" },
        { "umount2", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "unshare", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "no namespace: a new user namespace gives capabilities back" },
        { "setns", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as unshare" },
};

/*
 * launch: applied to an arbitrary program at exec. A list of what is denied,
 * everything else allowed: an allow-list that every dynamically linked
 * program (sh, python3, coreutils) gets through would have to follow each
 * glibc's and each interpreter's choice of calls, and a call it missed
 * breaks a program in the field; the denied calls are the ones that reach
 * beyond the worker's own process, files and fds.
 */
static const sandbox_rule launch_rules[] = {
        /* sockets */
        { "socket", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "no new socket of any family: no network, no manager, no other local service; a "
          "worker talks through the fds it was given" },
        { "socketpair", -1, SANDBOX_DENY, SANDBOX_NOT_AF_UNIX,
          "a pair of Unix stream or seqpacket sockets reaches nobody else; programs talk to "
          "their children over one" },
        { "socketpair", -1, SANDBOX_DENY, SANDBOX_SOCK_DGRAM,
          "a datagram socket, even of a pair, sends to any named or abstract datagram socket "
          "on the machine (sendto() with an address): fds, a read-only block's among them, "
          "to anyone listening" },
        /* a block's permissions: the memfd is the worker's uid's, and what keeps
         * another user, handed its fd, from reopening it read-write through /proc
         * is its mode 0600 and no ACL */
        { "fchmod", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "a mode through an fd: a block's 0666 lets anyone it reaches reopen it read-write; "
          "chmod() by path stays" },
        { "fchmodat2", 452, SANDBOX_DENY, SANDBOX_EMPTY_PATH,
          "as fchmod, on the fd itself (`AT_EMPTY_PATH`, Linux 6.6)" },
        { "fsetxattr", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "an access ACL through an fd (`system.posix_acl_access`) lets another user reopen a "
          "block read-write whatever its mode; setxattr() by path stays" },
        { "setxattrat", 463, SANDBOX_DENY, SANDBOX_ALWAYS,
          "as fsetxattr, also on the fd itself (Linux 6.13)" },
        /* other processes of the same uid (there is no Yama here) */
        { "ptrace", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "read, write or run code in another process of the same uid" },
        { "process_vm_readv", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "read another process's memory" },
        { "process_vm_writev", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "write another process's memory" },
        { "pidfd_getfd", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "copy an fd out of another process: the launcher's read-write fd of a block the "
          "worker got read-only" },
        { "kcmp", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "which files and memory other processes share: an oracle over their fds" },
        { "perf_event_open", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "watch another process (and a large kernel surface)" },
        { "get_robust_list", -1, SANDBOX_DENY, SANDBOX_OTHER_PID,
          "another process's robust list: the address of its thread's control block, mapped "
          "beside its libraries, which undoes its address randomization" },
        { "move_pages", -1, SANDBOX_DENY, SANDBOX_OTHER_PID,
          "which of another process's pages are mapped: an oracle on its address layout" },
        { "migrate_pages", -1, SANDBOX_DENY, SANDBOX_OTHER_PID, "as move_pages" },
        { "prlimit64", -1, SANDBOX_DENY, SANDBOX_OTHER_PID,
          "another process's limits: a hard limit on fds lowered for good stops the manager "
          "serving" },
        /* seals */
        { "fcntl", -1, SANDBOX_DENY, SANDBOX_FCNTL_ADD_SEALS,
          "a read-write holder could seal a block F_SEAL_SEAL and defeat freeze and shutdown "
          "sealing; fcntl64 exists only for foreign ABIs, which die" },
        /* calls that act without passing this filter */
        { "io_uring_setup", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "io_uring's requests (IORING_OP_OPENAT, IORING_OP_SOCKET, ...) run without passing "
          "this filter" },
        { "io_uring_enter", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as io_uring_setup" },
        { "io_uring_register", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as io_uring_setup" },
        /* mounts: the tmpfs that hides /proc */
        { "mount", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "the worker holds CAP_SYS_ADMIN in its own user namespace; only this filter keeps it "
          "from unmounting or going around the tmpfs that hides /proc (/proc/self/fd/N would "
          "reopen a read-only block read-write, /proc/PID/mem read other processes)" },
        { "umount2", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "pivot_root", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "chroot", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "open_tree", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "open_tree_attr", 467, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount (Linux 6.15)" },
        { "move_mount", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "fsopen", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "as mount: a new proc mount's fd would serve without being attached anywhere" },
        { "fsconfig", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "fsmount", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as fsopen" },
        { "fspick", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "mount_setattr", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as mount" },
        { "statmount", 457, SANDBOX_DENY, SANDBOX_ALWAYS,
          "the mount tree the launcher arranged, what covers what (Linux 6.8)" },
        { "listmount", 458, SANDBOX_DENY, SANDBOX_ALWAYS, "as statmount" },
        { "name_to_handle_at", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "a file handle, which open_by_handle_at() opens around every mount that hides the "
          "file" },
        { "open_by_handle_at", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as name_to_handle_at" },
        /* namespaces */
        { "unshare", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "a new user namespace gives every capability back inside it, and new mount "
          "namespaces to rearrange" },
        { "setns", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "join another process's namespaces" },
        { "clone", -1, SANDBOX_DENY, SANDBOX_CLONE_NEW, "as unshare, in a new process" },
        { "clone3", -1, SANDBOX_ENOSYS, SANDBOX_ALWAYS,
          "its flags are in memory a filter cannot read; on ENOSYS glibc falls back to clone()" },
        /* the terminal */
        { "ioctl", -1, SANDBOX_DENY, SANDBOX_IOCTL_TIOCSTI,
          "push characters into the terminal's input: commands typed into the shell that "
          "started the worker" },
        { "ioctl", -1, SANDBOX_DENY, SANDBOX_IOCTL_TIOCLINUX,
          "the same on a virtual console, whose screen it also reads" },
        /* the worker's own hardening */
        { "personality", -1, SANDBOX_DENY, SANDBOX_PERSONALITY_SET,
          "ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and the like weaken the programs it runs" },
        /* tools of kernel exploits, and secrets of the uid */
        { "bpf", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the verifier is a large kernel surface" },
        { "userfaultfd", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "holds a kernel access at a page fault for as long as it likes: how exploits win "
          "races" },
        { "ioctl", -1, SANDBOX_DENY, SANDBOX_IOCTL_USERFAULTFD_NEW,
          "as userfaultfd, through /dev/userfaultfd (a root launcher's worker may open it)" },
        { "modify_ldt", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "16-bit segments that only Wine needs, with a record of kernel bugs" },
        { "keyctl", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "the user keyring is shared by every process of the uid: the launcher's user's "
          "secrets" },
        { "add_key", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as keyctl" },
        { "request_key", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as keyctl" },
        /* what needs capabilities in the initial user namespace, which a worker does not
         * hold: denied too, so that a launch without a user namespace is no worse */
        { "kexec_load", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "replace the kernel" },
        { "kexec_file_load", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "replace the kernel" },
        { "init_module", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "load kernel code" },
        { "finit_module", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "load kernel code" },
        { "delete_module", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "unload kernel code" },
        { "reboot", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's life" },
        { "swapon", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's memory" },
        { "swapoff", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's memory" },
        { "acct", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's process accounting" },
        { "quotactl", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "file systems' quotas" },
        { "quotactl_fd", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "file systems' quotas" },
        { "syslog", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the kernel's log, with its addresses" },
        { "settimeofday", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's clock" },
        { "clock_settime", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's clock" },
        { "clock_adjtime", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's clock" },
        { "adjtimex", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's clock" },
        { "sethostname", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's name" },
        { "setdomainname", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "the machine's name" },
        { "lookup_dcookie", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "any file's path from a kernel cookie (gone since Linux 6.8)" },
        { "iopl", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "hardware I/O ports" },
        { "ioperm", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "hardware I/O ports" },
        { "vm86", -1, SANDBOX_DENY, SANDBOX_ALWAYS,
          "i386 only: a foreign ABI on x86-64, which dies anyway" },
        { "vm86old", -1, SANDBOX_DENY, SANDBOX_ALWAYS, "as vm86" },
};

/* The one fcntl() or ioctl() command each of these conditions names. */
static const uint64_t cmd_of[_SANDBOX_WHEN_MAX] = {
        [SANDBOX_FCNTL_ADD_SEALS] = F_ADD_SEALS,
        [SANDBOX_IOCTL_TCGETS] = TCGETS,
        [SANDBOX_IOCTL_TIOCSTI] = TIOCSTI,
        [SANDBOX_IOCTL_TIOCLINUX] = TIOCLINUX,
        [SANDBOX_IOCTL_USERFAULTFD_NEW] = USERFAULTFD_IOC_NEW,
};

static const char *const profile_names[_SANDBOX_PROFILE_MAX] = {
        [SANDBOX_PROFILE_COMPUTE] = "compute",
        [SANDBOX_PROFILE_LAUNCH] = "launch",
};

static const char *const action_names[_SANDBOX_ACTION_MAX] = {
        [SANDBOX_ALLOW] = "allow",
        [SANDBOX_DENY] = "deny",
        [SANDBOX_ENOSYS] = "ENOSYS",
};

static const char *const when_names[_SANDBOX_WHEN_MAX] = {
        [SANDBOX_ALWAYS] = "always",
        [SANDBOX_PROT_NOT_EXEC] = "`prot` without `PROT_EXEC`",
        [SANDBOX_FCNTL_QUERY] = "`cmd` `F_GETFL`, `F_SETFL`, `F_GETFD`, `F_SETFD`, `F_GET_SEALS`, "
                                "`F_DUPFD_CLOEXEC`",
        [SANDBOX_FCNTL_ADD_SEALS] = "`cmd` `F_ADD_SEALS`",
        [SANDBOX_IOCTL_TCGETS] = "`cmd` `TCGETS`",
        [SANDBOX_IOCTL_TIOCSTI] = "`cmd` `TIOCSTI`",
        [SANDBOX_IOCTL_TIOCLINUX] = "`cmd` `TIOCLINUX`",
        [SANDBOX_IOCTL_USERFAULTFD_NEW] = "`cmd` `USERFAULTFD_IOC_NEW`",
        [SANDBOX_CLONE_THREAD] = "`flags` with `CLONE_THREAD`, without any `CLONE_NEW*`",
        [SANDBOX_CLONE_NEW] = "`flags` with any `CLONE_NEW*`",
        [SANDBOX_SELF] = "`pid` the process itself",
        [SANDBOX_PRLIMIT_READ] = "`pid` 0, `new_limit` NULL",
        [SANDBOX_EMPTY_PATH] = "`flags` with `AT_EMPTY_PATH`",
        [SANDBOX_NOT_AF_UNIX] = "`domain` other than `AF_UNIX`",
        [SANDBOX_SOCK_DGRAM] = "`type` `SOCK_DGRAM`",
        [SANDBOX_PERSONALITY_SET] = "`persona` other than 0 (`PER_LINUX`) and 0xffffffff (query)",
        [SANDBOX_OTHER_PID] = "`pid` other than 0 (itself)",
};

const char *sandbox_profile_to_string(sandbox_profile p) {
        if (p < 0 || p >= _SANDBOX_PROFILE_MAX)
                return NULL;
        return profile_names[p];
}

sandbox_profile sandbox_profile_from_string(const char *s) {
        if (!s)
                return _SANDBOX_PROFILE_INVALID;
        for (sandbox_profile p = 0; p < _SANDBOX_PROFILE_MAX; p++)
                if (strcmp(s, profile_names[p]) == 0)
                        return p;
        return _SANDBOX_PROFILE_INVALID;
}

const char *sandbox_action_to_string(sandbox_action a) {
        if (a < 0 || a >= _SANDBOX_ACTION_MAX)
                return NULL;
        return action_names[a];
}

const char *sandbox_when_to_string(sandbox_when w) {
        if (w < 0 || w >= _SANDBOX_WHEN_MAX)
                return NULL;
        return when_names[w];
}

const sandbox_rule *sandbox_rules(sandbox_profile p, size_t *ret_n) {
        switch (p) {
        case SANDBOX_PROFILE_COMPUTE:
                *ret_n = ELEMENTSOF(compute_rules);
                return compute_rules;
        case SANDBOX_PROFILE_LAUNCH:
                *ret_n = ELEMENTSOF(launch_rules);
                return launch_rules;
        default:
                *ret_n = 0;
                return NULL;
        }
}

sandbox_action sandbox_default_action(sandbox_profile p) {
        return p == SANDBOX_PROFILE_COMPUTE ? SANDBOX_DENY : SANDBOX_ALLOW;
}

/*
 * The number of @r's call on the native ABI; __NR_SCMP_ERROR when neither
 * libseccomp nor the table knows it. A number in the table (a call newer
 * than libseccomp 2.5) is one from the table that every architecture shares
 * since Linux 5.1; MIPS adds an offset to it, so there the row is left out.
 */
static int rule_syscall_nr(const sandbox_rule *r) {
        int nr = seccomp_syscall_resolve_name(r->syscall);

        if (nr != __NR_SCMP_ERROR || r->nr < 0)
                return nr;
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_MIPS:
        case SCMP_ARCH_MIPSEL:
        case SCMP_ARCH_MIPS64:
        case SCMP_ARCH_MIPSEL64:
        case SCMP_ARCH_MIPS64N32:
        case SCMP_ARCH_MIPSEL64N32:
                return __NR_SCMP_ERROR;
        default:
                return r->nr;
        }
}

/* The rule(s) for row @r with @action; @self as for sandbox_build_for(). */
static int add_rule(scmp_filter_ctx ctx, const sandbox_rule *r, uint32_t action, pid_t self) {
        static const uint32_t fcntl_queries[] = {
                F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_GET_SEALS, F_DUPFD_CLOEXEC,
        };
        static const uint32_t clone_new[] = {
                CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
        };
        const uint64_t low32 = UINT32_MAX;
        int nr, k;

        nr = rule_syscall_nr(r);
        if (nr == __NR_SCMP_ERROR)
                return 0; /* unknown to this libseccomp and to the table: nothing to say */

        /* A call the native ABI lacks has a negative pseudo number: libseccomp
         * drops its rule without an error. */
        switch (r->when) {
        case SANDBOX_ALWAYS:
                return seccomp_rule_add(ctx, action, nr, 0);
        case SANDBOX_PROT_NOT_EXEC:
                return seccomp_rule_add(ctx, action, nr, 1,
                                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        case SANDBOX_FCNTL_QUERY:
                for (size_t i = 0; i < ELEMENTSOF(fcntl_queries); i++) {
                        k = seccomp_rule_add(ctx, action, nr, 1,
                                             SCMP_A1(SCMP_CMP_MASKED_EQ, low32, fcntl_queries[i]));
                        if (k < 0)
                                return k;
                }
                return 0;
        case SANDBOX_FCNTL_ADD_SEALS:
        case SANDBOX_IOCTL_TCGETS:
        case SANDBOX_IOCTL_TIOCSTI:
        case SANDBOX_IOCTL_TIOCLINUX:
        case SANDBOX_IOCTL_USERFAULTFD_NEW:
                return seccomp_rule_add(ctx, action, nr, 1,
                                        SCMP_A1(SCMP_CMP_MASKED_EQ, low32, cmd_of[r->when]));
        case SANDBOX_CLONE_THREAD:
                /* The kernel reads the low 32 bits of clone()'s flags. */
                return seccomp_rule_add(
                        ctx, action, nr, 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_NEW_ANY, CLONE_THREAD));
        case SANDBOX_CLONE_NEW:
                for (size_t i = 0; i < ELEMENTSOF(clone_new); i++) {
                        k = seccomp_rule_add(
                                ctx, action, nr, 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, clone_new[i], clone_new[i]));
                        if (k < 0)
                                return k;
                }
                return 0;
        case SANDBOX_SELF:
                if (self <= 0)
                        return 0; /* nobody to allow */
                /* The full 64 bits: high garbage makes the call fail, never reach another. */
                return seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t) self));
        case SANDBOX_PRLIMIT_READ:
                return seccomp_rule_add(ctx, action, nr, 2, SCMP_A0(SCMP_CMP_EQ, 0),
                                        SCMP_A2(SCMP_CMP_EQ, 0));
        case SANDBOX_EMPTY_PATH:
                return seccomp_rule_add(ctx, action, nr, 1,
                                        SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
        case SANDBOX_OTHER_PID:
                /* All 64 bits: 0 with garbage above is denied too, which is safe. */
                return seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_NE, 0));
        case SANDBOX_NOT_AF_UNIX:
                /* All 64 bits: AF_UNIX with garbage above is denied too, which is safe. */
                return seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
        case SANDBOX_SOCK_DGRAM:
                /* The type's low 4 bits; SOCK_CLOEXEC and SOCK_NONBLOCK above them. */
                return seccomp_rule_add(ctx, action, nr, 1,
                                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
        case SANDBOX_PERSONALITY_SET:
                /*
                 * libseccomp 2.5 takes one comparison per argument and rule, so
                 * "neither 0 nor 0xffffffff" is spelled as a union: a 32-bit
                 * value is neither all zeros nor all ones exactly when, going
                 * round its bits, some set bit is followed by a clear one.
                 */
                for (unsigned i = 0; i < 32; i++) {
                        uint64_t bit = UINT64_C(1) << i, next = UINT64_C(1) << ((i + 1) % 32);

                        k = seccomp_rule_add(ctx, action, nr, 1,
                                             SCMP_A0(SCMP_CMP_MASKED_EQ, bit | next, bit));
                        if (k < 0)
                                return k;
                }
                return 0;
        default:
                return -EINVAL;
        }
}

static uint32_t action_to_seccomp(sandbox_action a, uint32_t flags) {
        switch (a) {
        case SANDBOX_ALLOW:
                return SCMP_ACT_ALLOW;
        case SANDBOX_ENOSYS:
                return SCMP_ACT_ERRNO(ENOSYS);
        default:
                return (flags & SANDBOX_KILL) ? SCMP_ACT_KILL_PROCESS
                                              : SCMP_ACT_ERRNO(LMM_SANDBOX_ERRNO);
        }
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

/* The classic BPF of @ctx, read back from a memfd that libseccomp 2.5 writes it to. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ struct sock_filter *filter = NULL;
        struct stat st;
        size_t size, done = 0;
        int r;

        fd = memfd_create("lmm-sandbox-bpf", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
        if (fd < 0 && errno == EINVAL) /* kernel < 6.3 */
                fd = memfd_create("lmm-sandbox-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        size = (size_t) st.st_size;
        if (size == 0 || size % sizeof(struct sock_filter) != 0)
                return -EIO;
        if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -E2BIG; /* the kernel would refuse it */
        filter = malloc(size);
        if (!filter)
                return -ENOMEM;
        while (done < size) {
                ssize_t n = pread(fd, (char *) filter + done, size - done, (off_t) done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                done += (size_t) n;
        }

        ret->len = (unsigned short) (size / sizeof(struct sock_filter));
        ret->filter = TAKE_PTR(filter);
        return 0;
}

int sandbox_build_for(sandbox_profile p, uint32_t flags, pid_t self, struct sock_fprog *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        const sandbox_rule *rules;
        sandbox_action def;
        size_t n;
        int r;

        if (p < 0 || p >= _SANDBOX_PROFILE_MAX || (flags & ~SANDBOX_KILL) || self < 0 || !ret)
                return -EINVAL;

        def = sandbox_default_action(p);
        ctx = seccomp_init(action_to_seccomp(def, flags));
        if (!ctx)
                return -ENOMEM;
        /* A foreign ABI (i386, and x32's bit on x86-64) dies, never reaching a rule. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        /* A binary tree over the call numbers: tens of comparisons become a few. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                return r;

        rules = sandbox_rules(p, &n);
        for (size_t i = 0; i < n; i++) {
                if (rules[i].action == def)
                        continue; /* the default does it; the row is there for its reason */
                r = add_rule(ctx, &rules[i], action_to_seccomp(rules[i].action, flags), self);
                if (r < 0)
                        return r;
        }

        return export_program(ctx, ret);
}

int sandbox_build(sandbox_profile p, uint32_t flags, struct sock_fprog *ret) {
        return sandbox_build_for(p, flags, 0, ret);
}

void sandbox_program_done(struct sock_fprog *p) {
        if (!p)
                return;
        free(p->filter);
        p->filter = NULL;
        p->len = 0;
}

int sandbox_apply(const struct sock_fprog *prog, bool tsync) {
        long r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0,
                    prog);
        if (r < 0)
                return -errno;
        if (r > 0)
                return -EBUSY; /* TSYNC: thread r has a filter of its own and cannot be synced */
        return 0;
}

_public_ int lmm_sandbox_enter(const char *profile, uint32_t flags) {
        _cleanup_(sandbox_program_done) struct sock_fprog prog = {};
        sandbox_profile p;
        int r;

        p = sandbox_profile_from_string(profile);
        if (p < 0 || (flags & ~LMM_SANDBOX_KILL))
                return -EINVAL;

        r = sandbox_build_for(p, (flags & LMM_SANDBOX_KILL) ? SANDBOX_KILL : 0, getpid(), &prog);
        if (r < 0)
                return r;

        if (p == SANDBOX_PROFILE_COMPUTE) {
                /* With READ_IMPLIES_EXEC every readable mapping is executable
                 * too, and compute's rule against PROT_EXEC would mean nothing. */
                int persona = personality(0xffffffff);

                if (persona < 0)
                        return -errno;
                if ((persona & READ_IMPLIES_EXEC) &&
                    personality((unsigned long) persona & ~READ_IMPLIES_EXEC) < 0)
                        return -errno;
        }

        return sandbox_apply(&prog, true);
}
