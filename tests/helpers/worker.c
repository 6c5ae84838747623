/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * worker — a worker for the launch tests: it runs the commands on its
 * command line in order and prints one line per outcome on stdout, unbuffered,
 * so that a test sees what a launched program sees from the inside.
 *
 *   names               LISTEN_* as sd_listen_fds_with_names() reads them
 *   env VAR             the value of VAR, or "unset"
 *   read NAME           the block's text (up to its first NUL) and its mapping
 *   write NAME TEXT     write TEXT at the start of the block
 *   find NAME           lmm_segment_from_listen_fds()'s result, as an errno name
 *   attack NAME [PID FD ADDR]
 *                       every route to writing the block that a process of
 *                       its owner's uid could take, each "ROUTE: WROTE" or
 *                       "ROUTE: blocked ERRNO"; with the launcher's pid, the
 *                       fd it holds the block on and the address it maps it
 *                       at (hex), the routes through the launcher as well
 *   fds                 the open fds, found without /proc
 *   ids                 uid, gid, pid, ppid
 *   proc                whether /proc/self/status can be opened
 *   stat PATH           "PATH: exists", or why not
 *   sleep MS, exit CODE, signal SIG, wait-stdin (until EOF)
 *
 * Exit: 0 after the last command; 2 for a command it does not know. Where
 * /proc is hidden, or under a seccomp filter, it ends with _exit():
 * LeakSanitizer, when built in, needs /proc and ptrace() at exit, and the
 * launch profile forbids ptrace().
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "lmm.h"

static void say(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vdprintf(STDOUT_FILENO, fmt, ap);
        va_end(ap);
        dprintf(STDOUT_FILENO, "\n");
}

static const char *ename(int e) {
        const char *n = strerrorname_np(e);
        return n ?: "E?";
}

static void cmd_names(void) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(0, &names);

        if (n < 0) {
                say("names: %s", ename(-n));
                return;
        }
        say("names: %d", n);
        for (int i = 0; i < n; i++) {
                say("fd %d %s", SD_LISTEN_FDS_START + i, names[i]);
                free(names[i]);
        }
        free(names);
}

static lmm_segment *find(const char *name) {
        lmm_segment *s = NULL;
        int r = lmm_segment_from_listen_fds(name, &s);

        if (r < 0) {
                say("find %s: %s", name, ename(-r));
                return NULL;
        }
        return s;
}

static void cmd_read(const char *name) {
        lmm_segment *s = find(name);
        char *p;
        int r;

        if (!s)
                return;
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r < 0)
                say("read %s: map: %s", name, ename(-r));
        else
                say("read %s: %s %.*s", name, r ? "ro" : "rw", (int) lmm_segment_get_size(s), p);
        lmm_segment_unref(s);
}

static void cmd_write(const char *name, const char *text) {
        lmm_segment *s = find(name);
        char *p;
        int r;

        if (!s)
                return;
        r = lmm_segment_map(s, 0, (void **) &p);
        if (r < 0)
                say("write %s: map: %s", name, ename(-r));
        else if (r == 1)
                say("write %s: read-only", name);
        else {
                memcpy(p, text, strlen(text) + 1);
                say("write %s: done", name);
        }
        lmm_segment_unref(s);
}

/* ---- the attack: each route reports WROTE or why not */

static void outcome(const char *route, bool wrote, int err) {
        if (wrote)
                say("%s: WROTE", route);
        else
                say("%s: blocked %s", route, ename(err));
}

/* Write through a freshly opened @fd: a write() or else a shared writable mapping. */
static bool write_through(int fd, int *err) {
        void *p;

        if (pwrite(fd, "X", 1, 0) == 1)
                return true;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
                *(volatile char *) p = 'X';
                munmap(p, 4096);
                return true;
        }
        *err = errno;
        return false;
}

/* A route that opens the block to other users rather than writing it. */
static void opened(const char *route, bool ok, int err) {
        if (ok)
                say("%s: OPENED", route);
        else
                say("%s: blocked %s", route, ename(err));
}

/*
 * open_to_others() - the routes that let another user, handed the fd over
 * any socket, reopen the block read-write through its own /proc/self/fd:
 * the mode made 0666, an access ACL for uid 65534, and a datagram socket
 * that can send the fd to anyone listening. Each undoes what it did.
 */
static void open_to_others(int fd) {
        /* system.posix_acl_access, version 2: user:: rw, user:65534 rw,
         * group:: none, mask rw, other none. */
        static const uint32_t acl[] = { 2,          1 | 6 << 16,    UINT32_MAX, 2 | 6 << 16,
                                        65534,      4 | 0 << 16,    UINT32_MAX, 0x10 | 6 << 16,
                                        UINT32_MAX, 0x20 | 0 << 16, UINT32_MAX };
        int e, sv[2];

        e = fchmod(fd, 0666) < 0 ? errno : 0;
        if (!e)
                (void) fchmod(fd, 0600);
        opened("fchmod-open-to-all", !e, e);
        e = fsetxattr(fd, "system.posix_acl_access", acl, sizeof(acl), 0) < 0 ? errno : 0;
        if (!e)
                (void) fremovexattr(fd, "system.posix_acl_access");
        opened("acl-open-to-another-uid", !e, e);
        e = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0 ? errno : 0;
        if (!e) {
                close(sv[0]);
                close(sv[1]);
        }
        opened("datagram-socketpair", !e, e);
}

