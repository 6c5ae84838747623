/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-ownership — a block belongs to its owner, attacked as another user
 * would: a real lmmd serving root and two other uids (--allow-uid), the
 * attacker a child process that has dropped to one of them. Each attack
 * runs while the prober (a well-behaved client that STATs every 10 ms) is
 * watched: it must see no failure and a p99 under 50 ms.
 *
 * The attacks (docs/security.md has the threat model):
 *   - every route to writing a block shared read-only: an O_RDWR open,
 *     write(), a writable mapping, mprotect(), a /proc/self/fd reopen,
 *     fallocate(PUNCH_HOLE), ftruncate(), and each seal that would freeze,
 *     write-seal or seal-seal it under its owner;
 *   - an unshared block: not openable, not stat-able, not listed, by a bare
 *     name or by UID/NAME;
 *   - an adopted memfd, made 0777 by memfd_create(): reopened read-write by
 *     another uid holding a read-only fd (shown to work on a plain memfd);
 *   - a name squatted before its owner uses it;
 *   - other users filling the manager's fd table: root still creates.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "lmm.h"
#include "missing.h"
#include "prober.h"

#define ATTACKER 12345
#define BYSTANDER 12346

static prober *watch;

static void start(void) {
        static const char *const args[] = { "--allow-uid", "12345", "--allow-uid", "12346", NULL };
        lmm_client *c;

        if (geteuid() != 0)
                return; /* each test skips */
        fixture_lmmd_start_with(args);
        /* The directory as a system lmmd has it: others may reach the socket. */
        cr_assert_eq(chmod(fixture_lmmd.dir, 0755), 0);
        c = fixture_client();
        lmm_segment_unref(fixture_create(c, "probe", 4096));
        lmm_client_unref(c);
        cr_assert_eq(prober_start(fixture_lmmd.sock, "probe", 10, &watch), 0);
}

static void stop(void) {
        prober_stats st;

        if (watch) {
                prober_stop(watch, &st);
                watch = NULL;
                cr_log_info("prober: %u calls, %u failed, p50 %llu us, p99 %llu us, max %llu us",
                            st.calls, st.failures, (unsigned long long) st.p50_us,
                            (unsigned long long) st.p99_us, (unsigned long long) st.max_us);
                cr_expect_eq(st.failures, 0, "the prober failed %u times (first: %s)", st.failures,
                             strerror(-st.first_error));
                cr_expect_lt(st.p99_us, PROBER_P99_MAX_USEC, "the prober's p99 was %llu us",
                             (unsigned long long) st.p99_us);
        }
        fixture_lmmd_stop();
}

TestSuite(ownership, .init = start, .fini = stop, .timeout = 60);

static void need_root(void) {
        if (geteuid() != 0)
                cr_skip_test("needs root to act as other uids");
}

/* as_uid() - run @fn in a child that is @uid (no groups); Return: its exit status. */
static int as_uid(uid_t uid, int (*fn)(void *), void *arg) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                        _exit(200);
                _exit(fn(arg));
        }
        return harness_wait_exit(pid, 20000);
}

static lmm_segment *create_shared(lmm_client *c, const char *name, uint32_t flags) {
        lmm_segment *s = NULL;
        int r = lmm_segment_create(
                c, &(lmm_segment_opts){ .size = 4096, .name = name, .flags = flags }, &s);

        cr_assert_eq(r, 0, "create %s: %s (%s)", name, strerror(-r),
                     lmm_client_last_error(c) ?: "");
        return s;
}

static lmm_client *child_client(void) {
        lmm_client *c = NULL;

        if (lmm_client_connect(fixture_lmmd.sock, &c) < 0)
                _exit(201);
        return c;
}

/* ---- a block shared read-only ---- */

