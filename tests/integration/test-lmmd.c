/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests: the built lmmd, real client processes, real kernel seals.
 */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"
#include "missing.h"
#include "util.h"
#include "wire.h"

static void *map(lmm_segment *s, int want) {
        void *p = NULL;
        int r = lmm_segment_map(s, 0, &p);
        cr_assert_eq(r, want, "map: %d", r);
        return p;
}

static size_t n_blocks(lmm_client *c) {
        lmm_block_info *b = NULL;
        size_t n = 0;
        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        free(b);
        return n;
}

TestSuite(lmmd, .init = fixture_lmmd_start, .fini = fixture_lmmd_stop, .timeout = 60);

Test(lmmd, two_processes_see_each_others_writes) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "shared", 4096);
        char *p = map(s, 0);
        int to_child[2], to_parent[2];
        char x;
        pid_t pid;

        cr_assert_eq(pipe2(to_child, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(to_parent, O_CLOEXEC), 0);
        strcpy(p, "from parent");

        pid = fork();
        if (pid == 0) {
                /* A fresh process of its own: its own connection, its own fd. */
                lmm_client *cc = NULL;
                lmm_segment *cs = NULL;
                char *q = NULL;

                if (lmm_client_connect(fixture_lmmd.sock, &cc) < 0 ||
                    lmm_segment_open(cc, "shared", 0, &cs) < 0 ||
                    lmm_segment_map(cs, 0, (void **) &q) != 0)
                        _exit(10);
                if (strcmp(q, "from parent") != 0)
                        _exit(11);
                strcpy(q + 2048, "from child");
                (void) !write(to_parent[1], "x", 1);
                if (read(to_child[0], &x, 1) != 1)
                        _exit(12);
                _exit(strcmp(q + 1024, "parent again") == 0 ? 0 : 13);
        }
        cr_assert_eq(read(to_parent[0], &x, 1), 1);
        cr_assert_str_eq(p + 2048, "from child");
        strcpy(p + 1024, "parent again");
        (void) !write(to_child[1], "x", 1);
        cr_assert_eq(harness_wait_exit(pid, 10000), 0);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, open_by_name_gives_the_same_memory) {
        lmm_client *c = fixture_client();
        lmm_segment *a = fixture_create(c, "same", 8192), *b = NULL;
        struct stat sa, sb;
        char *pa, *pb;

        cr_assert_eq(lmm_segment_open(c, "same", 0, &b), 0);
        cr_assert_eq(lmm_segment_get_size(b), 8192);
        cr_assert_str_eq(lmm_segment_get_name(b), "same");
        cr_assert_eq(fstat(lmm_segment_get_fd(a), &sa), 0);
        cr_assert_eq(fstat(lmm_segment_get_fd(b), &sb), 0);
        cr_assert_eq(sa.st_ino, sb.st_ino);
        cr_assert_neq(lmm_segment_get_fd(a), lmm_segment_get_fd(b));
        pa = map(a, 0);
        pb = map(b, 0);
        cr_assert_neq(pa, pb);
        memcpy(pa + 8000, "hello", 6);
        cr_assert_str_eq(pb + 8000, "hello");
        /* Each holder has an open file description of its own: no shared offset. */
        cr_assert_eq(lseek(lmm_segment_get_fd(a), 100, SEEK_SET), 100);
        cr_assert_eq(lseek(lmm_segment_get_fd(b), 0, SEEK_CUR), 0);
        lmm_segment_unref(a);
        lmm_segment_unref(b);
        lmm_client_unref(c);
}

