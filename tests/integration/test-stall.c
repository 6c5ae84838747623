/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-stall — no peer can stall the manager's event loop through the last
 * close of a file it sent, not even a peer that is refused (issue 8, part 1).
 *
 * The weapon: a TCP socket over 127.0.0.1 with SO_LINGER set and a full send
 * queue toward a listener (the sink) that never accepts. Its last close()
 * waits out the linger time, in whichever thread drops the last reference.
 * Each test runs one attack against a real lmmd, from connections that a
 * process of uid 65534 made (SO_PEERCRED is what the manager judges), while
 * a prober STATs a block every 10 ms through its own connection: it must see
 * no failure, a p99 under 50 ms and no call anywhere near the linger time.
 * Closing the sink resets every lingering socket, so no close outlives its
 * test.
 *
 * The manager's close must be the last one, or it waits on nothing: the test
 * pauses lmmd (SIGSTOP) while it sends lingering sockets and drops its own
 * copies, so that the manager cannot have received them before. Once per
 * attack only: a stop signal ends every linger that waits at that moment.
 */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "prober.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define ATTACKER_UID 65534
/* Long enough that a stall cannot hide in the noise; the sink ends it sooner. */
#define LINGER_SEC 3
/* What the prober must see. A stall costs a whole linger time. */
#define P99_MAX_USEC PROBER_P99_MAX_USEC /* 50 ms; looser under a sanitizer */
#define MAX_USEC 1000000
/* The attacker's limit of fds waiting to be closed, with lmmd --max-connections
 * MAX_CONNS: one per connection, plus 64 (lib/manager.c). */
#define MAX_CONNS "16"
#define CLOSING_MAX (16 + 64)

TestSuite(stall, .fini = fixture_lmmd_stop, .timeout = 90);

/* ------------------------------------------------------------ the weapon */

static int sink_new(void) {
        int fd = harness_tcp_sink();

        cr_assert_geq(fd, 0, "no TCP sink on 127.0.0.1: %s", strerror(-fd));
        return fd;
}

static int lingering_new(int sink, int linger_sec) {
        int fd = harness_lingering_socket(sink, linger_sec);

        cr_assert_geq(fd, 0, "no lingering socket: %s", strerror(-fd));
        return fd;
}

/* ------------------------------------------------------ the attacker's means */

/* connect_as() - a connection to the manager at @path made by a process of
 * @uid, handed back here: the manager judges it by that process's credentials. */
static int connect_as(uid_t uid, const char *path) {
        uint8_t b;
        int sv[2], fd = -EBADF, status;
        size_t n_fds = 0;
        ssize_t n;
        pid_t pid;

        cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int s;

                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(100);
                s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                strcpy(sa.sun_path, path);
                if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(101);
                _exit(transport_send(sv[1], "s", 1, &s, 1, false) < 0 ? 102 : 0);
        }
        safe_close(sv[1]);
        /* The child exits right after it sent, or failed: neither wait is long. */
        n = transport_recv(sv[0], &b, 1, &fd, 1, &n_fds, false);
        safe_close(sv[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the uid %u child could not connect", (unsigned) uid);
        cr_assert_eq(n, 1);
        cr_assert_eq(n_fds, 1);
        return fd;
}

static size_t encode(const wire_msg *m, uint8_t *buf) {
        size_t len;

        cr_assert_eq(wire_encode(m, buf, WIRE_MESSAGE_MAX, &len), 0);
        return len;
}

/* send_fds() - one record with any number of fds (borrowed), which
 * transport_send() would refuse to make. */
static void send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds) {
        int r = transport_send_raw(sock, buf, len, fds, n_fds, false);

        cr_assert_eq(r, 0, "send: %s", strerror(-r));
}

/* send_request_fds() - @type about block "probe" (LIST: from the start), with @fds (borrowed). */
static void send_request_fds(int sock, uint16_t type, const int *fds, size_t n_fds) {
        static uint8_t buf[WIRE_MESSAGE_MAX];
        wire_msg m = { .type = type, .serial = 1 };

        strcpy(m.name, type == WIRE_ADOPT ? "adopted" : "probe");
        send_fds(sock, buf, encode(&m, buf), fds, n_fds);
}

/* send_request() - the same with @fd (borrowed; < 0: none). */
static void send_request(int sock, uint16_t type, int fd) {
        send_request_fds(sock, type, &fd, fd >= 0);
}

/* reply_within() - receive one message in @ms; false when none came. */
static bool reply_within(int sock, int ms, wire_msg *ret) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int r;

        if (poll(&p, 1, ms) <= 0)
                return false;
        r = fixture_raw_recv(sock, ret, NULL);
        /* A manager that closes on unread requests makes the kernel report
         * ECONNRESET once, ahead of what it sent last. */
        if (r == -ECONNRESET)
                r = fixture_raw_recv(sock, ret, NULL);
        return r == 0;
}

/* ---------------------------------------------------------- lmmd, paused */

