/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-protocol-doc — docs/protocol.md's claims that a client written from
 * the document alone relies on, against a manager process: how unnamed
 * blocks are named, what ADOPT refuses and which flags it reports, the seals
 * a block has at each stage, what a peer past the manager's fd limit is
 * told, where a long error text is cut, and what sizes above 2^63-1 give.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "lmm.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static lmm_server *smm;
static lmm_client *c;

static void setup(void) {
        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        c = lmm_server_get_client(smm);
}

static void teardown(void) {
        smm = lmm_server_unref(smm);
}

TestSuite(protocol_doc, .init = setup, .fini = teardown, .timeout = 60);

static int memfd_sized(const char *name, unsigned flags, uint64_t size) {
        int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);

        cr_assert_geq(fd, 0, "memfd_create: %s", strerror(errno));
        cr_assert_eq(ftruncate(fd, (off_t) size), 0);
        return fd;
}

static lmm_block_info stat_of(const char *name) {
        lmm_block_info info;
        int r = lmm_block_stat(c, name, &info);

        cr_assert_eq(r, 0, "stat \"%s\": %s", name, strerror(-r));
        return info;
}

static const char *create_unnamed(void) {
        static char name[LMM_NAME_MAX + 1];
        lmm_segment *s = NULL;

        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s), 0);
        snprintf(name, sizeof(name), "%s", lmm_segment_get_name(s));
        lmm_segment_unref(s);
        return name;
}

Test(protocol_doc, unnamed_blocks_draw_from_one_counter_that_skips_taken_names) {
        lmm_segment *s = NULL;
        int fd = memfd_sized("adoptee", 0, 4096);

        /* Not the id: block 1 is the named one. */
        cr_assert_eq(
                lmm_segment_create(
                        c, &(lmm_segment_opts){ .size = 4096, .name = "lmm_0000000000000002" }, &s),
                0);
        lmm_segment_unref(s);
        cr_assert_eq(stat_of("lmm_0000000000000002").id, 1);
        cr_assert_str_eq(create_unnamed(), "lmm_0000000000000001");
        cr_assert_eq(stat_of("lmm_0000000000000001").id, 2);
        /* ADOPT draws from the same counter, and 2 is taken. */
        cr_assert_eq(lmm_segment_adopt(c, fd, NULL, 0, &s), 0);
        cr_assert_str_eq(lmm_segment_get_name(s), "lmm_0000000000000003");
        lmm_segment_unref(s);
        /* A request that fails after its name was drawn uses the number up. */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = INT64_MAX }, &s), -EDQUOT);
        cr_assert_str_eq(create_unnamed(), "lmm_0000000000000005");
        close(fd);
}

Test(protocol_doc, adopt_wants_o_rdwr_and_one_block_per_memfd) {
        lmm_segment *s = NULL;
        char path[64];
        int fd = memfd_sized("adoptee", 0, 4096), wo, ro, again;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        wo = open(path, O_WRONLY | O_CLOEXEC);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        again = open(path, O_RDWR | O_CLOEXEC);
        cr_assert(wo >= 0 && ro >= 0 && again >= 0);

        cr_assert_eq(lmm_segment_adopt(c, wo, "w", 0, &s), -EPERM, "write-only is refused too");
        cr_assert_eq(lmm_segment_adopt(c, ro, "r", 0, &s), -EPERM);
        cr_assert_eq(lmm_segment_adopt(c, fd, "first", 0, &s), 0);
        lmm_segment_unref(s);
        cr_assert_eq(lmm_segment_adopt(c, fd, "second", 0, &s), -EEXIST);
        cr_assert_eq(lmm_segment_adopt(c, again, "third", 0, &s), -EEXIST,
                     "another open file of the same memfd is the same block");
        cr_assert_not_null(strstr(lmm_client_last_error(c), "\"first\""));
        close(wo);
        close(ro);
        close(again);
        close(fd);
}