Test(lmmd, read_only_open_cannot_write) {
        lmm_client *c = fixture_client();
        lmm_segment *w = fixture_create(c, "ro", 4096), *r = NULL;
        char *pw = map(w, 0), *pr;
        pid_t pid;
        int status;

        strcpy(pw, "published");
        cr_assert_eq(lmm_segment_open(c, "ro", LMM_OPEN_RDONLY, &r), 0);
        cr_assert_eq(fcntl(lmm_segment_get_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
        pr = map(r, 1);
        cr_assert_not(lmm_segment_is_writable(r));
        cr_assert_str_eq(pr, "published");

        /* No writable shared mapping, no upgrade, no write(), no seals through it. */
        cr_assert_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, lmm_segment_get_fd(r), 0),
                     MAP_FAILED);
        cr_assert_eq(errno, EACCES);
        cr_assert_eq(mprotect(pr, 4096, PROT_READ | PROT_WRITE), -1);
        cr_assert_eq(errno, EACCES);
        cr_assert_eq(write(lmm_segment_get_fd(r), "x", 1), -1);
        cr_assert_eq(fcntl(lmm_segment_get_fd(r), F_ADD_SEALS, F_SEAL_WRITE), -1);

        /* A store through the read-only mapping faults. */
        pid = fork();
        if (pid == 0) {
                signal(SIGSEGV, SIG_DFL); /* not the sanitizer's handler */
                pr[0] = 'X';
                _exit(0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        cr_assert_str_eq(pw, "published");
        lmm_segment_unref(w);
        lmm_segment_unref(r);
        lmm_client_unref(c);
}

Test(lmmd, seals_keep_the_size) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "fixed", 12345);
        int fd = lmm_segment_get_fd(s), seals = fcntl(fd, F_GET_SEALS);
        struct stat st;

        cr_assert_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert_eq(st.st_size, 12345, "size is exact, not rounded");
        cr_assert_eq(ftruncate(fd, 0), -1);
        cr_assert_eq(errno, EPERM);
        cr_assert_eq(ftruncate(fd, 1 << 20), -1);
        cr_assert_eq(errno, EPERM);
        cr_assert_eq(fallocate(fd, 0, 0, 1 << 20), -1);
        /* Nobody may take the seals off either: there is no such operation. */
        cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert_eq(st.st_size, 12345);
        cr_assert_eq(st.st_mode & 0111, 0, "blocks are not executable (MFD_NOEXEC_SEAL)");
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, release_drops_the_name_but_holders_keep_their_data) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "gone", 4096), *again = NULL;
        char *p = map(s, 0);

        strcpy(p, "still here");
        cr_assert_eq(lmm_block_release(c, "gone"), 0);
        cr_assert_eq(lmm_segment_open(c, "gone", 0, &again), -ENOENT);
        cr_assert_eq(lmm_block_release(c, "gone"), -ENOENT);
        cr_assert_eq(harness_count_memfds(fixture_lmmd.pid, "lmm:gone"), 0,
                     "the manager dropped its fd");
        cr_assert_str_eq(p, "still here");
        strcpy(p, "and writable");
        cr_assert_str_eq(p, "and writable");
        /* The name can be used again, for new memory. */
        lmm_segment *fresh = fixture_create(c, "gone", 4096);
        cr_assert_eq(((char *) map(fresh, 0))[0], 0);
        lmm_segment_unref(fresh);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

static void check_after_shutdown(lmm_segment *s, char *p) {
        int fd = lmm_segment_get_fd(s), seals = fcntl(fd, F_GET_SEALS);

        cr_assert_str_eq(p, "before shutdown");
        strcpy(p, "after shutdown");
        cr_assert_str_eq(p, "after shutdown");
        cr_assert_eq(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL |
                                    (seals & F_SEAL_EXEC /* from MFD_NOEXEC_SEAL */));
        cr_assert_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
        cr_assert_eq(errno, EPERM);
        void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        cr_assert_neq(ro, MAP_FAILED);
        cr_assert_str_eq(ro, "after shutdown");
        munmap(ro, 4096);
        cr_assert_eq(access(fixture_lmmd.sock, F_OK), -1, "the socket is gone");
}

