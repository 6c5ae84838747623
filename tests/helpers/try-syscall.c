/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * try-syscall — try system calls, optionally inside one of lmm's sandbox
 * profiles, and say what each one answered (after bubblewrap's helper of
 * the same name). The tests of the profiles and of the launcher run it.
 *
 *   try-syscall [--enter PROFILE] [--kill] CALL[=ARG]...
 *
 * --enter PROFILE  confine the process with lmm_sandbox_enter(PROFILE) first
 *                  ("compute", "launch"); with --kill, LMM_SANDBOX_KILL
 *
 * Output, on stdout, one line per CALL, in order:
 *   CALL ok
 *   CALL errno=NAME        NAME as strerrorname_np() spells it (ENOSTR, EPERM)
 * A call the filter kills the process for prints nothing: the process dies
 * by SIGSYS, and the lines before it are already written (each line is one
 * write()). Exit status 0 once every call ran, whatever it answered; 1 when
 * --enter failed (after a line "enter errno=NAME"); 2 for a usage error.
 *
 * Everything a call needs (a memfd, /dev/null, a pidfd of the parent, this
 * program's path, a child to trace) is made before the profile is entered,
 * so that a line reports the call itself; the core limit is set to 0 first,
 * so that the deaths it is made for leave no core files. Calls act on this process and
 * affect the ones after them (unshare-user, personality). The calls, with
 * what "ok" means:
 *   getpid, gettid, sched_yield, sched_getaffinity, getrandom,
 *   clock_gettime (the system call, not the vDSO), nanosleep (1 ms)
 *   pipe               pipe2(), a byte through it
 *   eventfd, epoll, poll   an eventfd written, then waited for
 *   fstat              fstat() of the memfd (glibc: newfstatat, AT_EMPTY_PATH)
 *   stat[=PATH]        stat() of a path ("/")
 *   dup                dup() of the memfd
 *   fcntl-getfl, fcntl-dupfd-cloexec     on the memfd
 *   fcntl-get-seals[=FD], fcntl-add-seals[=FD]   F_GET_SEALS; F_ADD_SEALS of
 *                      F_SEAL_SEAL, on FD (an fd this program inherited) or
 *                      the memfd; fcntl-add-seals-hi the same with bit 32 of
 *                      cmd set, which the kernel ignores
 *   mmap-rw[=FD], mmap-exec[=FD]   a shared mapping of FD's first page (read-
 *                      write; read-execute), or an anonymous private page
 *   mprotect-exec      an anonymous page made read-execute
 *   mremap, madvise    an anonymous page grown; given back (MADV_DONTNEED)
 *   thread             pthread_create() and pthread_join()
 *   raise              raise(SIGUSR1), caught
 *   kill-parent        kill(getppid(), 0)
 *   getrlimit, setrlimit   RLIMIT_NOFILE read; RLIMIT_CORE set to what it is
 *   prlimit-parent     the parent's RLIMIT_NOFILE read (prlimit(getppid()))
 *   isatty[=FD]        tcgetattr() of FD (1); on a pipe that is errno=ENOTTY
 *   open[=PATH], openat[=PATH], openat2[=PATH]   PATH (/dev/null) read-only
 *   socket-inet, socket-unix, socketpair-unix, socketpair-inet (streams),
 *   socketpair-dgram   AF_UNIX, SOCK_DGRAM
 *   fchmod, fsetxattr, ioctl-userfaultfd-new   on fd -1: errno=EBADF where
 *                      the call is allowed
 *   execve             this program again, which prints "execve ok" and goes
 *                      on with the calls after it (the filter stays)
 *   fork               fork(), the child exits at once
 *   clone-newns, clone-newuser   clone() with CLONE_NEWNS, CLONE_NEWUSER
 *   clone3             clone3() of a child that exits at once
 *   unshare-user, unshare-ns   unshare(CLONE_NEWUSER), unshare(CLONE_NEWNS)
 *   setns              setns() into its own mount namespace (needs /proc)
 *   ptrace             PTRACE_SEIZE of a child made for it, then detach
 *   memfd_create, process_vm_readv (its own memory), pidfd_open (itself),
 *   pidfd_getfd[=FD]   fd FD (0) of the parent
 *   kcmp               KCMP_VM of itself and its parent
 *   io_uring_setup, bpf (an array map), perf_event_open (task clock, user
 *   only), userfaultfd (user mode only), keyctl (the user keyring's id),
 *   fsopen ("tmpfs"), name_to_handle_at ("/")
 *   mount[=DIR]        a tmpfs on DIR, unmounted again; by default a path
 *                      that does not exist, so that unconfined it mounts
 *                      nothing (ENOENT)
 *   umount[=PATH]      umount2(PATH, 0); by default a path that does not exist
 *   personality        ADDR_NO_RANDOMIZE set, then the old persona back;
 *                      personality-query: personality(0xffffffff)
 *   tiocsti[=FD], tiocsti-hi[=FD]   TIOCSTI of a NUL on FD (/dev/null:
 *                      ENOTTY unconfined), the latter with bit 32 of cmd set
 *   i386-socket        socket() through int 0x80 (x86-64 only)
 *   x32-socket         socket() by its x32 number (x86-64 only; ENOSYS on a
 *                      kernel without x32)
 * The process reaps every child it makes, also under compute, where it may
 * not wait: the ptrace child is released by ignoring SIGCHLD. A run that a
 * filter kills leaves that child to whoever reaps orphans: do not ask for
 * ptrace together with --kill.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include "lmm.h"

#define PAGE 4096
#define NOWHERE "/nonexistent/try-syscall"

#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#ifndef KEY_SPEC_USER_KEYRING
#define KEY_SPEC_USER_KEYRING -4
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

extern char **environ;

/* What the calls use, made before the profile is entered. */
static struct {
        int memfd;
        int devnull;
        int parent_pidfd;
        int mntns;
        char self[4096];
        int self_fd;    /* the binary itself, for execve */
        int child_pipe; /* closing it ends the ptrace child */
        pid_t child;
        int child_pidfd;
        char **argv; /* for execve: the calls after it */
        int argc;
        int next;
} prep = { -1, -1, -1, -1, "", -1, -1, 0, -1, NULL, 0, 0 };

static volatile sig_atomic_t got_usr1;

static int fd_arg(const char *arg, int fallback) {
        return arg ? atoi(arg) : fallback;
}

static int err(void) {
        return errno > 0 ? errno : EIO;
}

/* Each returns 0 or a positive errno. */

static int t_getpid(const char *arg) {
        return syscall(SYS_getpid) > 0 ? 0 : err();
}

static int t_gettid(const char *arg) {
        return syscall(SYS_gettid) > 0 ? 0 : err();
}

static int t_sched_yield(const char *arg) {
        return sched_yield() == 0 ? 0 : err();
}

static int t_sched_getaffinity(const char *arg) {
        cpu_set_t set;

        return sched_getaffinity(0, sizeof(set), &set) == 0 ? 0 : err();
}

static int t_getrandom(const char *arg) {
        char buf[16];

        return getrandom(buf, sizeof(buf), 0) == (ssize_t) sizeof(buf) ? 0 : err();
}

static int t_clock_gettime(const char *arg) {
        struct timespec ts;

        return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0 ? 0 : err();
}

static int t_nanosleep(const char *arg) {
        struct timespec ts = { 0, 1000 * 1000 };

        return syscall(SYS_nanosleep, &ts, NULL) == 0 ? 0 : err();
}

static int t_pipe(const char *arg) {
        int p[2], r = 0;
        char c = 'x';

        if (pipe2(p, O_CLOEXEC) < 0)
                return err();
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
                r = err();
        close(p[0]);
        close(p[1]);
        return r;
}

static int t_eventfd(const char *arg) {
        uint64_t v = 1;
        int fd, r = 0;

        fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0)
                return err();
        if (write(fd, &v, sizeof(v)) != sizeof(v) || read(fd, &v, sizeof(v)) != sizeof(v))
                r = err();
        close(fd);
        return r;
}