static char lmmd_state(void) {
        char path[64], buf[512], *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) fixture_lmmd.pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        n = read(fd, buf, sizeof(buf) - 1);
        safe_close(fd);
        cr_assert_gt(n, 0);
        buf[n] = 0;
        p = strrchr(buf, ')');
        cr_assert_not_null(p);
        return p[2];
}

/* lmmd_pause() - stop lmmd, and wait until it is stopped: it receives nothing until lmmd_resume(). */
static void lmmd_pause(void) {
        cr_assert_eq(kill(fixture_lmmd.pid, SIGSTOP), 0);
        for (int i = 0; i < 5000 && lmmd_state() != 'T'; i++)
                usleep(200);
        cr_assert_eq(lmmd_state(), 'T', "lmmd did not stop");
}

static void lmmd_resume(void) {
        cr_assert_eq(kill(fixture_lmmd.pid, SIGCONT), 0);
}

/* -------------------------------------------------------------- an attack */

typedef struct attack {
        lmm_client *client;
        lmm_segment *probe;
        prober *prober;
        int sink;
        int conn; /* the attacker's connection, made as ATTACKER_UID */
        int base_fds;
} attack;

/* attack_begin() - lmmd with @args, block "probe", the prober running, a sink
 * and, unless @refused, the attacker's connection. */
static void attack_begin(attack *a, const char *const *args, bool refused) {
        fixture_lmmd_start_with(args);
        cr_assert_eq(chmod(fixture_lmmd.dir, 0755), 0); /* let uid 65534 reach the socket */
        a->client = fixture_client();
        a->probe = fixture_create(a->client, "probe", 4096);
        cr_assert_eq(prober_start(fixture_lmmd.sock, "probe", 10, &a->prober), 0);
        a->sink = sink_new();
        a->conn = refused ? -EBADF : connect_as(ATTACKER_UID, fixture_lmmd.sock);
        a->base_fds = harness_settled_fds(fixture_lmmd.pid);
        usleep(100 * 1000); /* a few calls before the attack */
}

/* attack_end() - let the prober run on a little, stop it, end every linger,
 * print what the prober saw and judge it. lmmd keeps running. */
static void attack_end(attack *a, const char *what) {
        prober_stats st;

        usleep(500 * 1000);
        prober_stop(a->prober, &st);
        a->sink = safe_close(a->sink); /* resets every lingering socket: no close waits on */
        fprintf(stderr,
                "stall: %-44s calls %4u failures %u p50 %6.1f ms p99 %7.1f ms max %7.1f ms\n", what,
                st.calls, st.failures, st.p50_us / 1000.0, st.p99_us / 1000.0, st.max_us / 1000.0);
        lmm_segment_unref(a->probe);
        lmm_client_unref(a->client);
        cr_expect_eq(st.failures, 0, "%s: %u STATs failed, the first with %s", what, st.failures,
                     strerror(-st.first_error));
        cr_expect_lt(st.p99_us, P99_MAX_USEC, "%s: p99 %" PRIu64 " us", what, st.p99_us);
        cr_expect_lt(st.max_us, MAX_USEC, "%s: a STAT waited %" PRIu64 " us", what, st.max_us);
}

static void attack_done(attack *a) {
        safe_close(a->conn);
}

static const char *const allow_attacker[] = { "--allow-uid", "65534", NULL };

/* ---------------------------------------------------------------- attacks */

/* More fds than the control buffer holds: the kernel used to drop the extra
 * ones inside recvmsg(), on the loop's thread. */
Test(stall, three_fds_in_one_message) {
        int fds[3];
        attack a;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as uid %d", ATTACKER_UID);
        attack_begin(&a, allow_attacker, false);
        fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[1] = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[2] = lingering_new(a.sink, LINGER_SEC);
        lmmd_pause();
        send_request_fds(a.conn, WIRE_STAT, fds, 3);
        close_many(fds, 3);
        lmmd_resume();
        attack_end(&a, "3 fds in one message");
        attack_done(&a);
}

/* A malformed record, then at once a message with a lingering socket: the
 * manager closes the connection with that message still queued, and the
 * socket's release drops the queued fd. */
Test(stall, malformed_record_then_a_lingering_socket) {
        wire_msg r;
        int l;
        attack a;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as uid %d", ATTACKER_UID);
        attack_begin(&a, allow_attacker, false);
        l = lingering_new(a.sink, LINGER_SEC);
        lmmd_pause();
        send_fds(a.conn, "\x01\x02\x03", 3, NULL, 0);
        send_request(a.conn, WIRE_STAT, l);
        safe_close(l);
        lmmd_resume();
        attack_end(&a, "malformed record, then a lingering socket");
        cr_expect(!reply_within(a.conn, 1000, &r), "the connection was closed without a reply");
        attack_done(&a);
}

/* A uid that is not allowed connects and queues messages with lingering
 * sockets before the manager has even accepted it. */