Test(lmmd, shutdown_request_seals_and_exits) {
        lmm_client *c = fixture_client(), *late = NULL;
        lmm_segment *s = fixture_create(c, "kept", 4096);
        char *p = map(s, 0);

        lmm_segment *d = fixture_create(c, "dropped", 4096);
        strcpy(p, "before shutdown");
        cr_assert_eq(lmm_client_shutdown_manager(c), 0);
        cr_assert_eq(fixture_lmmd_wait_exit(5000), 0, "lmmd exits 0");
        check_after_shutdown(s, p);
        cr_assert_eq(lmm_block_stat(c, "kept", &(lmm_block_info){}), -ECONNRESET);
        cr_assert_lt(lmm_client_connect(fixture_lmmd.sock, &late), 0);
        lmm_segment_unref(d);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, sigterm_is_a_clean_shutdown) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "kept", 4096);
        char *p = map(s, 0);

        strcpy(p, "before shutdown");
        cr_assert_eq(harness_lmmd_stop(&fixture_lmmd), 0, "lmmd exits 0 on SIGTERM");
        check_after_shutdown(s, p);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, kill_9_leaves_holders_their_data_and_clients_a_clear_error) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "survivor", 4096), *o = NULL;
        char *p = map(s, 0);
        uint64_t t0;

        strcpy(p, "survives");
        harness_lmmd_kill(&fixture_lmmd);
        cr_assert_str_eq(p, "survives");
        strcpy(p, "still writable");
        cr_assert_str_eq(p, "still writable");

        /* SIGPIPE would kill this test; a hang would time it out. */
        signal(SIGPIPE, SIG_DFL);
        t0 = now_usec();
        cr_assert_eq(lmm_segment_open(c, "survivor", 0, &o), -ECONNRESET);
        cr_assert_eq(lmm_block_release(c, "survivor"), -ECONNRESET);
        cr_assert_lt(now_usec() - t0, 1000000, "no waiting on a dead manager");
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, bad_requests_get_clear_errors_and_change_nothing) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "taken", 4096), *x = NULL;
        char long_name[LMM_NAME_MAX + 2];
        size_t before = n_blocks(c);

        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;

        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 0, .name = "zero" }, &x),
                     -EINVAL);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "" }, &x),
                     -EINVAL);
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = long_name }, &x),
                -EINVAL);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "a/b" }, &x),
                     -EINVAL);
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "tab\there" }, &x),
                -EINVAL);
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "taken" }, &x),
                -EEXIST);
        cr_assert_str_eq(lmm_client_last_error(c),
                         "cannot create block \"taken\": the name is in use");
        cr_assert_eq(
                lmm_segment_create(
                        c, &(lmm_segment_opts){ .size = UINT64_C(1) << 40, .name = "huge" }, &x),
                -EDQUOT);
        cr_assert_str_eq(lmm_client_last_error(c),
                         "cannot create block \"huge\" (1 TiB): exceeds per-user limit of 8 GiB");
        cr_assert_eq(lmm_segment_create(
                             c,
                             &(lmm_segment_opts){ .size = 4096, .name = "flags", .flags = 1u << 7 },
                             &x),
                     -EINVAL);
        cr_assert_eq(lmm_segment_open(c, "missing", 0, &x), -ENOENT);
        cr_assert_str_eq(lmm_client_last_error(c), "no block named \"missing\"");
        cr_assert_eq(lmm_block_release(c, "missing"), -ENOENT);
        cr_assert_eq(lmm_block_freeze(c, "missing"), -ENOENT);
        cr_assert_eq(lmm_segment_open(c, "taken", 1u << 5, &x), -EINVAL);
        cr_assert_null(x);

        cr_assert_eq(n_blocks(c), before, "nothing changed");
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---- the raw protocol: what the library never sends, the manager must still refuse ---- */

Test(lmmd, manager_refuses_what_the_library_would_not_send) {
        int fd = fixture_raw_connect(fixture_lmmd.sock);
        wire_msg r;

        fixture_raw_send(
                fd, &(wire_msg){ .type = WIRE_CREATE, .serial = 1, .size = 0, .name = "zero" }, -1);
        cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, EINVAL);
        cr_assert_str_eq(r.text, "cannot create block \"zero\": size must be at least 1 byte");

        fixture_raw_send(
                fd,
                &(wire_msg){ .type = WIRE_CREATE, .serial = 2, .size = UINT64_MAX, .name = "max" },
                -1);
        cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, EFBIG);
        close(fd);
}

Test(lmmd, requests_can_be_pipelined) {
        int fd = fixture_raw_connect(fixture_lmmd.sock), mfd;
        wire_msg r;

        fixture_raw_send(
                fd, &(wire_msg){ .type = WIRE_CREATE, .serial = 7, .size = 4096, .name = "p" }, -1);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_OPEN, .serial = 8, .name = "p" }, -1);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_STAT, .serial = 9, .name = "p" }, -1);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_RELEASE, .serial = 10, .name = "p" }, -1);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_STAT, .serial = 11, .name = "p" }, -1);
        for (uint32_t serial = 7; serial <= 10; serial++) {
                cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
                cr_assert_eq(r.serial, serial);
                cr_assert_eq(r.type & WIRE_REPLY, WIRE_REPLY);
                cr_assert_neq(r.type, WIRE_ERROR);
        }
        cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
        cr_assert_eq(r.serial, 11);
        cr_assert_eq(r.type, WIRE_ERROR);
        cr_assert_eq(r.error, ENOENT);
        mfd = fd;
        close(mfd);
}

