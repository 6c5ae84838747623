/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mkfds — a fixture for memfd-inspect's tests, after util-linux lsfd's
 * test_mkfds: it makes memfds with known names, sizes and seals, holds and
 * maps them in known ways, tells what it made on stdout, then waits until
 * stdin closes or SIGTERM arrives.
 *
 * What it makes (every name has the prefix given as argv[1], "mkfds" by default):
 *   PREFIX-rw       16 KiB, seals shrink,grow; fd read-write, a second fd
 *                   read-only (reopened through /proc/self/fd); mapped shared
 *                   read-write, pages 0 and 2 written (Rss 8 KiB)
 *   PREFIX-ro       8 KiB, written then sealed shrink,grow,write; mapped shared
 *                   read-only, both pages read (Rss 8 KiB)
 *   PREFIX-private  8 KiB, made without MFD_ALLOW_SEALING (seals: seal);
 *                   mapped private read-write, page 0 written (Rss 4 KiB)
 *   PREFIX-maponly  4 KiB, seals shrink,grow; mapped shared read-write and
 *                   touched, its fd closed (only a mapping holds it)
 *   PREFIX-shared   8 KiB, seals shrink,grow,future_write; the fd is sent to a
 *                   child over SCM_RIGHTS; parent and child both hold it
 *   PREFIX-huge     2 MiB on huge pages (MFD_HUGETLB), not mapped; only when
 *                   the kernel lets us make one
 *
 * With "odd" as argv[2], also memfds whose names are not plain text, held,
 * empty, unsealed and not mapped: PREFIX-bad\xff (not UTF-8), PREFIX-c1\xc2\x9b
 * (U+009B, a C1 control), PREFIX-ctl\x01\n\x7f (C0 and DEL), PREFIX-bsx\x41
 * (a literal backslash and "x41"), PREFIX-utf8-caf\xc3\xa9 (well-formed UTF-8);
 * and the parent's command becomes "mkfds\xff\xc2\x9b".
 *
 * Output, one fact per line, then "ready":
 *   pid PID
 *   child PID
 *   fd PID NAME FD MODE            MODE: ro or rw
 *   memfd NAME SIZE SEALS          SEALS as lmm_seals_to_string(), "none" for none
 *   map NAME START END PROT SHARING RSS   START/END in hex, RSS in bytes
 *   huge NAME
 *   odd HEX                        an odd name, as hex bytes (with "odd")
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wait-end.h"

#define PAGE 4096

static void die(const char *what) {
        fprintf(stderr, "mkfds: %s: %s\n", what, strerror(errno));
        exit(1);
}

static int make(const char *prefix, const char *suffix, size_t size, unsigned flags, char *name,
                size_t nsize) {
        int fd;

        snprintf(name, nsize, "%s-%s", prefix, suffix);
        fd = memfd_create(name, MFD_CLOEXEC | flags);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void *map(int fd, size_t size, int prot, int flags) {
        void *p = mmap(NULL, size, prot, flags, fd, 0);
        if (p == MAP_FAILED)
                die("mmap");
        return p;
}

static void print_map(const char *name, void *p, size_t size, const char *prot, const char *sharing,
                      size_t rss) {
        uintptr_t a = (uintptr_t) p;
        printf("map %s %" PRIxPTR " %" PRIxPTR " %s %s %zu\n", name, a, a + size, prot, sharing,
               rss);
}

static int child_main(int sock, int sfd) {
        char cbuf[CMSG_SPACE(sizeof(int))], b;
        struct iovec iov = { .iov_base = &b, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *c;
        int fd = -1;

        /* Die with the parent, so a test that crashes leaves nothing behind. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
                _exit(1);
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (fd < 0)
                _exit(1);
        /* Tell the parent which fd number it got. */
        if (write(sock, &fd, sizeof(fd)) != sizeof(fd))
                _exit(1);
        /* Wait for the parent to close its end (or for SIGTERM). */
        {
                struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
                                       { .fd = sfd, .events = POLLIN } };
                while (poll(p, 2, -1) < 0 && errno == EINTR)
                        ;
        }
        _exit(0);
}

/* The "odd" memfds, each held open; their names spelled out in hex on stdout. */
static void make_odd(const char *prefix) {
        static const char *const odd[] = { "bad\xff", "c1\xc2\x9b", "ctl\x01\n\x7f", "bsx\\x41",
                                           "utf8-caf\xc3\xa9" };

        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
                char name[256];
                int fd = make(prefix, odd[i], 0, 0, name, sizeof(name));

                if (fd < 0) {
                        errno = -fd;
                        die("odd name");
                }
                printf("odd ");
                for (const char *c = name; *c; c++)
                        printf("%02x", (unsigned char) *c);
                printf("\n");
        }
        if (prctl(PR_SET_NAME, "mkfds\xff\xc2\x9b") < 0)
                die("PR_SET_NAME");
}