/* Exit 0 when every route failed; else the number of the route that wrote. */
static int try_to_write(void *arg) {
        lmm_client *c = child_client();
        lmm_segment *s = NULL;
        char path[64];
        void *p;
        int fd;

        (void) arg;
        if (lmm_segment_open(c, "ro", 0, &s) != -EACCES)
                return 1;
        if (lmm_segment_open(c, "ro", LMM_OPEN_RDONLY, &s) < 0)
                return 202;
        fd = lmm_segment_get_fd(s);
        if (write(fd, "x", 1) >= 0 || pwrite(fd, "x", 1, 0) >= 0)
                return 2;
        if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED)
                return 3;
        p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return 203;
        if (mprotect(p, 4096, PROT_READ | PROT_WRITE) == 0 || errno != EACCES)
                return 4;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (open(path, O_RDWR | O_CLOEXEC) >= 0 || errno != EACCES)
                return 5;
        if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0)
                return 6;
        if (ftruncate(fd, 0) == 0)
                return 7;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0)
                return 8;
        if (((const char *) p)[0] != 'A')
                return 204;
        /* The owner's work goes on: FREEZE is refused to us. */
        if (lmm_block_freeze(c, "ro") != -EPERM || lmm_block_release(c, "ro") != -EPERM)
                return 9;
        return 0;
}