Test(lmmd, a_client_that_does_not_read_gets_no_more_replies_queued) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "popular", 4096);
        int fd = fixture_raw_connect(fixture_lmmd.sock), unread = 0, last = -1;
        const int n = 150;
        wire_msg r;

        /* Pipeline opens without reading: each reply carries an fd, which the
         * kernel charges to the manager while it is in flight. */
        for (int i = 0; i < n; i++)
                fixture_raw_send(fd,
                                 &(wire_msg){ .type = WIRE_OPEN,
                                              .serial = (uint32_t) i + 1,
                                              .name = "popular" },
                                 -1);

        /* Our requests that the manager has not taken off the socket: once it
         * stops reading them, this stays put. A manager that answered
         * everything would leave none (and 150 replies, 150 fds, in flight). */
        for (int i = 0; i < 200; i++) {
                usleep(10000);
                cr_assert_eq(ioctl(fd, SIOCOUTQ, &unread), 0);
                if (unread == last && i > 10)
                        break;
                last = unread;
        }
        cr_log_info("bytes of requests left unread by the manager: %d", unread);
        cr_assert_gt(unread, 0,
                     "the manager stopped reading from a peer that does not read its replies");

        /* ... and goes on as soon as the peer reads, in order, to the last one. */
        for (int k = 0; k < n; k++) {
                cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
                cr_assert_eq(r.serial, (uint32_t) k + 1);
        }
        cr_assert_eq(ioctl(fd, SIOCOUTQ, &unread), 0);
        cr_assert_eq(unread, 0, "every request was read in the end");
        close(fd);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

static void expect_dropped(int fd) {
        wire_msg r;
        /* The manager may or may not answer first; then it closes. */
        int ret = fixture_raw_recv(fd, &r, NULL);
        if (ret == 0)
                ret = fixture_raw_recv(fd, &r, NULL);
        cr_assert_eq(ret, -ECONNRESET, "connection closed, got %d", ret);
        close(fd);
}