static void reopen(const char *route, const char *path) {
        int fd = open(path, O_RDWR | O_CLOEXEC), err = errno;
        bool wrote = false;

        if (fd >= 0) {
                wrote = write_through(fd, &err);
                close(fd);
        }
        outcome(route, wrote, err);
}

/* Run @fn in a child; its exit code is 0 when it wrote, else the errno. */
static void in_child(const char *route, int (*fn)(int fd), int fd) {
        int status;
        pid_t pid = fork();

        if (pid < 0) {
                outcome(route, false, errno);
                return;
        }
        if (pid == 0)
                _exit(fn(fd));
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
                outcome(route, false, EIO);
                return;
        }
        outcome(route, WEXITSTATUS(status) == 0, WEXITSTATUS(status));
}

static int write_map(const char *file, const char *text) {
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -1;
        n = write(fd, text, strlen(text));
        close(fd);
        return n < 0 ? -1 : 0;
}

/*
 * A user namespace of our own, where we hold every capability. It is mapped
 * as we are where /proc lets us write the maps; where the mask hides them it
 * stays unmapped, which takes none of those capabilities away.
 */
static int enter_userns(int flags) {
        char map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();

        if (unshare(CLONE_NEWUSER | flags) < 0)
                return -1;
        (void) write_map("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "%u %u 1", uid, uid);
        (void) write_map("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "%u %u 1", gid, gid);
        (void) write_map("/proc/self/gid_map", map);
        return 0;
}

static int reopen_in_child(int fd) {
        char path[64];
        int rw, err = 0;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        rw = open(path, O_RDWR | O_CLOEXEC);
        if (rw < 0)
                return errno;
        return write_through(rw, &err) ? 0 : err;
}

/* Nested namespaces: unmount the mask there, then reopen. */
static int nested_umount(int fd) {
        if (enter_userns(CLONE_NEWNS) < 0)
                return errno;
        if (umount2("/proc", MNT_DETACH) < 0)
                return errno;
        return reopen_in_child(fd);
}

/* Nested namespaces with a pid namespace: a fresh procfs over the mask, then reopen. */
static int fresh_proc(int fd) {
        pid_t pid;
        int status;

        if (enter_userns(CLONE_NEWNS | CLONE_NEWPID) < 0)
                return errno;
        pid = fork(); /* pid 1 of the new namespace */
        if (pid < 0)
                return errno;
        if (pid == 0) {
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        _exit(errno);
                _exit(reopen_in_child(fd));
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
                return EIO;
        return WEXITSTATUS(status);
}

static bool proc_is_hidden(void) {
        return access("/proc/self/fd", F_OK) < 0;
}

static void cmd_attack(const char *name, pid_t launcher, int launcher_fd, unsigned long addr) {
        lmm_segment *s = find(name);
        size_t size;
        char path[128];
        char *p;
        int fd, e;
        struct {
                struct file_handle h;
                unsigned char buf[128];
        } fh;
        int mount_id;

        if (!s)
                return;
        fd = lmm_segment_get_fd(s);
        size = (size_t) lmm_segment_get_size(s);
        open_to_others(fd);

        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        e = errno;
        if (p != MAP_FAILED)
                p[0] = 'X';
        outcome("mmap-shared-writable", p != MAP_FAILED, e);

        p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
                say("mmap-shared-readable: failed %s", ename(errno));
                lmm_segment_unref(s);
                return;
        }
        e = mprotect(p, size, PROT_READ | PROT_WRITE) < 0 ? errno : 0;
        if (!e)
                p[0] = 'X';
        outcome("mprotect-writable", !e, e);
        e = madvise(p, size, MADV_REMOVE) < 0 ? errno : 0;
        outcome("madvise-remove", !e, e);

        e = pwrite(fd, "X", 1, 0) == 1 ? 0 : errno;
        outcome("write", !e, e);
        e = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) < 0 ? errno : 0;
        outcome("punch-hole", !e, e);
        e = ftruncate(fd, 0) < 0 ? errno : 0;
        outcome("ftruncate", !e, e);

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        reopen("reopen-proc-self-fd", path);
        snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
        reopen("reopen-proc-thread-self-fd", path);
        snprintf(path, sizeof(path), "/dev/fd/%d", fd);
        reopen("reopen-dev-fd", path);
        snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long) p,
                 (unsigned long) p + size);
        reopen("reopen-map-files", path);

        fh.h.handle_bytes = sizeof(fh.buf);
        if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) < 0)
                outcome("open-by-handle", false, errno);
        else {
                int rw = open_by_handle_at(fd, &fh.h, O_RDWR | O_CLOEXEC);
                bool wrote = false;

                e = errno;
                if (rw >= 0) {
                        wrote = write_through(rw, &e);
                        close(rw);
                }
                outcome("open-by-handle", wrote, e);
        }

        if (launcher > 0) {
                struct iovec local = { .iov_base = (void *) "X", .iov_len = 1 };
                struct iovec remote = { .iov_base = (void *) addr, .iov_len = 1 };
                int mem;

                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) launcher, launcher_fd);
                reopen("reopen-launcher-fd", path);
                snprintf(path, sizeof(path), "/proc/%d/mem", (int) launcher);
                mem = open(path, O_RDWR | O_CLOEXEC);
                e = errno;
                if (mem >= 0) {
                        e = pwrite(mem, "X", 1, (off_t) addr) == 1 ? 0 : errno;
                        close(mem);
                }
                outcome("launcher-proc-mem", !e, e);
                e = process_vm_writev(launcher, &local, 1, &remote, 1, 0) == 1 ? 0 : errno;
                outcome("launcher-process-vm-writev", !e, e);
        }

        /* Undoing the mask: only where there is one. Without it, this
         * mount namespace is the launcher's, and nothing here may unmount
         * its /proc. */
        if (proc_is_hidden()) {
                e = umount2("/proc", MNT_DETACH) < 0 ? errno : 0;
                if (!e) {
                        in_child("umount-mask", reopen_in_child, fd);
                } else
                        outcome("umount-mask", false, e);
        } else
                say("umount-mask: skipped, no mask");
        in_child("nested-namespace-umount", nested_umount, fd);
        in_child("nested-namespace-fresh-proc", fresh_proc, fd);
        lmm_segment_unref(s);
}

