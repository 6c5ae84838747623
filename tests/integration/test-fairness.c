/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fair under load (issue 8, section 3), each attack in real processes
 * against the built lmmd, as another uid: one uid's many connections do not
 * starve another uid, a refused uid cannot flood the log, and a socket
 * directory that another user could change is refused.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"
#include "prober.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

/* The uid that attacks, allowed with --allow-uid (nobody: refused). */
#define ATTACKER_UID 12345
#define GUEST_UID 12346
#define NOBODY_UID 65534

static void need_root(void) {
        if (geteuid() != 0)
                cr_skip_test("needs root to act as other uids");
}

/* become() - in a forked child: drop to @uid for good. */
static void become(uid_t uid) {
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                _exit(100);
}

/* raw_connect() - a non-blocking connection to @path, or -errno; no asserts (children use it). */
static int raw_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        if (strlen(path) >= sizeof(sa.sun_path)) {
                close(fd);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* ---- one uid with many connections ---- */

TestSuite(fairness, .fini = fixture_lmmd_stop, .timeout = 60);

#define FLOOD_CONNS 200
/* Requests in flight per connection: what one wake-up used to serve of it. */
#define FLOOD_DEPTH 16
#define FLOOD_MS 3000

/* The flood's requests on connection @conn: CREATE, STAT, RELEASE of one
 * name, in turn, so that a third of them make a memfd. */
static int flood_send_one(int fd, unsigned conn, uint32_t serial) {
        static const uint16_t cycle[] = { WIRE_CREATE, WIRE_STAT, WIRE_RELEASE };
        uint8_t buf[512];
        wire_msg m = { .type = cycle[serial % 3], .serial = serial, .size = 4096 };
        size_t len;

        snprintf(m.name, sizeof(m.name), "flood-%u", conn);
        if (wire_encode(&m, buf, sizeof(buf), &len) < 0)
                return -EINVAL;
        return transport_send(fd, buf, len, NULL, 0, true);
}

static int flood_fds[FLOOD_CONNS];
static unsigned flood_in_flight[FLOOD_CONNS];
static uint32_t flood_serial[FLOOD_CONNS];

/* flood_fill() - bring connection @i back to FLOOD_DEPTH requests in flight. */
static void flood_fill(unsigned i) {
        while (flood_in_flight[i] < FLOOD_DEPTH &&
               flood_send_one(flood_fds[i], i, flood_serial[i]) == 0) {
                flood_serial[i]++;
                flood_in_flight[i]++;
        }
}

/*
 * flood() - in a child, as ATTACKER_UID: open FLOOD_CONNS connections and
 * keep FLOOD_DEPTH requests in flight on each for FLOOD_MS, reading every
 * reply. Writes one byte to @ready_fd once connected, then the number of
 * replies it got. Never returns.
 */
static _Noreturn void flood(const char *sock, int ready_fd) {
        struct epoll_event ev[64];
        uint64_t replies = 0, end;
        int ep;

        become(ATTACKER_UID);
        ep = epoll_create1(EPOLL_CLOEXEC);
        for (unsigned i = 0; i < FLOOD_CONNS; i++) {
                flood_fds[i] = raw_connect(sock);
                if (flood_fds[i] < 0)
                        _exit(101);
                if (epoll_ctl(ep, EPOLL_CTL_ADD, flood_fds[i],
                              &(struct epoll_event){ .events = EPOLLIN, .data.u32 = i }) < 0)
                        _exit(102);
                flood_serial[i] = 3; /* serial 0 is the manager's unasked refusal */
        }
        if (write(ready_fd, "", 1) != 1)
                _exit(103);

        for (unsigned i = 0; i < FLOOD_CONNS; i++)
                flood_fill(i);
        end = now_usec() + FLOOD_MS * 1000u;
        while (now_usec() < end) {
                int n = epoll_wait(ep, ev, ELEMENTSOF(ev), 10);

                for (int k = 0; k < n; k++) {
                        unsigned i = ev[k].data.u32;
                        uint8_t buf[WIRE_MESSAGE_MAX];
                        int got[WIRE_FDS_MAX];
                        size_t n_got = 0;
                        ssize_t len;

                        while ((len = transport_recv(flood_fds[i], buf, sizeof(buf), got,
                                                     ELEMENTSOF(got), &n_got, true)) > 0) {
                                for (size_t j = 0; j < n_got; j++)
                                        close(got[j]);
                                replies++;
                                flood_in_flight[i]--;
                        }
                        if (len == 0 || (len < 0 && len != -EAGAIN))
                                _exit(104); /* the manager dropped us: not what is tested */
                        flood_fill(i);
                }
        }
        if (write(ready_fd, &replies, sizeof(replies)) != sizeof(replies))
                _exit(105);
        _exit(0);
}

/* cpu_usec() - user and system time @pid has used. */
static uint64_t cpu_usec(pid_t pid) {
        unsigned long utime = 0, stime = 0;
        char path[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        /* After "(comm)", which has no ')' here: fields 3..13, then utime and stime. */
        cr_assert_eq(fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime),
                     2);
        fclose(f);
        return (uint64_t) (utime + stime) * 1000000u / (uint64_t) sysconf(_SC_CLK_TCK);
}

Test(fairness, many_connections_of_one_uid_do_not_starve_another_uid) {
        const char *args[] = { "--allow-uid", "12345", NULL };
        uint64_t replies = 0, cpu;
        prober_stats st;
        lmm_client *c;
        lmm_segment *s;
        prober *p;
        int pipefd[2];
        char ready;
        pid_t pid;

        need_root();
        fixture_lmmd_start_with(args);
        cr_assert_eq(chmod(fixture_lmmd.dir, 0755), 0);
        c = fixture_client();
        s = fixture_create(c, "probed", 4096);

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                flood(fixture_lmmd.sock, pipefd[1]);
        close(pipefd[1]);
        cr_assert_eq(read(pipefd[0], &ready, 1), 1, "the attacker connected %d times", FLOOD_CONNS);

        /* The well-behaved client, as root: another uid than the attacker's. */
        cpu = cpu_usec(fixture_lmmd.pid);
        cr_assert_eq(prober_start(fixture_lmmd.sock, "probed", 10, &p), 0);
        cr_assert_eq(harness_wait_exit(pid, FLOOD_MS + 10000), 0, "the attack ran to its end");
        prober_stop(p, &st);
        cpu = cpu_usec(fixture_lmmd.pid) - cpu;
        cr_assert_eq(read(pipefd[0], &replies, sizeof(replies)), (ssize_t) sizeof(replies));
        close(pipefd[0]);

        fprintf(stderr,
                "fairness: %d connections of uid %d, %u requests in flight each, %" PRIu64
                " replies in %d ms (lmmd: %.1f us of CPU each); prober (uid 0, STAT every 10 ms): "
                "%u calls, %u failed, p50 "
                "%" PRIu64 " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
                FLOOD_CONNS, ATTACKER_UID, FLOOD_DEPTH, replies, FLOOD_MS,
                replies ? (double) cpu / (double) replies : 0.0, st.calls, st.failures, st.p50_us,
                st.p99_us, st.max_us);
        cr_assert_gt(replies, 0, "the attacker was served too");
        cr_assert_eq(st.failures, 0, "first error: %s", strerror(-st.first_error));
        cr_assert_lt(st.p99_us, PROBER_P99_MAX_USEC, "p99 %" PRIu64 " us", st.p99_us);
        lmm_segment_unref(s);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

/* recv_all() - how many replies wait on @sock (non-blocking); their fds are closed. */
static unsigned recv_all(int sock) {
        unsigned n = 0;
        wire_msg r;

        while (fixture_raw_recv(sock, &r, NULL) == 0) {
                wire_msg_done(&r);
                n++;
        }
        return n;
}

/* The same, without root or timing: a manager in this process whose peers
 * have made-up uids. One pass of its loop answers the lone connection of
 * one uid, and reads no more than a quantum of the other uid's requests,
 * however many of its connections have requests waiting. */
Test(fairness, one_pass_of_the_loop_serves_every_uid_with_requests) {
        static const uid_t allowed[] = { ATTACKER_UID, GUEST_UID };
        enum { N_CONNS = 50, DEPTH = 16 };
        lmm_manager *m = fixture_manager_new(
                &(lmm_manager_opts){ .allow_uids = allowed, .n_allow_uids = 2 });
        int busy[N_CONNS], lone;
        unsigned served = 0;

        for (unsigned i = 0; i < N_CONNS; i++) {
                busy[i] = fixture_manager_connect(
                        m, &(peer_creds){ .pid = getpid(), .uid = ATTACKER_UID, .gid = 1 });
                for (uint32_t k = 1; k <= DEPTH; k++)
                        fixture_raw_send(busy[i],
                                         &(wire_msg){ .type = WIRE_STAT, .serial = k, .name = "x" },
                                         -1);
        }
        lone = fixture_manager_connect(
                m, &(peer_creds){ .pid = getpid(), .uid = GUEST_UID, .gid = 1 });
        fixture_raw_send(lone, &(wire_msg){ .type = WIRE_STAT, .serial = 1, .name = "x" }, -1);

        cr_assert_eq(lmm_manager_dispatch(m, 0), 0);
        cr_assert_eq(recv_all(lone), 1, "the lone connection is answered in the first pass");
        for (unsigned i = 0; i < N_CONNS; i++)
                served += recv_all(busy[i]);
        cr_assert_leq(served, 16, "%u of the busy uid's requests read in one pass", served);

        /* ... and the busy uid gets everything in the end, in order. */
        fixture_manager_pump(m);
        for (unsigned i = 0; i < N_CONNS; i++)
                served += recv_all(busy[i]);
        cr_assert_eq(served, N_CONNS * DEPTH);
        for (unsigned i = 0; i < N_CONNS; i++)
                close(busy[i]);
        close(lone);
        lmm_manager_free(m);
}

/* A turn reads at most REQUESTS_PER_TURN (16) requests of a connection and
 * answers them together: a lone connection that pipelines 40 gets 16 per
 * pass of the loop, in order, and the rest in the passes after. */
static void lone_connection(const lmm_manager_opts *o) {
        enum { DEPTH = 40 };
        lmm_manager *m = fixture_manager_new(o);
        int fd = fixture_manager_connect(m, NULL);
        unsigned got = 0;
        wire_msg r;

        for (uint32_t k = 1; k <= DEPTH; k++)
                fixture_raw_send(fd, &(wire_msg){ .type = WIRE_STAT, .serial = k, .name = "x" },
                                 -1);
        for (unsigned pass = 1; got < DEPTH; pass++) {
                unsigned before = got;

                cr_assert_leq(pass, 3, "40 requests in 3 passes");
                cr_assert_eq(lmm_manager_dispatch(m, 0), 0);
                while (fixture_raw_recv(fd, &r, NULL) == 0) {
                        cr_assert_eq(r.serial, ++got, "replies in the order of their requests");
                        wire_msg_done(&r);
                }
                cr_assert_eq(got - before, MIN(16u, DEPTH - before), "pass %u answered %u", pass,
                             got - before);
        }
        close(fd);
        lmm_manager_free(m);
}

/* With the default limits a turn reads its requests two at a time (a uid may
 * have 320 fds waiting to be closed, and a message can bring 253); with room
 * for 16 messages' fds, all 16 at once. Either way: 16 a pass, in order. */
Test(fairness, a_lone_connection_gets_a_turn_of_16_per_pass) {
        lone_connection(NULL);
        lone_connection(&(lmm_manager_opts){ .max_conns_per_uid = 4096 });
}

/* ---- a refused uid that connects in a loop ---- */

TestSuite(log_flood, .fini = fixture_lmmd_stop, .timeout = 60);

#define KNOCK_MS 2000

/* knock() - in a child, as nobody: connect and hang up for KNOCK_MS; write
 * the number of connects to @report_fd. Never returns. */
static _Noreturn void knock(const char *sock, int report_fd) {
        uint64_t n = 0, end;

        become(NOBODY_UID);
        end = now_usec() + KNOCK_MS * 1000u;
        while (now_usec() < end) {
                int fd = raw_connect(sock);

                if (fd < 0 && fd != -EAGAIN)
                        _exit(101);
                if (fd >= 0)
                        n++;
                safe_close(fd);
        }
        if (write(report_fd, &n, sizeof(n)) != sizeof(n))
                _exit(102);
        _exit(0);
}

Test(log_flood, a_refused_uid_that_connects_in_a_loop_cannot_flood_the_log) {
        /* With another uid allowed, the socket is open to all and the manager
         * refuses nobody itself; --verbose: refusals are LOG_NOTICE, which
         * --quiet hides. */
        const char *args[] = { "--allow-uid", "12345", "--verbose", NULL };
        static char log[64 * 1024];
        uint64_t connects = 0;
        prober_stats st;
        lmm_client *c;
        lmm_segment *s;
        prober *p;
        struct stat sb;
        int log_fd, pipefd[2];
        ssize_t len;
        pid_t pid;

        need_root();
        log_fd = memfd_create("lmmd-stderr", MFD_CLOEXEC);
        cr_assert_geq(log_fd, 0);
        cr_assert_eq(harness_lmmd_start_logged(&fixture_lmmd, args, log_fd), 0);
        cr_assert_eq(chmod(fixture_lmmd.dir, 0755), 0);
        c = fixture_client();
        s = fixture_create(c, "probed", 4096);

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        cr_assert_eq(prober_start(fixture_lmmd.sock, "probed", 10, &p), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                knock(fixture_lmmd.sock, pipefd[1]);
        close(pipefd[1]);
        {
                int rc = harness_wait_exit(pid, KNOCK_MS + 10000);
                cr_assert_eq(rc, 0, "the attack ran to its end (exit %d)", rc);
        }
        prober_stop(p, &st);
        cr_assert_eq(read(pipefd[0], &connects, sizeof(connects)), (ssize_t) sizeof(connects));
        close(pipefd[0]);
        /* A round trip: lmmd has logged what it had to about the last connects. */
        cr_assert_eq(lmm_block_stat(c, "probed", &(lmm_block_info){}), 0);

        cr_assert_eq(fstat(log_fd, &sb), 0);
        len = pread(log_fd, log, sizeof(log) - 1, 0);
        cr_assert_geq(len, 0);
        log[len] = 0;
        fprintf(stderr,
                "log_flood: uid %d connected %" PRIu64 " times in %d ms; lmmd wrote %jd bytes"
                " of log; prober: %u calls, %u failed, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
                NOBODY_UID, connects, KNOCK_MS, (intmax_t) sb.st_size, st.calls, st.failures,
                st.p99_us, st.max_us);
        cr_assert_gt(connects, 100, "the attack connected often enough to matter");
        cr_assert_lt(sb.st_size, 20 * 1024, "lmmd wrote %jd bytes of log:\n%s",
                     (intmax_t) sb.st_size, log);
        cr_assert(strstr(log, "refusing pid"), "%s", log);
        cr_assert(strstr(log, "similar messages from uid 65534)"), "%s", log);
        cr_assert_eq(st.failures, 0, "first error: %s", strerror(-st.first_error));
        cr_assert_lt(st.p99_us, PROBER_P99_MAX_USEC, "p99 %" PRIu64 " us", st.p99_us);
        close(log_fd);
        lmm_segment_unref(s);
        lmm_client_unref(c);
        fixture_lmmd_stop();
}

/* ---- a socket directory that another user could change ---- */

static char scratch[64];

static void scratch_remove(void) {
        char cmd[128];

        if (!scratch[0])
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
        cr_assert_eq(system(cmd), 0);
        scratch[0] = 0;
}

TestSuite(socket_dir, .fini = scratch_remove, .timeout = 60);

/* scratch_dir() - a fresh directory of root's, 0755, for the paths of one test. */
static const char *scratch_dir(void) {
        snprintf(scratch, sizeof(scratch), "/tmp/lmm-sockdir-XXXXXX");
        cr_assert_not_null(mkdtemp(scratch));
        cr_assert_eq(chmod(scratch, 0755), 0);
        return scratch;
}

/* sub() - @name under the scratch directory, made with @mode and owner @uid unless it exists. */
static const char *sub(const char *name, unsigned mode, uid_t uid) {
        static char path[8][128];
        static unsigned next;
        char *p = path[next++ % 8];

        snprintf(p, sizeof(path[0]), "%s/%s", scratch, name);
        if (mode) {
                cr_assert_eq(mkdir(p, 0700), 0, "mkdir %s: %m", p);
                cr_assert_eq(chmod(p, mode), 0);
                cr_assert_eq(chown(p, uid, uid), 0);
        }
        return p;
}

/* refused() - lmmd --socket @sock exits 1 at once, with one line that has @want in it. */
static void refused(const char *sock, const char *want) {
        const char *lmmd = harness_getenv("LMMD");
        char err[1024] = "";
        int pipefd[2], rc;
        ssize_t n;
        pid_t pid;

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (dup2(pipefd[1], STDERR_FILENO) < 0)
                        _exit(126);
                execl(lmmd, lmmd, "--socket", sock, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        /* A manager that serves there instead would run for ever. */
        rc = harness_wait_exit(pid, 5000);
        if (rc == -2) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        n = read(pipefd[0], err, sizeof(err) - 1);
        err[n > 0 ? n : 0] = 0;
        close(pipefd[0]);
        fprintf(stderr, "socket_dir: %s", err);
        cr_assert_eq(rc, 1, "lmmd --socket %s: exit %d (-2: still serving), %s", sock, rc, err);
        cr_assert(strstr(err, want), "want \"%s\" in: %s", want, err);
        cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
}

/* served() - lmmd --socket @sock, run as @uid, serves a client there and shuts down cleanly. */
static void served(const char *sock, uid_t uid) {
        const char *lmmd = harness_getenv("LMMD");
        lmm_client *c = NULL;
        pid_t pid = fork();
        int r = -1;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (uid != 0)
                        become(uid);
                close_range(3, ~0U, 0);
                execl(lmmd, lmmd, "--quiet", "--socket", sock, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 500 && r < 0; i++) {
                r = lmm_client_connect(sock, &c);
                if (r < 0 && waitpid(pid, NULL, WNOHANG) == pid)
                        cr_assert_fail("lmmd --socket %s (uid %u) exited", sock, (unsigned) uid);
                if (r < 0)
                        usleep(10000);
        }
        cr_assert_eq(r, 0, "lmmd --socket %s (uid %u) serves", sock, (unsigned) uid);
        cr_assert_eq(lmm_block_stat(c, "none", &(lmm_block_info){}), -ENOENT);
        lmm_client_unref(c);
        kill(pid, SIGTERM);
        cr_assert_eq(harness_wait_exit(pid, 5000), 0);
}

Test(socket_dir, a_directory_another_uid_owns_is_refused) {
        need_root();
        scratch_dir();
        sub("theirs", 0755, NOBODY_UID);
        refused(sub("theirs/lmmd.sock", 0, 0), "is owned by uid 65534, not by root or uid 0");
        cr_assert_eq(access(sub("theirs/lmmd.sock", 0, 0), F_OK), -1, "nothing was bound there");
}

Test(socket_dir, a_directory_others_can_write_is_refused_unless_sticky) {
        need_root();
        scratch_dir();
        sub("open", 0777, 0);
        refused(sub("open/lmmd.sock", 0, 0), "is writable by others (mode 0777, not sticky)");
        sub("group", 0775, 0);
        refused(sub("group/lmmd.sock", 0, 0), "is writable by its group");
        /* Like /tmp: others may add entries but not replace ours. */
        sub("sticky", 01777, 0);
        served(sub("sticky/lmmd.sock", 0, 0), 0);
        served(sub("sticky/made/lmmd.sock", 0, 0), 0);
}

Test(socket_dir, every_directory_on_the_way_is_checked) {
        need_root();
        scratch_dir();
        /* The socket's own directory is root's, 0755, but nobody can rename
         * it away from the one above, and put another in its place. */
        sub("theirs", 0755, NOBODY_UID);
        sub("theirs/mine", 0755, 0);
        refused(sub("theirs/mine/lmmd.sock", 0, 0), "/theirs is owned by uid 65534");
        /* ... nor through a symbolic link. */
        cr_assert_eq(symlink(sub("theirs", 0, 0), sub("link", 0, 0)), 0);
        refused(sub("link/lmmd.sock", 0, 0), "/theirs is owned by uid 65534");
        /* A symbolic link to a good place is fine. */
        sub("good", 0755, 0);
        cr_assert_eq(symlink("good", sub("goodlink", 0, 0)), 0);
        served(sub("goodlink/lmmd.sock", 0, 0), 0);
}

Test(socket_dir, a_directory_of_roots_or_the_managers_own_uid_is_fine) {
        need_root();
        scratch_dir();
        sub("root", 0755, 0);
        served(sub("root/lmmd.sock", 0, 0), 0);
        /* lmmd as nobody, in nobody's own directory. */
        sub("nobody", 0700, NOBODY_UID);
        served(sub("nobody/lmmd.sock", 0, 0), NOBODY_UID);
}

Test(socket_dir, a_socket_file_another_uid_left_is_never_replaced) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        pid_t pid;

        need_root();
        scratch_dir();
        sub("sticky", 01777, 0);
        cr_assert_lt(strlen(sub("sticky/lmmd.sock", 0, 0)), sizeof(sa.sun_path));
        strcpy(sa.sun_path, sub("sticky/lmmd.sock", 0, 0));
        /* nobody binds the name first, then goes: a stale socket of theirs. */
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int fd;

                become(NOBODY_UID);
                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                _exit(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 ? 0 : 1);
        }
        cr_assert_eq(harness_wait_exit(pid, 5000), 0);
        refused(sa.sun_path, "socket ");
        refused(sa.sun_path, "/sticky/lmmd.sock is owned by uid 65534");
        cr_assert_eq(access(sa.sun_path, F_OK), 0, "their socket is still there");
}