Test(lmmd, protocol_violations_cost_only_that_connection) {
        lmm_client *c = fixture_client();
        lmm_segment *s = fixture_create(c, "bystander", 4096);
        int base = harness_settled_fds(fixture_lmmd.pid), fd, memfd;

        uint8_t junk[64];

        /* Garbage bytes. */
        fd = fixture_raw_connect(fixture_lmmd.sock);
        memset(junk, 0xa5, sizeof(junk));
        cr_assert_eq(send(fd, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t) sizeof(junk));
        expect_dropped(fd);

        /* A valid request carrying an fd it should not. */
        fd = fixture_raw_connect(fixture_lmmd.sock);
        memfd = memfd_create("intruder", MFD_CLOEXEC);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_LIST, .serial = 1 }, memfd);
        close(memfd);
        expect_dropped(fd);

        /* A reply sent as a request. */
        fd = fixture_raw_connect(fixture_lmmd.sock);
        fixture_raw_send(fd, &(wire_msg){ .type = WIRE_REPLY | WIRE_SHUTDOWN, .serial = 1 }, -1);
        expect_dropped(fd);

        /* A wrong protocol version gets told which one to speak. */
        fd = fixture_raw_connect(fixture_lmmd.sock);
        {
                uint8_t buf[WIRE_MESSAGE_MAX];
                size_t len;
                wire_msg r;

                wire_encode(&(wire_msg){ .type = WIRE_LIST, .serial = 1 }, buf, sizeof(buf), &len);
                buf[0] = 99;
                cr_assert_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t) len);
                cr_assert_eq(fixture_raw_recv(fd, &r, NULL), 0);
                cr_assert_eq(r.type, WIRE_ERROR);
                cr_assert_eq(r.error, EPROTONOSUPPORT);
                expect_dropped(fd);
        }

        /* An oversized message. */
        fd = fixture_raw_connect(fixture_lmmd.sock);
        {
                size_t big = WIRE_MESSAGE_MAX + 4096;
                uint8_t *buf = calloc(1, big);
                int sz = (int) big * 2;
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
                cr_assert_eq(send(fd, buf, big, MSG_NOSIGNAL), (ssize_t) big);
                free(buf);
        }
        expect_dropped(fd);

        /* Everyone else is still served, and the manager holds no more fds than before. */
        cr_assert_eq(lmm_block_stat(c, "bystander", &(lmm_block_info){}), 0);
        cr_assert_eq(harness_settled_fds(fixture_lmmd.pid), base);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(lmmd, no_fd_leaks_in_manager_or_client) {
        lmm_client *c = fixture_client();
        int mbase, cbase;

        /* A round trip first, so that the manager has accepted us before we count. */
        cr_assert_eq(n_blocks(c), 0);
        mbase = harness_settled_fds(fixture_lmmd.pid);
        cbase = harness_count_fds(0);

        for (int i = 0; i < 200; i++) {
                char name[32];
                lmm_segment *s, *o = NULL, *r = NULL;

                snprintf(name, sizeof(name), "cycle-%d", i);
                s = fixture_create(c, name, 4096 * (1 + i % 4));
                cr_assert_eq(lmm_segment_open(c, name, 0, &o), 0);
                cr_assert_eq(lmm_segment_open(c, name, LMM_OPEN_RDONLY, &r), 0);
                map(s, 0);
                map(r, 1);
                cr_assert_eq(lmm_segment_open(c, "no-such", 0, &(lmm_segment *){ NULL }), -ENOENT);
                cr_assert_eq(lmm_block_release(c, name), 0);
                lmm_segment_unref(s);
                lmm_segment_unref(o);
                lmm_segment_unref(r);
        }
        cr_assert_eq(harness_count_fds(0), cbase, "client fds back to where they started");
        cr_assert_eq(harness_settled_fds(fixture_lmmd.pid), mbase,
                     "manager fds back to where they started");
        cr_assert_eq(n_blocks(c), 0);
        lmm_client_unref(c);
}

Test(lmmd, memory_is_freed_when_the_last_holder_closes) {
        const uint64_t size = 256 << 20;
        uint64_t base, peak, after = 0;
        lmm_client *c = fixture_client();
        char name[64], memfd[80];
        /* memfd names are seen system-wide: one of our own, for tests running beside. */
        snprintf(name, sizeof(name), "big-%d", (int) getpid());
        snprintf(memfd, sizeof(memfd), "lmm:%s", name);
        lmm_segment *s = fixture_create(c, name, size);
        char *p = map(s, 0);

        base = harness_shmem_kib();
        memset(p, 0x5a, size);
        peak = harness_shmem_kib();
        cr_assert_gt(peak, base + 200 * 1024, "Shmem grew by the block (%lu -> %lu KiB)", base,
                     peak);

        cr_assert(harness_memfd_anywhere(memfd));
        cr_assert_eq(lmm_block_release(c, name), 0);
        cr_assert(harness_memfd_anywhere(memfd), "we still hold it");
        lmm_segment_unref(s);
        cr_assert_not(harness_memfd_anywhere(memfd), "no process holds or maps it");
        /* Freed memory leaves Shmem at once; allow for other tests running beside. */
        for (int i = 0; i < 100; i++) {
                after = harness_shmem_kib();
                if (after < base + 64 * 1024)
                        break;
                usleep(10000);
        }
        cr_assert_lt(after, base + 64 * 1024, "Shmem back near %lu KiB, is %lu KiB", base, after);
        cr_log_info("Shmem: %lu KiB before, %lu with the block touched, %lu after release+close",
                    base, peak, after);
        lmm_client_unref(c);
}