static bool kernel_has_noexec_seal(void) {
        int fd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

Test(protocol_doc, seals_at_creation_after_adopt_and_after_shutdown) {
        unsigned exec = kernel_has_noexec_seal() ? F_SEAL_EXEC : 0;
        unsigned at_shutdown = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
        lmm_segment *made = NULL, *adopted = NULL;
        int fd = memfd_sized("adoptee", 0, 4096);

        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "made" }, &made),
                0);
        cr_assert_eq(stat_of("made").seals, F_SEAL_SHRINK | F_SEAL_GROW | exec);
        cr_assert_eq(fcntl(lmm_segment_get_fd(made), F_GET_SEALS),
                     (int) (F_SEAL_SHRINK | F_SEAL_GROW | exec));

        cr_assert_eq(fcntl(fd, F_GET_SEALS), 0);
        cr_assert_eq(lmm_segment_adopt(c, fd, "adopted", 0, &adopted), 0);
        cr_assert_eq(stat_of("adopted").seals, F_SEAL_SHRINK | F_SEAL_GROW,
                     "what it had, plus the size seals");

        cr_assert_eq(lmm_server_shutdown(smm), 0);
        cr_assert_eq(fcntl(lmm_segment_get_fd(made), F_GET_SEALS), (int) (at_shutdown | exec));
        cr_assert_eq(fcntl(fd, F_GET_SEALS), (int) at_shutdown);
        lmm_segment_unref(made);
        lmm_segment_unref(adopted);
        close(fd);
}

Test(protocol_doc, adopt_reports_huge_pages_and_frozen_memfds) {
        lmm_segment *s = NULL;
        int future = memfd_sized("future", 0, 4096), write_sealed = memfd_sized("sealed", 0, 4096);
        int huge;

        cr_assert_eq(fcntl(future, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
        cr_assert_eq(lmm_segment_adopt(c, future, "future", 0, &s), 0);
        lmm_segment_unref(s);
        cr_assert_eq(stat_of("future").flags, LMM_BLOCK_ADOPTED | LMM_BLOCK_FROZEN);

        cr_assert_eq(fcntl(write_sealed, F_ADD_SEALS, F_SEAL_WRITE), 0);
        cr_assert_eq(lmm_segment_adopt(c, write_sealed, "write-sealed", 0, &s), 0);
        lmm_segment_unref(s);
        cr_assert_eq(stat_of("write-sealed").flags, LMM_BLOCK_ADOPTED | LMM_BLOCK_FROZEN);
        close(future);
        close(write_sealed);

        /* Without free huge pages a hugetlb memfd can still be made and
         * sized; it only cannot be mapped. */
        huge = memfd_create("huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
        if (huge < 0)
                cr_skip_test("this kernel makes no hugetlb memfds: %s", strerror(errno));
        if (ftruncate(huge, 2 << 20) < 0) {
                close(huge);
                cr_skip_test("cannot size a hugetlb memfd: %s", strerror(errno));
        }
        cr_assert_eq(lmm_segment_adopt(c, huge, "huge", 0, &s), 0);
        lmm_segment_unref(s);
        cr_assert_eq(stat_of("huge").flags, LMM_BLOCK_ADOPTED | LMM_BLOCK_HUGETLB);
        close(huge);
}

/* Whether @s is whole UTF-8: no sequence cut short. */
static bool utf8_complete(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;

                for (size_t i = 1; i < n; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                p += n;
        }
        return true;
}

Test(protocol_doc, a_long_error_text_is_cut_on_a_character_boundary) {
        char first[LMM_NAME_MAX + 1] = "", second[LMM_NAME_MAX + 1] = "";
        lmm_segment *s = NULL;
        const char *text;
        int fd = memfd_sized("adoptee", 0, 4096);

        /* The reply names both blocks: 14 + 198 + 16 + 1 bytes come
         * before the existing block's euro signs, and 255 bytes end two
         * bytes into one of them. */
        strcpy(first, "a");
        for (int i = 0; i < 66; i++) {
                strcat(first, "\xe2\x82\xac");
                strcat(second, "\xe2\x82\xac");
        }
        cr_assert_eq(lmm_segment_adopt(c, fd, first, 0, &s), 0);
        lmm_segment_unref(s);
        cr_assert_eq(lmm_segment_adopt(c, fd, second, 0, &s), -EEXIST);
        text = lmm_client_last_error(c);
        cr_assert_not_null(text);
        cr_assert_leq(strlen(text), 255);
        cr_assert_geq(strlen(text), 253, "cut at most a character short of 255 bytes");
        cr_assert(utf8_complete(text), "cut mid-character: \"%s\"", text);
        close(fd);
}

/* A raw CREATE on a connection of our own, as a client in another language sends it. */
static int raw_create(uint64_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static uint8_t buf[WIRE_MESSAGE_MAX];
        wire_msg q = { .type = WIRE_CREATE, .serial = 7, .size = size }, reply;
        int fds[WIRE_FDS_MAX], sock, error;
        size_t len, n_fds = 0;
        ssize_t n;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lmm_server_get_address(smm));
        sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        cr_assert_eq(connect(sock, (struct sockaddr *) &sa, sizeof(sa)), 0);
        cr_assert_eq(wire_encode(&q, buf, sizeof(buf), &len), 0);
        cr_assert_eq(transport_send(sock, buf, len, NULL, 0, false), 0);
        cr_assert_eq(poll(&(struct pollfd){ .fd = sock, .events = POLLIN }, 1, 5000), 1);
        n = transport_recv(sock, buf, sizeof(buf), fds, WIRE_FDS_MAX, &n_fds, false);
        cr_assert_gt(n, 0);
        cr_assert_eq(wire_decode(buf, (size_t) n, &reply), 0);
        cr_assert_eq(reply.type, WIRE_ERROR);
        cr_assert_eq(reply.serial, 7);
        error = reply.error;
        close(sock);
        return error;
}

Test(protocol_doc, sizes_above_int64_max) {
        lmm_segment *s = NULL;

        /* liblmm refuses them itself ... */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = UINT64_MAX }, &s), -EINVAL);
        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = (uint64_t) INT64_MAX + 1 }, &s),
                -EINVAL);
        cr_assert_null(lmm_client_last_error(c));
        /* ... the largest it sends is over the per-user limit ... */
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = INT64_MAX }, &s), -EDQUOT);
        /* ... and only a client that sends one itself sees EFBIG. */
        cr_assert_eq(raw_create((uint64_t) INT64_MAX + 1), EFBIG);
        cr_assert_eq(raw_create(UINT64_MAX), EFBIG);
        cr_assert_eq(raw_create(INT64_MAX), EDQUOT);
}