Test(stall, refused_uid_with_queued_lingering_sockets) {
        const char *const args[] = { "--allow-uid", "12345", NULL }; /* not 65534 */
        wire_msg r = {};
        int l[2];
        attack a;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as uid %d", ATTACKER_UID);
        attack_begin(&a, args, true);
        for (int i = 0; i < 2; i++)
                l[i] = lingering_new(a.sink, LINGER_SEC);
        lmmd_pause(); /* connected and sent to before the manager even accepts */
        a.conn = connect_as(ATTACKER_UID, fixture_lmmd.sock);
        for (int i = 0; i < 2; i++)
                send_request(a.conn, WIRE_STAT, l[i]);
        close_many(l, 2);
        lmmd_resume();
        cr_expect(reply_within(a.conn, 2000, &r), "the refused peer is told why");
        cr_expect_eq(r.type, WIRE_ERROR);
        cr_expect_eq(r.error, EACCES);
        /* Refused, it holds nothing: its socket is closing elsewhere, waiting on its linger. */
        cr_expect_leq(harness_settled_fds(fixture_lmmd.pid), a.base_fds,
                      "the refused connection left fds behind");
        attack_end(&a, "refused uid, lingering sockets queued");
        attack_done(&a);
}

/* Wedge a close for good, then make many more: the closes behind it go on,
 * and once the uid's fds waiting to be closed reach its limit the manager
 * stops reading it and refuses its new connections (EUSERS), at no cost to
 * other users; when the lingers end, the uid is served again. */
Test(stall, wedged_closer_then_more_closes, .timeout = 120) {
        const char *const args[] = { "--allow-uid", "65534", "--max-connections", MAX_CONNS, NULL };
        enum { FILL = 16400, BATCH = 8, MORE = CLOSING_MAX + 16 };
        int devnull, l, more[MORE], second, answered = 0, fds;
        wire_msg r = {};
        attack a;

        if (geteuid() != 0)
                cr_skip_test("needs root to act as uid %d", ATTACKER_UID);
        attack_begin(&a, args, false);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

        /* One close that waits out a long linger. */
        l = lingering_new(a.sink, 10);
        lmmd_pause();
        send_request(a.conn, WIRE_ADOPT, l);
        safe_close(l);
        lmmd_resume();
        cr_assert(reply_within(a.conn, 2000, &r), "ADOPT of a TCP socket is answered");
        cr_expect_eq(r.type, WIRE_ERROR);

        /* More than a closer pipe ever held (16384 fds): each close goes on, none waits here. */
        for (int i = 0; i < FILL; i += BATCH) {
                for (int k = 0; k < BATCH; k++)
                        send_request(a.conn, WIRE_ADOPT, devnull);
                for (int k = 0; k < BATCH; k++)
                        cr_assert(reply_within(a.conn, 5000, &r), "ADOPT %d is answered", i + k);
        }
        fds = harness_settled_fds(fixture_lmmd.pid);
        cr_expect_leq(fds, a.base_fds, "closes behind the wedged one are done: %d fds, were %d",
                      fds, a.base_fds);

        /* Many lingering sockets at once, in one pause: a stop signal ends
         * every linger that waits at that moment, the first one's too. */
        for (int i = 0; i < MORE; i++)
                more[i] = lingering_new(a.sink, LINGER_SEC);
        lmmd_pause();
        for (int i = 0; i < MORE; i++)
                send_request(a.conn, WIRE_ADOPT, more[i]);
        close_many(more, MORE);
        lmmd_resume();
        while (answered < MORE && reply_within(a.conn, 1000, &r))
                answered++;
        fds = harness_settled_fds(fixture_lmmd.pid);
        fprintf(stderr,
                "stall: uid %d no longer read after %d closes wedged; lmmd holds %d fds, %d "
                "before\n",
                ATTACKER_UID, answered, fds, a.base_fds);
        cr_expect_lt(answered, MORE, "the uid is no longer read past its limit");
        cr_expect_leq(fds, a.base_fds + CLOSING_MAX, "what waits to be closed is bounded");

        /* A new connection of that uid is refused while its closes wait. */
        second = connect_as(ATTACKER_UID, fixture_lmmd.sock);
        send_request(second, WIRE_STAT, -1);
        cr_expect(reply_within(second, 2000, &r), "the new connection is answered");
        cr_expect_eq(r.type, WIRE_ERROR);
        cr_expect_eq(r.error, EUSERS, "refused with EUSERS, not %d", r.error);
        safe_close(second);

        attack_end(&a, "wedged closer, then more closes");

        /* The lingers are over: the uid is read again and served again. */
        for (; answered < MORE; answered++)
                cr_expect(reply_within(a.conn, 5000, &r), "the held connection is read again");
        /* LIST, which any allowed uid is answered: "probe" is root's and not
         * shared, so a STAT of it is ENOENT for uid 65534 (docs/security.md,
         * "A block belongs to its owner"), served or not. */
        second = connect_as(ATTACKER_UID, fixture_lmmd.sock);
        send_request(second, WIRE_LIST, -1);
        cr_expect(reply_within(second, 5000, &r), "a new connection is served");
        cr_expect_eq(r.type, WIRE_REPLY | WIRE_LIST, "served, not refused: type %#x, error %d (%s)",
                     r.type, r.error, r.text);
        wire_msg_done(&r);
        safe_close(second);
        safe_close(devnull);
        attack_done(&a);
}