Test(lmmd, freeze_publishes_then_shares) {
        lmm_client *c = fixture_client();
        lmm_segment *w = fixture_create(c, "frozen", 4096), *r = NULL;
        char *pw = map(w, 0), *pr;
        lmm_block_info info;

        strcpy(pw, "draft");
        cr_assert_eq(lmm_block_freeze(c, "frozen"), 0);
        strcpy(pw, "final"); /* the existing writable mapping keeps working */
        cr_assert_eq(lmm_block_stat(c, "frozen", &info), 0);
        cr_assert(info.flags & LMM_BLOCK_FROZEN);
        cr_assert(info.seals & F_SEAL_FUTURE_WRITE);

        /* Even a read-write open can no longer map writable, nor write(). */
        cr_assert_eq(lmm_segment_open(c, "frozen", 0, &r), 0);
        pr = map(r, 1);
        cr_assert_str_eq(pr, "final");
        cr_assert_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, lmm_segment_get_fd(r), 0),
                     MAP_FAILED);
        cr_assert_eq(errno, EPERM);
        cr_assert_eq(pwrite(lmm_segment_get_fd(r), "x", 1, 0), -1);
        cr_assert_eq(errno, EPERM);
        /* ... nor through a reopen of /proc/self/fd: the seal is on the inode. */
        {
                int fd2 = -1;
                cr_assert_eq(fd_reopen(lmm_segment_get_fd(r), O_RDWR, &fd2), 0);
                cr_assert_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0),
                             MAP_FAILED);
                close(fd2);
        }
        lmm_segment_unref(w);
        lmm_segment_unref(r);
        lmm_client_unref(c);
}

Test(lmmd, list_pages_through_many_blocks) {
        lmm_client *c = fixture_client();
        lmm_segment *s[600];
        lmm_block_info *b = NULL;
        size_t n = 0;

        for (int i = 0; i < 600; i++) {
                char name[32];
                snprintf(name, sizeof(name), "many-%03d", i);
                s[i] = fixture_create(c, name, 4096);
        }
        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        cr_assert_eq(n, 600, "more than one page (%d per page)", (int) WIRE_LIST_MAX);
        for (int i = 0; i < 600; i++) {
                char name[32];
                snprintf(name, sizeof(name), "many-%03d", i);
                cr_assert_str_eq(b[i].name, name);
                cr_assert_eq(b[i].size, 4096);
                cr_assert_eq(b[i].owner_uid, geteuid());
                cr_assert_eq(b[i].owner_pid, getpid());
                lmm_segment_unref(s[i]);
        }
        free(b);
        lmm_client_unref(c);
}

Test(lmmd, unnamed_blocks_get_a_name) {
        lmm_client *c = fixture_client();
        lmm_segment *s = NULL, *o = NULL;

        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 100 }, &s), 0);
        cr_assert_eq(strncmp(lmm_segment_get_name(s), "lmm_", 4), 0);
        cr_assert_eq(lmm_segment_open(c, lmm_segment_get_name(s), 0, &o), 0);
        cr_assert_eq(lmm_segment_get_size(o), 100);
        lmm_segment_unref(s);
        lmm_segment_unref(o);
        lmm_client_unref(c);
}

Test(lmmd, many_clients_at_once) {
        pid_t pids[24];

        for (int i = 0; i < 24; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        lmm_client *c = NULL;
                        char name[32];

                        if (lmm_client_connect(fixture_lmmd.sock, &c) < 0)
                                _exit(10);
                        for (int k = 0; k < 20; k++) {
                                lmm_segment *s = NULL, *o = NULL;
                                char *p = NULL, *q = NULL;

                                snprintf(name, sizeof(name), "c%d-%d", i, k);
                                if (lmm_segment_create(
                                            c, &(lmm_segment_opts){ .size = 4096, .name = name },
                                            &s) < 0 ||
                                    lmm_segment_map(s, 0, (void **) &p) != 0)
                                        _exit(11);
                                strcpy(p, name);
                                if (lmm_segment_open(c, name, 0, &o) < 0 ||
                                    lmm_segment_map(o, 0, (void **) &q) != 0 ||
                                    strcmp(q, name) != 0)
                                        _exit(12);
                                if (lmm_block_release(c, name) < 0)
                                        _exit(13);
                                lmm_segment_unref(s);
                                lmm_segment_unref(o);
                        }
                        lmm_client_unref(c);
                        _exit(0);
                }
        }
        for (int i = 0; i < 24; i++)
                cr_assert_eq(harness_wait_exit(pids[i], 30000), 0, "client %d", i);
        lmm_client *c = fixture_client();
        cr_assert_eq(n_blocks(c), 0);
        lmm_client_unref(c);
}