/* Runs in the manager process: leave it few fds. */
static int few_fds(void *arg) {
        struct rlimit rl = { .rlim_cur = 32, .rlim_max = 32 };

        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = 32;
        return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

Test(protocol_doc, a_peer_past_the_managers_fd_limit_is_told_eusers) {
        lmm_server *low = NULL;
        lmm_client *peers[40] = {};
        lmm_block_info *all = NULL;
        unsigned served = 0, refused = 0;
        size_t n;

        cr_assert_eq(lmm_server_start(&(lmm_server_opts){ .initializer = few_fds }, &low), 0);
        for (size_t i = 0; i < ELEMENTSOF(peers); i++) {
                int r;

                cr_assert_eq(lmm_client_connect(lmm_server_get_address(low), &peers[i]), 0);
                r = lmm_block_list(peers[i], &all, &n);
                if (r == 0) {
                        served++;
                        free(all);
                        continue;
                }
                cr_assert_eq(r, -EUSERS, "peer %zu: %s, not a refusal", i, strerror(-r));
                cr_assert_not_null(strstr(lmm_client_last_error(peers[i]), "file descriptors"),
                                   "%s", lmm_client_last_error(peers[i]));
                refused++;
        }
        cr_assert_gt(served, 0);
        cr_assert_gt(refused, 0, "32 fds cannot serve 40 connections");

        /* Once peers leave, there is room again. */
        for (size_t i = 0; i < ELEMENTSOF(peers); i++)
                peers[i] = lmm_client_unref(peers[i]);
        for (int tries = 0;; tries++) {
                int r;

                /* The manager may not have seen every close yet. */
                cr_assert_eq(lmm_client_connect(lmm_server_get_address(low), &peers[0]), 0);
                r = lmm_block_list(peers[0], &all, &n);
                if (r == 0)
                        break;
                cr_assert_eq(r, -EUSERS);
                cr_assert_lt(tries, 100, "no room after every peer left");
                peers[0] = lmm_client_unref(peers[0]);
                usleep(10 * 1000);
        }
        free(all);
        lmm_client_unref(peers[0]);
        cr_assert_eq(lmm_server_shutdown(low), 0);
        lmm_server_unref(low);
}