static int t_epoll(const char *arg) {
        struct epoll_event ev = { .events = EPOLLIN };
        uint64_t v = 1;
        int ep, fd, r = 0;

        fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0)
                return err();
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) {
                r = err();
                close(fd);
                return r;
        }
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 || write(fd, &v, sizeof(v)) != sizeof(v) ||
            epoll_wait(ep, &ev, 1, 1000) != 1)
                r = err();
        close(ep);
        close(fd);
        return r;
}

static int t_poll(const char *arg) {
        uint64_t v = 1;
        struct pollfd p;
        int fd, r = 0;

        fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0)
                return err();
        p = (struct pollfd){ .fd = fd, .events = POLLIN };
        if (write(fd, &v, sizeof(v)) != sizeof(v) || poll(&p, 1, 1000) != 1)
                r = err();
        close(fd);
        return r;
}

static int t_fstat(const char *arg) {
        struct stat st;

        return fstat(prep.memfd, &st) == 0 ? 0 : err();
}

static int t_stat(const char *arg) {
        struct stat st;

        return stat(arg ? arg : "/", &st) == 0 ? 0 : err();
}

static int t_dup(const char *arg) {
        int fd = dup(prep.memfd);

        if (fd < 0)
                return err();
        close(fd);
        return 0;
}

