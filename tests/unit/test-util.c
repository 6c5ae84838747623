/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-util — the bottom layer: sizes parsed and printed, names checked,
 * memfds born sealed and close-on-exec, and told apart from other files.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmm.h"
#include "util.h"

Test(util, parse_size_accepts) {
        static const struct {
                const char *s;
                uint64_t v;
        } ok[] = {
                { "0", 0 },
                { "4096", 4096 },
                { "4K", 4096 },
                { "4k", 4096 },
                { "4KB", 4096 },
                { "4KiB", 4096 },
                { "64M", UINT64_C(64) << 20 },
                { "1G", UINT64_C(1) << 30 },
                { "2T", UINT64_C(2) << 40 },
                { "18446744073709551615", UINT64_MAX },
                { "16777215T", UINT64_C(16777215) << 40 },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                uint64_t v = 12345;
                cr_assert_eq(parse_size(ok[i].s, &v), 0, "\"%s\"", ok[i].s);
                cr_assert_eq(v, ok[i].v, "\"%s\"", ok[i].s);
        }
}

Test(util, parse_size_rejects) {
        static const char *const bad[] = {
                "",   "K",   "1.5G", "-1",  "+1",   " 1",  "1 ",
                "1X", "1KK", "1Ki",  "1iB", "0x10", "1G1", "abc",
        };
        static const char *const overflow[] = {
                "18446744073709551616",    /* UINT64_MAX + 1 */
                "99999999999999999999999", /* strtoull overflows */
                "16777216T",               /* 2^64 */
                "17179869184G",            /* 2^64 */
                "18446744073709551615K",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint64_t v = 12345;
                cr_assert_lt(parse_size(bad[i], &v), 0, "\"%s\" accepted", bad[i]);
                cr_assert_eq(v, 12345, "\"%s\": *ret written on failure", bad[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(overflow); i++) {
                uint64_t v = 12345;
                cr_assert_eq(parse_size(overflow[i], &v), -ERANGE, "\"%s\"", overflow[i]);
                cr_assert_eq(v, 12345);
        }
        cr_assert_eq(parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

Test(util, format_bytes) {
        static const struct {
                uint64_t n;
                const char *s;
        } cases[] = {
                { 0, "0 B" },
                { 17, "17 B" },
                { 1023, "1023 B" },
                { 1024, "1 KiB" },
                { 1536, "1.5 KiB" },
                { 4096, "4 KiB" },
                { UINT64_C(64) << 20, "64 MiB" },
                { UINT64_C(3) << 29, "1.5 GiB" },
                { UINT64_C(1) << 30, "1 GiB" },
                { UINT64_C(8) << 30, "8 GiB" },
                { UINT64_C(1) << 40, "1 TiB" },
                { UINT64_C(1) << 60, "1 EiB" },
                { UINT64_MAX, "15.9 EiB" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_assert_str_eq(format_bytes(cases[i].n, buf, sizeof(buf)), cases[i].s, "%" PRIu64,
                                 cases[i].n);

        /* a small buffer is truncated, NUL-terminated, never overrun */
        memset(buf, 'x', sizeof(buf));
        format_bytes(UINT64_C(64) << 20, buf, 4);
        cr_assert_str_eq(buf, "64 ");
        cr_assert_eq(buf[4], 'x');
}

Test(util, name_is_valid) {
        char longest[LMM_NAME_MAX + 1];

        memset(longest, 'n', sizeof(longest));
        cr_assert(name_is_valid("a", 1));
        cr_assert(name_is_valid("frames 0", 8));
        cr_assert(name_is_valid("caf\xc3\xa9", 5));
        cr_assert(name_is_valid("..", 2)); /* never a path: only '/' matters */
        cr_assert(name_is_valid(longest, LMM_NAME_MAX));

        cr_assert_not(name_is_valid("", 0));
        cr_assert_not(name_is_valid(longest, LMM_NAME_MAX + 1));
        cr_assert_not(name_is_valid("a/b", 3));
        cr_assert_not(name_is_valid("/", 1));
        cr_assert_not(name_is_valid("a\nb", 3));
        cr_assert_not(name_is_valid("\t", 1));
        cr_assert_not(name_is_valid("\x1f", 1));
        cr_assert_not(name_is_valid("\x7f", 1));
        cr_assert_not(name_is_valid("a\0b", 3));
        /* the length counts, not the NUL */
        cr_assert(name_is_valid("ab/", 2));
}

/* fuzz-list found an empty string read without a buffer checked as
 * utf8_is_valid(NULL, 0), which did NULL + 0: undefined (clang's UBSan). */
Test(util, utf8_is_valid_empty) {
        cr_assert(utf8_is_valid(NULL, 0));
        cr_assert(utf8_is_valid("", 0));
        cr_assert_not(utf8_is_valid("\xc3", 1));
}

Test(util, memfd_new_sealed) {
        static const uint64_t sizes[] = { 1, 4095, 4096, 1 << 20, (UINT64_C(1) << 32) + 1 };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                struct stat st;
                uint64_t size = 0;
                int fd = -1, seals;

                cr_assert_eq(memfd_new_sealed("util-test", sizes[i], false, &fd), 0);
                cr_assert_geq(fd, 0);
                cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "memfd without FD_CLOEXEC");
                seals = fcntl(fd, F_GET_SEALS);
                cr_assert_geq(seals, 0);
                cr_assert_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
                cr_assert_eq(seals & F_SEAL_SEAL, 0, "must stay sealable (freeze, shutdown)");
                cr_assert_eq(fd_get_seals(fd), seals);
                cr_assert_eq(fstat(fd, &st), 0);
                cr_assert_eq((uint64_t) st.st_size, sizes[i]);
                cr_assert_eq(fd_get_size(fd, &size), 0);
                cr_assert_eq(size, sizes[i]);
                cr_assert_eq(fd_is_writable(fd), 1);
                errno = 0;
                cr_assert_lt(ftruncate(fd, (off_t) sizes[i] + 1), 0, "grew");
                cr_assert_eq(errno, EPERM);
                cr_assert_lt(ftruncate(fd, (off_t) sizes[i] - 1), 0, "shrank");
                cr_assert_eq(errno, EPERM);
                cr_assert_eq(fd_is_memfd(fd), 1);
                close(fd);
        }
        cr_assert_eq(memfd_new_sealed("too-big", (uint64_t) INT64_MAX + 1, false, &(int){ -1 }),
                     -EFBIG);
}

/* A create's reply reports these seals without asking the kernel: they must be what it says. */
Test(util, memfd_new_sealed_seals_are_the_kernels) {
        for (int huge = 0; huge <= 1; huge++) {
                uint64_t size = huge ? hugepage_size() : 4096;
                uint32_t seals = 0;
                int fd = -1, r;

                if (huge && size == 0)
                        continue;
                r = memfd_new_sealed_seals("util-seals", size, huge, &fd, &seals);
                if (huge && r < 0) /* no huge pages to be had here */
                        continue;
                cr_assert_eq(r, 0);
                cr_assert_eq(fcntl(fd, F_GET_SEALS), (int) seals, "known 0x%x, kernel 0x%x", seals,
                             fcntl(fd, F_GET_SEALS));
                close(fd);
        }
}

Test(util, fd_is_memfd) {
        char path[] = "/tmp/lmm-util-XXXXXX", shm[] = "/dev/shm/lmm-util-XXXXXX";
        int memfd, file, shmfile, p[2], null;

        cr_assert_eq(memfd_new_sealed("is-memfd", 4096, false, &memfd), 0);
        cr_assert_eq(fd_is_memfd(memfd), 1);

        file = mkostemp(path, O_CLOEXEC);
        cr_assert_geq(file, 0);
        cr_assert_eq(fd_is_memfd(file), 0, "regular file in /tmp");
        unlink(path);
        cr_assert_eq(fd_is_memfd(file), 0, "deleted regular file");

        /* a tmpfs file, even deleted, is not a memfd */
        shmfile = mkostemp(shm, O_CLOEXEC);
        cr_assert_geq(shmfile, 0);
        cr_assert_eq(fd_is_memfd(shmfile), 0, "tmpfs file");
        unlink(shm);
        cr_assert_eq(fd_is_memfd(shmfile), 0, "deleted tmpfs file");

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(fd_is_memfd(p[0]), 0, "pipe");
        cr_assert_eq(fd_is_memfd(p[1]), 0, "pipe");

        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        cr_assert_geq(null, 0);
        cr_assert_eq(fd_is_memfd(null), 0, "/dev/null");

        cr_assert_lt(fd_is_memfd(-1), 0);

        close(memfd);
        close(file);
        close(shmfile);
        close(p[0]);
        close(p[1]);
        close(null);
}

/*
 * Where /proc is hidden, as in a worker launched with a read-only block (an
 * empty tmpfs over it, in namespaces of its own), fd_is_memfd() still tells
 * a memfd from a tmpfs file and a pipe. Exit: 0, or the number of the check
 * that failed.
 */
static int memfd_checks_without_proc(void) {
        char shm[] = "/dev/shm/lmm-util-XXXXXX", map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();
        int memfd, plain, shmfile, p[2], fd;

        if (memfd_new_sealed("no-proc", 4096, false, &memfd) < 0)
                return 100;
        plain = memfd_create("plain", MFD_CLOEXEC); /* not sealable, still a memfd */
        shmfile = mkostemp(shm, O_CLOEXEC);
        if (plain < 0 || shmfile < 0 || pipe2(p, O_CLOEXEC) < 0)
                return 101;
        unlink(shm);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return 102;
        fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "deny", 4) != 4 || close(fd) < 0)
                return 103;
        snprintf(map, sizeof(map), "%u %u 1", uid, uid);
        fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) < 0 || close(fd) < 0)
                return 104;
        snprintf(map, sizeof(map), "%u %u 1", gid, gid);
        fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) < 0 || close(fd) < 0)
                return 105;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
            mount("tmpfs", "/proc", "tmpfs", MS_RDONLY, "mode=0") < 0)
                return 106;
        if (access("/proc/self/fd", F_OK) == 0)
                return 107;
        if (fd_is_memfd(memfd) != 1)
                return 1;
        if (fd_is_memfd(plain) != 1)
                return 2;
        if (fd_is_memfd(shmfile) != 0)
                return 3;
        if (fd_is_memfd(p[0]) != 0)
                return 4;
        return 0;
}

Test(util, fd_is_memfd_where_proc_is_hidden) {
        int status;
        pid_t child = fork();

        cr_assert_geq(child, 0);
        if (child == 0)
                _exit(memfd_checks_without_proc());
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 102)
                cr_skip_test("no user namespaces here");
        cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed", WEXITSTATUS(status));
}

/* The cached pid is forgotten in a fork()ed child: the client's fork check relies on it. */
Test(util, getpid_cached_follows_fork) {
        int status;
        pid_t child;

        cr_assert_eq(getpid_cached(), getpid());
        cr_assert_eq(getpid_cached(), getpid(), "cached");
        child = fork();
        cr_assert_geq(child, 0);
        if (child == 0)
                _exit(getpid_cached() == getpid() && getpid_cached() != getppid() ? 0 : 1);
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child saw its parent's pid");
}