Test(ownership, a_block_shared_read_only_cannot_be_written_any_way) {
        lmm_client *c;
        lmm_segment *s;
        lmm_block_info info;
        char *p;
        int rc;

        need_root();
        c = fixture_client();
        s = create_shared(c, "ro", LMM_CREATE_OTHERS_READ);
        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        memset(p, 'A', 4096);

        rc = as_uid(ATTACKER, try_to_write, NULL);
        cr_assert_eq(rc, 0, "uid %d wrote a read-only block by route %d", ATTACKER, rc);

        /* Nothing the attacker tried stuck: the owner freezes, and the data is whole. */
        cr_assert_eq(lmm_block_freeze(c, "ro"), 0);
        cr_assert_eq(lmm_block_stat(c, "ro", &info), 0);
        cr_assert_eq(info.seals & (F_SEAL_WRITE | F_SEAL_SEAL), 0);
        for (int i = 0; i < 4096; i++)
                cr_assert_eq(p[i], 'A');
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---- a block not shared ---- */

static int try_to_find(void *arg) {
        lmm_client *c = child_client();
        lmm_segment *s = NULL;
        lmm_block_info info, *all = NULL;
        size_t n = 0;

        (void) arg;
        if (lmm_segment_open(c, "private", LMM_OPEN_RDONLY, &s) != -ENOENT ||
            lmm_segment_open(c, "0/private", LMM_OPEN_RDONLY, &s) != -ENOENT)
                return 1;
        if (lmm_block_stat(c, "0/private", &info) != -ENOENT)
                return 2;
        if (lmm_block_list(c, &all, &n) < 0)
                return 200;
        for (size_t i = 0; i < n; i++)
                if (all[i].owner_uid != ATTACKER && !(all[i].flags & LMM_BLOCK_OTHERS_READ))
                        return 3; /* saw what it may not open */
        free(all);
        return 0;
}

Test(ownership, an_unshared_block_is_not_there_for_another_uid) {
        lmm_client *c;
        lmm_segment *s;
        int rc;

        need_root();
        c = fixture_client();
        s = create_shared(c, "private", 0);
        rc = as_uid(ATTACKER, try_to_find, NULL);
        cr_assert_eq(rc, 0, "uid %d found an unshared block (%d)", ATTACKER, rc);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---- an adopted memfd keeps no mode that lets others in ---- */

static int reopen_rw(void *arg) {
        char path[64];
        int fd;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", *(int *) arg);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return errno == EACCES ? 0 : 200;
        return write(fd, "B", 1) == 1 ? 1 : 2;
}

Test(ownership, an_adopted_memfd_cannot_be_reopened_read_write_by_another_uid) {
        lmm_client *c;
        lmm_segment *s = NULL;
        char path[64];
        struct stat st;
        int memfd, ro;

        need_root();
        c = fixture_client();
        memfd = memfd_create("adoptee", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(memfd, 0);
        cr_assert_eq(ftruncate(memfd, 4096), 0);
        cr_assert_eq(fstat(memfd, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0777, "memfd_create() makes it 0777");

        /* The attack is real: a read-only fd of a 0777 memfd, reopened read-write. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(ro, 0);
        cr_assert_eq(as_uid(ATTACKER, reopen_rw, &ro), 1, "the control: another uid writes");
        close(ro);

        cr_assert_eq(lmm_segment_adopt(c, memfd, "adopted", LMM_CREATE_OTHERS_READ, &s), 0, "%s",
                     lmm_client_last_error(c) ?: "");
        cr_assert_eq(fstat(memfd, &st), 0);
        cr_assert_eq(st.st_mode & 0077, 0, "mode %04o after adopt", st.st_mode & 07777);
        ro = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(ro, 0);
        cr_assert_eq(as_uid(ATTACKER, reopen_rw, &ro), 0, "after adopt: refused");
        close(ro);
        close(memfd);
        lmm_segment_unref(s);
        lmm_client_unref(c);
}

/* ---- names ---- */

static int squat(void *arg) {
        lmm_client *c = child_client();
        lmm_segment *s = NULL;

        (void) arg;
        return lmm_segment_create(c,
                                  &(lmm_segment_opts){ .size = 4096,
                                                       .name = "owner-config",
                                                       .flags = LMM_CREATE_OTHERS_WRITE },
                                  &s) == 0
                       ? 0
                       : 1;
}

Test(ownership, a_squatted_name_never_reaches_its_owner) {
        lmm_client *c;
        lmm_segment *s = NULL, *mine;
        lmm_block_info info;

        need_root();
        cr_assert_eq(as_uid(ATTACKER, squat, NULL), 0, "the attacker creates the name first");
        c = fixture_client();
        cr_assert_eq(lmm_segment_open(c, "owner-config", 0, &s), -ENOENT,
                     "the owner's open does not land on the attacker's block");
        mine = fixture_create(c, "owner-config", 4096);
        cr_assert_eq(lmm_block_stat(c, "owner-config", &info), 0);
        cr_assert_eq(info.owner_uid, 0);
        /* The attacker's block is still there, under its own name, for whoever asks for it. */
        cr_assert_eq(lmm_block_stat(c, "12345/owner-config", &info), 0);
        cr_assert_eq(info.owner_uid, ATTACKER);
        lmm_segment_unref(mine);
        lmm_client_unref(c);
}

/* ---- limits over all users ---- */

static int fill(void *arg) {
        lmm_client *c = child_client();
        int n = 0;

        (void) arg;
        for (;;) {
                lmm_segment *s = NULL;
                int r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s);

                if (r == -EMFILE)
                        return n;
                if (r < 0)
                        return 250;
                n++; /* kept in the manager; our fd goes */
                lmm_segment_unref(s);
        }
}

TestSuite(limits, .fini = fixture_lmmd_stop, .timeout = 60);

Test(limits, other_users_cannot_lock_out_root) {
        static const char *const args[] = { "--allow-uid", "12345", "--allow-uid", "12346", NULL };
        struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
        lmm_client *c;
        int a, b, mine = 0;

        need_root();
        /* lmmd inherits this: 32 blocks in all, 28 of them for other users. */
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        fixture_lmmd_start_with(args);
        cr_assert_eq(chmod(fixture_lmmd.dir, 0755), 0);
        a = as_uid(ATTACKER, fill, NULL);
        b = as_uid(BYSTANDER, fill, NULL);
        cr_assert_eq(a + b, 28, "other users made %d + %d blocks", a, b);
        c = fixture_client();
        for (;; mine++) {
                lmm_segment *s = NULL;
                int r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s);

                if (r < 0) {
                        cr_assert_eq(r, -EMFILE);
                        break;
                }
                lmm_segment_unref(s);
        }
        cr_assert_eq(mine, 4, "root still had the room kept for it");
        lmm_client_unref(c);
}