static void cmd_fds(void) {
        struct rlimit rl;
        char line[4096];
        size_t len = 0;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                rl.rlim_cur = 1024;
        len += (size_t) snprintf(line, sizeof(line), "fds:");
        for (rlim_t fd = 0; fd < rl.rlim_cur && len < sizeof(line) - 16; fd++)
                if (fcntl((int) fd, F_GETFD) >= 0)
                        len += (size_t) snprintf(line + len, sizeof(line) - len, " %d", (int) fd);
        say("%s", line);
}

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                const char *c = argv[i];
                bool more1 = i + 1 < argc, more2 = i + 2 < argc;

                if (strcmp(c, "names") == 0)
                        cmd_names();
                else if (strcmp(c, "env") == 0 && more1) {
                        const char *v = getenv(argv[++i]);
                        say("env %s %s", argv[i], v ?: "unset");
                } else if (strcmp(c, "read") == 0 && more1)
                        cmd_read(argv[++i]);
                else if (strcmp(c, "write") == 0 && more2) {
                        cmd_write(argv[i + 1], argv[i + 2]);
                        i += 2;
                } else if (strcmp(c, "find") == 0 && more1) {
                        lmm_segment *s = NULL;
                        int r = lmm_segment_from_listen_fds(argv[++i], &s);
                        say("find %s: %s", argv[i], r < 0 ? ename(-r) : "ok");
                        lmm_segment_unref(s);
                } else if (strcmp(c, "attack") == 0 && more1) {
                        if (i + 4 < argc) {
                                cmd_attack(argv[i + 1], (pid_t) atoi(argv[i + 2]),
                                           atoi(argv[i + 3]), strtoul(argv[i + 4], NULL, 16));
                                i += 4;
                        } else
                                cmd_attack(argv[++i], 0, -1, 0);
                } else if (strcmp(c, "fds") == 0)
                        cmd_fds();
                else if (strcmp(c, "ids") == 0)
                        say("ids uid=%u gid=%u pid=%d ppid=%d", getuid(), getgid(), getpid(),
                            getppid());
                else if (strcmp(c, "proc") == 0) {
                        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
                        say("proc: %s", fd >= 0 ? "visible" : ename(errno));
                        if (fd >= 0)
                                close(fd);
                } else if (strcmp(c, "stat") == 0 && more1) {
                        struct stat st;
                        const char *path = argv[++i];

                        say("%s: %s", path, stat(path, &st) == 0 ? "exists" : ename(errno));
                } else if (strcmp(c, "sleep") == 0 && more1)
                        usleep((useconds_t) atoi(argv[++i]) * 1000);
                else if (strcmp(c, "exit") == 0 && more1)
                        _exit(atoi(argv[++i]));
                else if (strcmp(c, "signal") == 0 && more1)
                        kill(getpid(), atoi(argv[++i]));
                else if (strcmp(c, "wait-stdin") == 0) {
                        char b[256];
                        while (read(STDIN_FILENO, b, sizeof(b)) > 0)
                                ;
                } else {
                        say("unknown command %s", c);
                        return 2;
                }
        }
        if (proc_is_hidden() || prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
                _exit(0);
        return 0;
}