int main(int argc, char *argv[]) {
        const char *prefix = argc > 1 ? argv[1] : "mkfds";
        char name[256], rw_name[256];
        int sv[2], sfd, fd, fd_ro, child_fd, shared_fd;
        pid_t child;
        char *p;

        setvbuf(stdout, NULL, _IOLBF, 0);
        sfd = end_signals();
        if (sfd < 0)
                die("signalfd");

        /* Fork before anything is made, so the child inherits no memfd and no mapping. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair");
        child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                close(sv[0]);
                return child_main(sv[1], sfd);
        }
        close(sv[1]);
        printf("pid %d\nchild %d\n", (int) getpid(), (int) child);

        /* PREFIX-rw: read-write fd, read-only reopen, shared rw mapping with 2 of 4 pages written.
         */
        fd = make(prefix, "rw", 4 * PAGE, MFD_ALLOW_SEALING, rw_name, sizeof(rw_name));
        if (fd < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                die("PREFIX-rw");
        {
                char path[64];
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                fd_ro = open(path, O_RDONLY | O_CLOEXEC);
                if (fd_ro < 0)
                        die("reopen read-only");
        }
        p = map(fd, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
        p[0] = 1;
        p[2 * PAGE] = 1;
        printf("memfd %s %d shrink,grow\n", rw_name, 4 * PAGE);
        printf("fd %d %s %d rw\nfd %d %s %d ro\n", (int) getpid(), rw_name, fd, (int) getpid(),
               rw_name, fd_ro);
        print_map(rw_name, p, 4 * PAGE, "rw-", "shared", 2 * PAGE);

        /* PREFIX-ro: filled with write(), sealed against writing, mapped read-only and read. */
        fd = make(prefix, "ro", 2 * PAGE, MFD_ALLOW_SEALING, name, sizeof(name));
        if (fd < 0)
                die("PREFIX-ro");
        {
                static char data[2 * PAGE];
                memset(data, 'x', sizeof(data));
                if (write(fd, data, sizeof(data)) != (ssize_t) sizeof(data))
                        die("write");
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                die("seal PREFIX-ro");
        p = map(fd, 2 * PAGE, PROT_READ, MAP_SHARED);
        {
                volatile char sum = 0;
                sum += p[0];
                sum += p[PAGE];
                (void) sum;
        }
        printf("memfd %s %d shrink,grow,write\n", name, 2 * PAGE);
        printf("fd %d %s %d rw\n", (int) getpid(), name, fd);
        print_map(name, p, 2 * PAGE, "r--", "shared", 2 * PAGE);

        /* PREFIX-private: not sealable (so sealed "seal"), a private writable mapping. */
        fd = make(prefix, "private", 2 * PAGE, 0, name, sizeof(name));
        if (fd < 0)
                die("PREFIX-private");
        p = map(fd, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
        p[0] = 1;
        printf("memfd %s %d seal\n", name, 2 * PAGE);
        printf("fd %d %s %d rw\n", (int) getpid(), name, fd);
        print_map(name, p, 2 * PAGE, "rw-", "private", PAGE);

        /* PREFIX-maponly: only a mapping keeps it. */
        fd = make(prefix, "maponly", PAGE, MFD_ALLOW_SEALING, name, sizeof(name));
        if (fd < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
                die("PREFIX-maponly");
        p = map(fd, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
        p[0] = 1;
        close(fd);
        printf("memfd %s %d shrink,grow\n", name, PAGE);
        print_map(name, p, PAGE, "rw-", "shared", PAGE);

        /* PREFIX-shared: frozen, held by the parent and, through SCM_RIGHTS, by the child. */
        shared_fd = make(prefix, "shared", 2 * PAGE, MFD_ALLOW_SEALING, name, sizeof(name));
        if (shared_fd < 0 ||
            fcntl(shared_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) < 0)
                die("PREFIX-shared");
        {
                char cbuf[CMSG_SPACE(sizeof(int))] = {}, b = 0;
                struct iovec iov = { .iov_base = &b, .iov_len = 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = cbuf,
                                     .msg_controllen = sizeof(cbuf) };
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &shared_fd, sizeof(int));
                if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) < 0)
                        die("sendmsg");
                if (read(sv[0], &child_fd, sizeof(child_fd)) != sizeof(child_fd))
                        die("read child fd");
        }
        printf("memfd %s %d shrink,grow,future_write\n", name, 2 * PAGE);
        printf("fd %d %s %d rw\n", (int) getpid(), name, shared_fd);
        printf("fd %d %s %d rw\n", (int) child, name, child_fd);

        /* PREFIX-huge: where the kernel has hugetlbfs; size only, never mapped. */
        fd = make(prefix, "huge", 2 << 20, MFD_HUGETLB, name, sizeof(name));
        if (fd >= 0) {
                printf("huge %s\n", name);
                printf("memfd %s %d seal\n", name, 2 << 20);
                printf("fd %d %s %d rw\n", (int) getpid(), name, fd);
        }

        if (argc > 2 && strcmp(argv[2], "odd") == 0)
                make_odd(prefix);
        printf("ready\n");
        wait_for_end(sfd);
        close(sv[0]);
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
        return 0;
}