static int t_fcntl_getfl(const char *arg) {
        return fcntl(prep.memfd, F_GETFL) >= 0 ? 0 : err();
}

static int t_fcntl_dupfd_cloexec(const char *arg) {
        int fd = fcntl(prep.memfd, F_DUPFD_CLOEXEC, 3);

        if (fd < 0)
                return err();
        close(fd);
        return 0;
}

static int t_fcntl_get_seals(const char *arg) {
        return fcntl(fd_arg(arg, prep.memfd), F_GET_SEALS) >= 0 ? 0 : err();
}

static int t_fcntl_add_seals(const char *arg) {
        return fcntl(fd_arg(arg, prep.memfd), F_ADD_SEALS, F_SEAL_SEAL) == 0 ? 0 : err();
}

static int t_fcntl_add_seals_hi(const char *arg) {
        /* The kernel reads cmd as an unsigned int: bit 32 is dropped. */
        unsigned long cmd = (1UL << 32) | F_ADD_SEALS;

        return syscall(SYS_fcntl, fd_arg(arg, prep.memfd), cmd, F_SEAL_SEAL) == 0 ? 0 : err();
}

static int map_page(const char *arg, int prot) {
        volatile char *p;

        if (arg)
                p = mmap(NULL, PAGE, prot, MAP_SHARED, atoi(arg), 0);
        else
                p = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return err();
        if (prot & PROT_WRITE)
                p[0] = p[0];
        munmap((void *) p, PAGE);
        return 0;
}

static int t_mmap_rw(const char *arg) {
        return map_page(arg, PROT_READ | PROT_WRITE);
}

static int t_mmap_exec(const char *arg) {
        return map_page(arg, PROT_READ | PROT_EXEC);
}

static int t_mprotect_exec(const char *arg) {
        void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int r = 0;

        if (p == MAP_FAILED)
                return err();
        if (mprotect(p, PAGE, PROT_READ | PROT_EXEC) < 0)
                r = err();
        munmap(p, PAGE);
        return r;
}

static int t_mremap(const char *arg) {
        void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;

        if (p == MAP_FAILED)
                return err();
        q = mremap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) {
                int r = err();

                munmap(p, PAGE);
                return r;
        }
        munmap(q, 2 * PAGE);
        return 0;
}

static int t_madvise(const char *arg) {
        char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int r = 0;

        if (p == MAP_FAILED)
                return err();
        p[0] = 1;
        if (madvise(p, PAGE, MADV_DONTNEED) < 0)
                r = err();
        munmap(p, PAGE);
        return r;
}

static void *thread_main(void *arg) {
        return arg;
}

static int t_thread(const char *arg) {
        static int token;
        pthread_t t;
        void *ret = NULL;
        int r;

        r = pthread_create(&t, NULL, thread_main, &token);
        if (r != 0)
                return r;
        r = pthread_join(t, &ret);
        if (r != 0)
                return r;
        return ret == &token ? 0 : EIO;
}

static void on_usr1(int sig) {
        got_usr1 = 1;
}

static int t_raise(const char *arg) {
        struct sigaction sa = { .sa_handler = on_usr1 };

        got_usr1 = 0;
        if (sigaction(SIGUSR1, &sa, NULL) < 0)
                return err();
        if (raise(SIGUSR1) != 0)
                return err();
        return got_usr1 ? 0 : EIO;
}

static int t_kill_parent(const char *arg) {
        return kill(getppid(), 0) == 0 ? 0 : err();
}

static int t_getrlimit(const char *arg) {
        struct rlimit rl;

        return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : err();
}

static int t_setrlimit(const char *arg) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_CORE, &rl) < 0)
                return err();
        return setrlimit(RLIMIT_CORE, &rl) == 0 ? 0 : err();
}