Test(lmmd, huge_pages_fail_clearly_when_none_are_free) {
        lmm_client *c = fixture_client();
        lmm_segment *s = NULL;
        uint64_t free_bytes = 0;

        if (hugepage_size() == 0)
                cr_skip_test("this kernel has no huge pages");
        cr_assert_eq(hugepages_free_bytes(&free_bytes), 0);
        if (free_bytes >= 2 * hugepage_size())
                cr_skip_test("huge pages are reserved here; the failure path cannot be shown");
        cr_assert_eq(lmm_segment_create(c,
                                        &(lmm_segment_opts){ .size = 3 * hugepage_size(),
                                                             .name = "hp",
                                                             .flags = LMM_CREATE_HUGETLB },
                                        &s),
                     -ENOMEM);
        cr_assert(strstr(lmm_client_last_error(c), "free huge pages"), "%s",
                  lmm_client_last_error(c));
        cr_assert(strstr(lmm_client_last_error(c), "nr_hugepages"));
        lmm_client_unref(c);
}

/* ---- policy: who may use the socket ---- */

TestSuite(policy, .fini = fixture_lmmd_stop, .timeout = 60);

static int as_uid(uid_t uid, const char *sock, const char *name) {
        pid_t pid = fork();

        if (pid == 0) {
                lmm_client *c = NULL;
                lmm_segment *s = NULL;
                int r;

                if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                        _exit(100);
                r = lmm_client_connect(sock, &c);
                if (r < 0)
                        _exit(101);
                r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = name }, &s);
                if (r == -EACCES && strstr(lmm_client_last_error(c) ?: "", "is not allowed"))
                        _exit(1);
                _exit(r == 0 ? 0 : r < 0 && -r < 100 ? 100 + -r : 99);
        }
        return harness_wait_exit(pid, 10000);
}

Test(policy, only_allowed_uids_are_served, .timeout = 60) {
        const char *args[] = { "--allow-uid", "12345", NULL };
        lmm_client *c;
        lmm_block_info *b = NULL;
        size_t n = 0;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as other uids");
        fixture_lmmd_start_with(args);
        /* The socket is open to all so that SO_PEERCRED decides, not the file mode. */
        chmod(fixture_lmmd.dir, 0755);
        struct stat st;
        cr_assert_eq(stat(fixture_lmmd.sock, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0666);

        int rc = as_uid(65534, fixture_lmmd.sock, "intruder");
        cr_assert_eq(rc, 1, "uid 65534 is refused with EACCES (child exit %d)", rc);
        cr_assert_eq(as_uid(12345, fixture_lmmd.sock, "guest"), 0, "uid 12345 is allowed");

        c = fixture_client();
        cr_assert_eq(lmm_block_list(c, &b, &n), 0);
        cr_assert_eq(n, 1, "only the allowed uid's block exists");
        cr_assert_str_eq(b[0].name, "guest");
        cr_assert_eq(b[0].owner_uid, 12345);
        free(b);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

Test(policy, read_only_is_real_for_another_uid) {
        const char *args[] = { "--allow-uid", "12345", NULL };
        lmm_client *c;
        lmm_segment *s = NULL;
        pid_t pid;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as another uid");
        fixture_lmmd_start_with(args);
        chmod(fixture_lmmd.dir, 0755);
        c = fixture_client();
        /* Shared read-only with other users: without it uid 12345 could not open it at all. */
        cr_assert_eq(lmm_segment_create(c,
                                        &(lmm_segment_opts){ .size = 4096,
                                                             .name = "mine",
                                                             .flags = LMM_CREATE_OTHERS_READ },
                                        &s),
                     0);

        pid = fork();
        if (pid == 0) {
                lmm_client *g = NULL;
                lmm_segment *o = NULL;
                char path[64];
                int fd;

                if (setgroups(0, NULL) < 0 || setgid(12345) < 0 || setuid(12345) < 0)
                        _exit(100);
                if (lmm_client_connect(fixture_lmmd.sock, &g) < 0 ||
                    lmm_segment_open(g, "mine", LMM_OPEN_RDONLY, &o) < 0)
                        _exit(101);
                /* The /proc/self/fd reopen that works for the owner's uid does not here:
                 * blocks are 0600, owned by the manager's uid. */
                snprintf(path, sizeof(path), "/proc/self/fd/%d", lmm_segment_get_fd(o));
                fd = open(path, O_RDWR | O_CLOEXEC);
                if (fd >= 0)
                        _exit(1);
                _exit(errno == EACCES ? 0 : 102);
        }
        cr_assert_eq(harness_wait_exit(pid, 10000), 0,
                     "a read-only fd stays read-only for uid 12345");
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(policy, default_socket_is_private) {
        struct stat st;

        fixture_lmmd_start();
        cr_assert_eq(stat(fixture_lmmd.sock, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0600);
        cr_assert_eq(harness_lmmd_stop(&fixture_lmmd), 0);
}

Test(policy, limits_are_per_user) {
        const char *args[] = { "--max-bytes", "1M", "--max-blocks", "3", NULL };
        lmm_client *c;
        lmm_segment *s[4] = {};

        fixture_lmmd_start_with(args);
        c = fixture_client();
        cr_assert_eq(lmm_segment_create(
                             c, &(lmm_segment_opts){ .size = 2 << 20, .name = "too-big" }, &s[0]),
                     -EDQUOT);
        cr_assert_str_eq(
                lmm_client_last_error(c),
                "cannot create block \"too-big\" (2 MiB): exceeds per-user limit of 1 MiB");
        for (int i = 0; i < 3; i++)
                cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s[i]), 0);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s[3]), -EDQUOT);
        cr_assert(strstr(lmm_client_last_error(c), "the per-user limit"));
        /* Releasing gives the room back. */
        cr_assert_eq(lmm_block_release(c, lmm_segment_get_name(s[0])), 0);
        lmm_segment_unref(s[0]);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s[0]), 0);
        for (int i = 0; i < 3; i++)
                lmm_segment_unref(s[i]);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