static int t_prlimit_parent(const char *arg) {
        struct rlimit rl;

        return prlimit(getppid(), RLIMIT_NOFILE, NULL, &rl) == 0 ? 0 : err();
}

static int t_isatty(const char *arg) {
        struct termios t;

        return tcgetattr(fd_arg(arg, 1), &t) == 0 ? 0 : err();
}

static int close_ok(int fd) {
        if (fd < 0)
                return err();
        close(fd);
        return 0;
}

static int t_open(const char *arg) {
        return close_ok(syscall(SYS_open, arg ? arg : "/dev/null", O_RDONLY | O_CLOEXEC));
}

static int t_openat(const char *arg) {
        return close_ok(
                syscall(SYS_openat, AT_FDCWD, arg ? arg : "/dev/null", O_RDONLY | O_CLOEXEC));
}

static int t_openat2(const char *arg) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };

        return close_ok(syscall(SYS_openat2, AT_FDCWD, arg ? arg : "/dev/null", &how, sizeof(how)));
}

static int t_socket_inet(const char *arg) {
        return close_ok(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

static int t_socket_unix(const char *arg) {
        return close_ok(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

static int pair(int domain, int type) {
        int sv[2];

        if (socketpair(domain, type | SOCK_CLOEXEC, 0, sv) < 0)
                return err();
        close(sv[0]);
        close(sv[1]);
        return 0;
}

static int t_socketpair_unix(const char *arg) {
        return pair(AF_UNIX, SOCK_STREAM);
}

static int t_socketpair_inet(const char *arg) {
        return pair(AF_INET, SOCK_STREAM);
}

static int t_socketpair_dgram(const char *arg) {
        return pair(AF_UNIX, SOCK_DGRAM);
}

/* On fd -1: EBADF where the call is allowed, the sandbox's errno where not. */
static int t_fchmod(const char *arg) {
        return fchmod(-1, 0600) == 0 ? 0 : err();
}

static int t_fsetxattr(const char *arg) {
        return fsetxattr(-1, "user.lmm", "x", 1, 0) == 0 ? 0 : err();
}

static int t_ioctl_userfaultfd_new(const char *arg) {
        return ioctl(-1, USERFAULTFD_IOC_NEW, 0) == 0 ? 0 : err();
}

static int t_execve(const char *arg) {
        char **argv, path[32];
        const char *exe = prep.self;
        int n = 0;

        if (!prep.self[0])
                return ENOENT;
        /*
         * Through the binary opened at the start, not its path: a setns() before
         * this call sets the root to the mount namespace's, out of a chroot, and
         * the path read in it names nothing there.
         */
        if (prep.self_fd >= 0) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", prep.self_fd);
                exe = path;
        }
        argv = calloc((size_t) (prep.argc - prep.next) + 3, sizeof(char *));
        if (!argv)
                return ENOMEM;
        argv[n++] = prep.self;
        argv[n++] = (char *) "--after-exec";
        for (int i = prep.next; i < prep.argc; i++)
                argv[n++] = prep.argv[i];
        argv[n] = NULL;
        syscall(SYS_execve, exe, argv, environ);
        free(argv);
        return err();
}

/* Reap @pid, a child that exits at once. */
static int reaped(pid_t pid) {
        int status;

        if (pid < 0)
                return err();
        if (waitpid(pid, &status, 0) < 0)
                return err();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EIO;
}

static int t_fork(const char *arg) {
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        return reaped(pid);
}

static int clone_flags(unsigned long flags) {
        /* No stack: the child runs on a copy of this one, as after fork(). */
        long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

        if (pid == 0)
                syscall(SYS_exit_group, 0);
        return reaped((pid_t) pid);
}

static int t_clone_newns(const char *arg) {
        return clone_flags(CLONE_NEWNS);
}

static int t_clone_newuser(const char *arg) {
        return clone_flags(CLONE_NEWUSER);
}

static int t_clone3(const char *arg) {
        struct clone_args ca = { .exit_signal = SIGCHLD };
        long pid = syscall(SYS_clone3, &ca, sizeof(ca));

        if (pid == 0)
                syscall(SYS_exit_group, 0);
        return reaped((pid_t) pid);
}

static int t_unshare_user(const char *arg) {
        return unshare(CLONE_NEWUSER) == 0 ? 0 : err();
}

static int t_unshare_ns(const char *arg) {
        return unshare(CLONE_NEWNS) == 0 ? 0 : err();
}

static int t_setns(const char *arg) {
        return setns(prep.mntns, CLONE_NEWNS) == 0 ? 0 : err();
}

static int t_ptrace(const char *arg) {
        int status;

        if (prep.child <= 0)
                return ESRCH;
        if (ptrace(PTRACE_SEIZE, prep.child, NULL, NULL) < 0)
                return err();
        /* Attached: stop it and let it go again, so that it is nobody's tracee. */
        if (ptrace(PTRACE_INTERRUPT, prep.child, NULL, NULL) < 0 ||
            waitpid(prep.child, &status, __WALL) < 0 ||
            ptrace(PTRACE_DETACH, prep.child, NULL, NULL) < 0)
                return err();
        return 0;
}

static int t_memfd_create(const char *arg) {
        return close_ok(memfd_create("try-syscall", MFD_CLOEXEC));
}

static int t_process_vm_readv(const char *arg) {
        static char there = 'x';
        char here;
        struct iovec local = { &here, 1 }, remote = { &there, 1 };

        return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 ? 0 : err();
}

static int t_pidfd_open(const char *arg) {
        return close_ok((int) syscall(SYS_pidfd_open, getpid(), 0));
}

static int t_pidfd_getfd(const char *arg) {
        return close_ok((int) syscall(SYS_pidfd_getfd, prep.parent_pidfd, fd_arg(arg, 0), 0));
}

static int t_kcmp(const char *arg) {
        return syscall(SYS_kcmp, getpid(), getppid(), KCMP_VM, 0, 0) >= 0 ? 0 : err();
}

static int t_io_uring_setup(const char *arg) {
        struct io_uring_params p = {};

        return close_ok((int) syscall(SYS_io_uring_setup, 1, &p));
}

static int t_bpf(const char *arg) {
        union bpf_attr a = {
                .map_type = BPF_MAP_TYPE_ARRAY,
                .key_size = 4,
                .value_size = 4,
                .max_entries = 1,
        };

        return close_ok((int) syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)));
}

static int t_perf_event_open(const char *arg) {
        struct perf_event_attr a = {
                .type = PERF_TYPE_SOFTWARE,
                .size = sizeof(a),
                .config = PERF_COUNT_SW_TASK_CLOCK,
                .exclude_kernel = 1,
                .exclude_hv = 1,
        };

        return close_ok((int) syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

static int t_userfaultfd(const char *arg) {
        return close_ok((int) syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
}

static int t_keyctl(const char *arg) {
        return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) >= 0 ? 0
                                                                                         : err();
}

static int t_fsopen(const char *arg) {
        return close_ok((int) syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
}

static int t_name_to_handle_at(const char *arg) {
        struct {
                struct file_handle h;
                unsigned char bytes[MAX_HANDLE_SZ];
        } fh = { .h.handle_bytes = MAX_HANDLE_SZ };
        int mount_id;

        return name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0) == 0 ? 0 : err();
}

static int t_mount(const char *arg) {
        const char *dir = arg ? arg : NOWHERE;

        if (mount("try-syscall", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") < 0)
                return err();
        (void) umount2(dir, MNT_DETACH);
        return 0;
}

static int t_umount(const char *arg) {
        return umount2(arg ? arg : NOWHERE, 0) == 0 ? 0 : err();
}

static int t_personality(const char *arg) {
        int old = personality(0xffffffff);

        if (old < 0)
                return err();
        if (personality((unsigned long) old | ADDR_NO_RANDOMIZE) < 0)
                return err();
        (void) personality((unsigned long) old);
        return 0;
}

static int t_personality_query(const char *arg) {
        return personality(0xffffffff) >= 0 ? 0 : err();
}

static int t_tiocsti(const char *arg) {
        char c = 0;

        return ioctl(fd_arg(arg, prep.devnull), TIOCSTI, &c) == 0 ? 0 : err();
}

static int t_tiocsti_hi(const char *arg) {
        unsigned long cmd = (1UL << 32) | TIOCSTI;
        char c = 0;

        return syscall(SYS_ioctl, fd_arg(arg, prep.devnull), cmd, &c) == 0 ? 0 : err();
}

static int t_i386_socket(const char *arg) {
#if defined(__x86_64__)
        /* i386's socket() is 359; the compat entry takes 32-bit registers. */
        long r = 359;

        __asm__ volatile("int $0x80"
                         : "+a"(r)
                         : "b"(AF_INET), "c"(SOCK_STREAM), "d"(0)
                         : "r8", "r9", "r10", "r11", "memory", "cc");
        if (r < 0)
                return (int) -r;
        close((int) r);
        return 0;
#else
        return ENOSYS;
#endif
}

static int t_x32_socket(const char *arg) {
#if defined(__x86_64__)
        /* x32 numbers are x86-64's with bit 30 set (__X32_SYSCALL_BIT). */
        return close_ok((int) syscall(0x40000000L | SYS_socket, AF_INET, SOCK_STREAM, 0));
#else
        return ENOSYS;
#endif
}

typedef struct call {
        const char *name;
        int (*run)(const char *arg);
} call;

static const call calls[] = {
        { "getpid", t_getpid },
        { "gettid", t_gettid },
        { "sched_yield", t_sched_yield },
        { "sched_getaffinity", t_sched_getaffinity },
        { "getrandom", t_getrandom },
        { "clock_gettime", t_clock_gettime },
        { "nanosleep", t_nanosleep },
        { "pipe", t_pipe },
        { "eventfd", t_eventfd },
        { "epoll", t_epoll },
        { "poll", t_poll },
        { "fstat", t_fstat },
        { "stat", t_stat },
        { "dup", t_dup },
        { "fcntl-getfl", t_fcntl_getfl },
        { "fcntl-dupfd-cloexec", t_fcntl_dupfd_cloexec },
        { "fcntl-get-seals", t_fcntl_get_seals },
        { "fcntl-add-seals", t_fcntl_add_seals },
        { "fcntl-add-seals-hi", t_fcntl_add_seals_hi },
        { "mmap-rw", t_mmap_rw },
        { "mmap-exec", t_mmap_exec },
        { "mprotect-exec", t_mprotect_exec },
        { "mremap", t_mremap },
        { "madvise", t_madvise },
        { "thread", t_thread },
        { "raise", t_raise },
        { "kill-parent", t_kill_parent },
        { "getrlimit", t_getrlimit },
        { "setrlimit", t_setrlimit },
        { "prlimit-parent", t_prlimit_parent },
        { "isatty", t_isatty },
        { "open", t_open },
        { "openat", t_openat },
        { "openat2", t_openat2 },
        { "socket-inet", t_socket_inet },
        { "socket-unix", t_socket_unix },
        { "socketpair-unix", t_socketpair_unix },
        { "socketpair-inet", t_socketpair_inet },
        { "socketpair-dgram", t_socketpair_dgram },
        { "fchmod", t_fchmod },
        { "fsetxattr", t_fsetxattr },
        { "ioctl-userfaultfd-new", t_ioctl_userfaultfd_new },
        { "execve", t_execve },
        { "fork", t_fork },
        { "clone-newns", t_clone_newns },
        { "clone-newuser", t_clone_newuser },
        { "clone3", t_clone3 },
        { "unshare-user", t_unshare_user },
        { "unshare-ns", t_unshare_ns },
        { "setns", t_setns },
        { "ptrace", t_ptrace },
        { "memfd_create", t_memfd_create },
        { "process_vm_readv", t_process_vm_readv },
        { "pidfd_open", t_pidfd_open },
        { "pidfd_getfd", t_pidfd_getfd },
        { "kcmp", t_kcmp },
        { "io_uring_setup", t_io_uring_setup },
        { "bpf", t_bpf },
        { "perf_event_open", t_perf_event_open },
        { "userfaultfd", t_userfaultfd },
        { "keyctl", t_keyctl },
        { "fsopen", t_fsopen },
        { "name_to_handle_at", t_name_to_handle_at },
        { "mount", t_mount },
        { "umount", t_umount },
        { "personality", t_personality },
        { "personality-query", t_personality_query },
        { "tiocsti", t_tiocsti },
        { "tiocsti-hi", t_tiocsti_hi },
        { "i386-socket", t_i386_socket },
        { "x32-socket", t_x32_socket },
};

static const call *find_call(const char *spec) {
        size_t len = strcspn(spec, "=");

        for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
                if (strlen(calls[i].name) == len && strncmp(calls[i].name, spec, len) == 0)
                        return &calls[i];
        return NULL;
}

/* One line, one write(): a SIGSYS after it cannot lose it in a buffer. */
static void say(const char *name, size_t len, int e) {
        char line[256];
        const char *en = e ? strerrorname_np(e) : NULL;
        int n;

        if (e == 0)
                n = snprintf(line, sizeof(line), "%.*s ok\n", (int) len, name);
        else if (en)
                n = snprintf(line, sizeof(line), "%.*s errno=%s\n", (int) len, name, en);
        else
                n = snprintf(line, sizeof(line), "%.*s errno=%d\n", (int) len, name, e);
        if (n > 0)
                (void) !write(STDOUT_FILENO, line,
                              (size_t) (n < (int) sizeof(line) ? n : (int) sizeof(line) - 1));
}

static void prepare(int argc, char **argv, int first) {
        bool want_child = false;
        ssize_t n;

        /* The deaths it is made for (SIGSYS, SIGSEGV) leave no core files behind. */
        (void) setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
        prep.memfd = memfd_create("try-syscall", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (prep.memfd >= 0 && ftruncate(prep.memfd, PAGE) < 0)
                perror("try-syscall: ftruncate");
        prep.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        prep.parent_pidfd = (int) syscall(SYS_pidfd_open, getppid(), 0);
        prep.mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        prep.self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        n = readlink("/proc/self/exe", prep.self, sizeof(prep.self) - 1);
        if (n > 0)
                prep.self[n] = 0;
        else if (strchr(argv[0], '/') && strlen(argv[0]) < sizeof(prep.self))
                strcpy(prep.self, argv[0]);

        for (int i = first; i < argc; i++)
                if (strcmp(argv[i], "ptrace") == 0)
                        want_child = true;
        if (want_child) {
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0)
                        return;
                prep.child = fork();
                if (prep.child == 0) {
                        char c;

                        close(p[1]);
                        while (read(p[0], &c, 1) < 0 && errno == EINTR)
                                ;
                        _exit(0);
                }
                close(p[0]);
                prep.child_pipe = p[1];
                prep.child_pidfd = (int) syscall(SYS_pidfd_open, prep.child, 0);
        }
}

/* End the ptrace child and see it gone, without wait(), which compute denies. */
static void release_child(void) {
        struct sigaction sa = { .sa_handler = SIG_IGN };
        struct pollfd p;

        if (prep.child <= 0)
                return;
        /* Ignored SIGCHLD: a child that exits from now on is reaped by the kernel. */
        (void) sigaction(SIGCHLD, &sa, NULL);
        close(prep.child_pipe);
        if (waitpid(prep.child, NULL, 0) >= 0 || prep.child_pidfd < 0)
                return;
        p = (struct pollfd){ .fd = prep.child_pidfd, .events = POLLIN };
        (void) poll(&p, 1, 10 * 1000);
}

int main(int argc, char **argv) {
        const char *profile = NULL;
        bool kill_flag = false, after_exec = false;
        int i = 1, r;

        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--enter") == 0 && i + 1 < argc)
                        profile = argv[++i];
                else if (strcmp(argv[i], "--kill") == 0)
                        kill_flag = true;
                else if (strcmp(argv[i], "--after-exec") == 0)
                        after_exec = true;
                else {
                        fprintf(stderr, "try-syscall: unknown option %s\n", argv[i]);
                        return 2;
                }
        }
        for (int j = i; j < argc; j++)
                if (!find_call(argv[j])) {
                        fprintf(stderr, "try-syscall: unknown call %s\n", argv[j]);
                        return 2;
                }

        prepare(argc, argv, i);
        prep.argv = argv;
        prep.argc = argc;

        if (after_exec)
                say("execve", strlen("execve"), 0);
        if (profile) {
                r = lmm_sandbox_enter(profile, kill_flag ? LMM_SANDBOX_KILL : 0);
                if (r < 0) {
                        say("enter", strlen("enter"), -r);
                        return 1;
                }
        }

        for (; i < argc; i++) {
                const call *c = find_call(argv[i]);
                const char *eq = strchr(argv[i], '=');

                prep.next = i + 1;
                say(argv[i], strcspn(argv[i], "="), c->run(eq ? eq + 1 : NULL));
        }

        release_child();
        /*
         * LeakSanitizer's check at exit stops the threads with ptrace() from a
         * clone() that every profile refuses: a confined run ends here.
         * PR_GET_SECCOMP answers 2 under a filter, or fails where compute
         * denies prctl().
         */
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
                _exit(0);
        return 0;
}