Test(policy, a_path_that_is_not_a_socket_is_never_removed) {
        char dir[] = "/tmp/lmm-notsock-XXXXXX", path[300], err[512];
        const char *lmmd = harness_getenv("LMMD");
        int fd;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/notes.txt", dir);
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        const char *argv[] = { lmmd, "--socket", path, NULL };
        cr_assert_eq(harness_run(argv, NULL, NULL, 0, err, sizeof(err)), 1);
        cr_assert(strstr(err, "is not a socket"), "%s", err);
        cr_assert_eq(access(path, F_OK), 0, "the file is still there");
        unlink(path);
        rmdir(dir);
}

Test(policy, a_holder_that_seals_the_seals_makes_shutdown_fail_loudly) {
        lmm_client *c;
        lmm_segment *s = NULL;

        fixture_lmmd_start();
        c = fixture_client();
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "sealed" }, &s),
                0);
        /* Any read-write holder may do this; the kernel allows it. */
        cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_ADD_SEALS, F_SEAL_SEAL), 0);
        cr_assert_eq(lmm_block_freeze(c, "sealed"), -EPERM);
        cr_assert_eq(lmm_client_shutdown_manager(c), 0);
        cr_assert_eq(fixture_lmmd_wait_exit(5000), 1, "lmmd says the shutdown was not complete");
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

Test(policy, the_fd_limit_caps_blocks_over_all_users) {
        struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
        lmm_client *c;
        int made = 0, r = 0;

        /* lmmd inherits this and cannot raise it: 32 blocks at most. */
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        fixture_lmmd_start();
        c = fixture_client();
        while (made < 100) {
                lmm_segment *s = NULL;
                r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s);
                if (r < 0)
                        break;
                lmm_segment_unref(s);
                made++;
        }
        cr_assert_eq(r, -EMFILE, "%s", strerror(-r));
        cr_assert_eq(made, 32);
        cr_assert(strstr(lmm_client_last_error(c), "its limit (RLIMIT_NOFILE)"), "%s",
                  lmm_client_last_error(c));
        /* The manager is fine and still serves. */
        cr_assert_eq(lmm_block_stat(c, "lmm_0000000000000001", &(lmm_block_info){}), 0);
        lmm_client_unref(c);
}

Test(policy, a_second_manager_does_not_steal_the_socket) {
        harness_lmmd other;
        const char *lmmd = harness_getenv("LMMD");
        char err[512];

        fixture_lmmd_start();
        const char *argv[] = { lmmd, "--socket", fixture_lmmd.sock, NULL };
        cr_assert_eq(harness_run(argv, NULL, NULL, 0, err, sizeof(err)), 1);
        cr_assert(strstr(err, "another manager is serving it"), "%s", err);
        (void) other;
        fixture_lmmd_stop();
}
