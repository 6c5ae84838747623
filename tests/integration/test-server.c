/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm_server_start() and the embedded manager core: Python's start(),
 * connect(), get_server().serve_forever() and "with", in real processes.
 */

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "lmm.h"

TestSuite(server, .timeout = 60);

static bool alive(pid_t pid) {
        return kill(pid, 0) == 0;
}

Test(server, start_serves_other_processes_and_shutdown_seals) {
        lmm_server *smm = NULL;
        lmm_segment *s = NULL;
        char *p, address[256];
        pid_t child, mpid;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        mpid = lmm_server_get_pid(smm);
        snprintf(address, sizeof(address), "%s", lmm_server_get_address(smm));
        cr_assert(alive(mpid));
        cr_assert_eq(lmm_segment_create(lmm_server_get_client(smm),
                                        &(lmm_segment_opts){ .size = 4096, .name = "shared" }, &s),
                     0);
        cr_assert_eq(lmm_segment_map(s, 0, (void **) &p), 0);
        strcpy(p, "parent");

        child = fork();
        if (child == 0) {
                lmm_client *c = NULL;
                lmm_segment *o = NULL;
                char *q = NULL;

                if (lmm_client_connect(address, &c) < 0 ||
                    lmm_segment_open(c, "shared", 0, &o) < 0 ||
                    lmm_segment_map(o, 0, (void **) &q) != 0 || strcmp(q, "parent") != 0)
                        _exit(1);
                strcpy(q, "child");
                _exit(0);
        }
        cr_assert_eq(harness_wait_exit(child, 10000), 0);
        cr_assert_str_eq(p, "child");

        cr_assert_eq(lmm_server_shutdown(smm), 0);
        cr_assert_not(alive(mpid), "the manager process is gone (and reaped)");
        cr_assert_eq(access(address, F_OK), -1, "the socket is gone");
        *strrchr(address, '/') = '\0';
        cr_assert_eq(access(address, F_OK), -1, "and so is the directory made for it");
        strcpy(p, "still writable");
        cr_assert_eq(fcntl(lmm_segment_get_fd(s), F_GET_SEALS) & (F_SEAL_SEAL | 0x10),
                     F_SEAL_SEAL | 0x10);
        cr_assert_eq(lmm_server_shutdown(smm), 0, "idempotent");
        lmm_segment_unref(s);
        lmm_server_unref(smm);
}

/* threads_of() - how many threads process @pid runs. */
static int threads_of(pid_t pid) {
        char path[64];
        int n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        cr_assert_not_null(d);
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* A manager whose peers send it nothing to close starts no closer thread:
 * one thread while it serves, and its shutdown (which closes the owner's
 * socket itself) starts none either, so that it exits alone. A connection
 * that ends does hand its socket to the closer, whose threads then run. */
Test(server, a_manager_that_closes_nothing_runs_one_thread) {
        lmm_server *smm = NULL;
        lmm_client *other = NULL;
        lmm_segment *s = NULL;
        pid_t mpid;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        mpid = lmm_server_get_pid(smm);
        for (int i = 0; i < 20; i++) {
                cr_assert_eq(lmm_segment_create(lmm_server_get_client(smm),
                                                &(lmm_segment_opts){ .size = 4096 }, &s),
                             0);
                lmm_segment_unref(s);
        }
        cr_assert_eq(threads_of(mpid), 1, "one thread while it serves");

        cr_assert_eq(lmm_client_connect(lmm_server_get_address(smm), &other), 0);
        cr_assert_eq(lmm_block_stat(other, "lmm_0000000000000001", &(lmm_block_info){}), 0);
        other = lmm_client_unref(other);
        for (int i = 0; i < 500 && threads_of(mpid) == 1; i++)
                usleep(10000);
        cr_assert_geq(threads_of(mpid), 2, "a connection that ended went to the closer");

        cr_assert_eq(lmm_server_shutdown(smm), 0);
        lmm_server_unref(smm);
}

Test(server, the_owner_dying_ends_the_manager_cleanly) {
        char address[256] = "";
        int info[2];
        pid_t owner, mpid = 0;

        /* Become the reaper of orphans, so that the manager, once its owner
         * is dead, is ours to wait for. */
        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        cr_assert_eq(pipe2(info, O_CLOEXEC), 0);
        owner = fork();
        if (owner == 0) {
                lmm_server *smm = NULL;
                lmm_segment *s = NULL;
                pid_t p;

                if (lmm_server_start(NULL, &smm) < 0 ||
                    lmm_segment_create(lmm_server_get_client(smm),
                                       &(lmm_segment_opts){ .size = 4096, .name = "orphan" },
                                       &s) < 0)
                        _exit(1);
                p = lmm_server_get_pid(smm);
                snprintf(address, sizeof(address), "%s", lmm_server_get_address(smm));
                (void) !write(info[1], &p, sizeof(p));
                (void) !write(info[1], address, sizeof(address));
                pause();
                _exit(0);
        }
        close(info[1]);
        cr_assert_eq(read(info[0], &mpid, sizeof(mpid)), (ssize_t) sizeof(mpid));
        cr_assert_eq(read(info[0], address, sizeof(address)), (ssize_t) sizeof(address));
        cr_assert(alive(mpid));
        kill(owner, SIGKILL);
        waitpid(owner, NULL, 0);

        cr_assert_eq(harness_wait_exit(mpid, 5000), 0,
                     "the manager shut down cleanly (exit 0) on its own");
        cr_assert_not(harness_memfd_anywhere("lmm:orphan"), "and nothing is left");
        cr_assert_eq(access(address, F_OK), -1, "no socket");
        *strrchr(address, '/') = '\0';
        cr_assert_eq(access(address, F_OK), -1, "nor the directory it made for it");
}

static int init_writes_pid(void *arg) {
        FILE *f = fopen(arg, "we");
        if (!f)
                return -errno;
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
        return 0;
}

static int init_fails(void *arg) {
        return -EPERM;
}

Test(server, initializer_runs_in_the_manager_before_it_serves) {
        char path[] = "/tmp/lmm-init-XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC), pid = 0;
        lmm_server *smm = NULL;
        FILE *f;

        close(fd);
        cr_assert_eq(lmm_server_start(
                             &(lmm_server_opts){ .initializer = init_writes_pid, .initargs = path },
                             &smm),
                     0);
        f = fopen(path, "re");
        cr_assert_eq(fscanf(f, "%d", &pid), 1);
        fclose(f);
        unlink(path);
        cr_assert_eq(pid, lmm_server_get_pid(smm));
        lmm_server_unref(smm);
}

Test(server, a_failing_initializer_fails_the_start) {
        lmm_server *smm = NULL;
        int before = harness_count_fds(0);

        cr_assert_eq(lmm_server_start(&(lmm_server_opts){ .initializer = init_fails }, &smm),
                     -EPERM);
        cr_assert_null(smm);
        cr_assert_eq(harness_count_fds(0), before, "no fd left behind");
        cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "no child left behind");
}

Test(server, the_manager_holds_none_of_its_parents_fds) {
        lmm_server *smm = NULL;
        int leaky[2];
        struct stat st;
        char path[64];

        cr_assert_eq(pipe(leaky), 0); /* deliberately not close-on-exec */
        cr_assert_eq(fstat(leaky[0], &st), 0);
        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        for (int fd = 3; fd < 64; fd++) {
                struct stat o;
                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) lmm_server_get_pid(smm), fd);
                if (stat(path, &o) == 0)
                        cr_assert_neq(o.st_ino, st.st_ino, "fd %d is the parent's pipe", fd);
        }
        lmm_server_unref(smm);
        close(leaky[0]);
        close(leaky[1]);
}

Test(server, sigint_is_ignored_and_sigterm_shuts_down) {
        lmm_server *smm = NULL;
        lmm_segment *s = NULL;
        pid_t mpid;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        mpid = lmm_server_get_pid(smm);
        cr_assert_eq(lmm_segment_create(lmm_server_get_client(smm),
                                        &(lmm_segment_opts){ .size = 4096 }, &s),
                     0);
        kill(mpid, SIGINT);
        usleep(50000);
        cr_assert(alive(mpid), "a ^C meant for the program does not end the manager");
        kill(mpid, SIGTERM);
        cr_assert_eq(harness_wait_exit(mpid, 5000), 0);
        cr_assert(fcntl(lmm_segment_get_fd(s), F_GET_SEALS) & F_SEAL_SEAL, "sealed at shutdown");
        lmm_segment_unref(s);
        lmm_server_unref(smm);
}

Test(server, cleanup_attribute_is_the_with_block) {
        pid_t mpid;
        char address[256];

        {
                _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
                cr_assert_eq(lmm_server_start(NULL, &smm), 0);
                mpid = lmm_server_get_pid(smm);
                snprintf(address, sizeof(address), "%s", lmm_server_get_address(smm));
        }
        cr_assert_not(alive(mpid));
        cr_assert_eq(access(address, F_OK), -1);
}

Test(server, explicit_socket_path_and_address_in_use) {
        char dir[] = "/tmp/lmm-srv-XXXXXX", path[300];
        lmm_server *a = NULL, *b = NULL;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/m.sock", dir);
        cr_assert_eq(lmm_server_start(&(lmm_server_opts){ .socket_path = path }, &a), 0);
        cr_assert_str_eq(lmm_server_get_address(a), path);
        cr_assert_eq(lmm_server_start(&(lmm_server_opts){ .socket_path = path }, &b), -EADDRINUSE);
        lmm_server_unref(a);
        rmdir(dir);
}

static void *serve(void *m) {
        return (void *) (intptr_t) lmm_manager_run(m);
}

Test(server, serve_forever_in_a_thread_of_ones_own) {
        char dir[] = "/tmp/lmm-thr-XXXXXX", path[300];
        lmm_manager *m = NULL;
        lmm_client *c = NULL;
        lmm_segment *s = NULL;
        lmm_manager_stats st;
        pthread_t t;
        void *ret;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/m.sock", dir);
        m = fixture_manager_new(NULL);
        cr_assert_eq(lmm_manager_listen(m, path), 0);
        cr_assert_eq(pthread_create(&t, NULL, serve, m), 0);

        cr_assert_eq(lmm_client_connect(path, &c), 0);
        cr_assert_eq(lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "t" }, &s),
                     0);
        cr_assert_eq(lmm_client_shutdown_manager(c), 0);
        cr_assert_eq(pthread_join(t, &ret), 0);
        cr_assert_eq((intptr_t) ret, 0);
        cr_assert(lmm_manager_is_shut_down(m));
        lmm_manager_get_stats(m, &st);
        cr_assert_eq(st.n_blocks, 0);
        cr_assert(fcntl(lmm_segment_get_fd(s), F_GET_SEALS) & F_SEAL_SEAL);
        lmm_segment_unref(s);
        lmm_client_unref(c);
        lmm_manager_free(m);
        rmdir(dir);
}

/* bind_socket_file() - a socket file at @path, as another manager's would be. */
static int bind_socket_file(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "bind %s: %m", path);
        return fd;
}

/* At shutdown a manager unlinks the socket file it bound, in the directory
 * it bound it in, and only that: should the path lead elsewhere by then (its
 * directory moved and a link to another manager's put in its place), the
 * socket file found there is left alone. */
Test(server, shutdown_unlinks_its_own_socket_file_and_nothing_a_path_now_leads_to) {
        char base[] = "/tmp/lmm-swap-XXXXXX", dir[64], moved[64], other[64], path[128],
             other_path[128], moved_path[128];
        lmm_manager *m = NULL;
        int other_fd;

        cr_assert_not_null(mkdtemp(base));
        snprintf(dir, sizeof(dir), "%s/d", base);
        snprintf(moved, sizeof(moved), "%s/moved", base);
        snprintf(other, sizeof(other), "%s/other", base);
        snprintf(path, sizeof(path), "%s/m.sock", dir);
        snprintf(moved_path, sizeof(moved_path), "%s/m.sock", moved);
        snprintf(other_path, sizeof(other_path), "%s/m.sock", other);
        cr_assert_eq(mkdir(dir, 0700), 0);
        cr_assert_eq(mkdir(other, 0700), 0);

        m = fixture_manager_new(NULL);
        cr_assert_eq(lmm_manager_listen(m, path), 0);
        cr_assert_eq(rename(dir, moved), 0);
        other_fd = bind_socket_file(other_path);
        cr_assert_eq(symlink(other, dir), 0);

        cr_assert_eq(lmm_manager_shutdown(m), 0);
        cr_assert_eq(access(other_path, F_OK), 0, "the other socket file is still there");
        cr_assert_eq(access(moved_path, F_OK), -1, "its own is gone, where it was moved to");
        lmm_manager_free(m);

        close(other_fd);
        unlink(other_path);
        unlink(dir);
        rmdir(other);
        rmdir(moved);
        rmdir(base);
}

/* A socket file put in place of the manager's own (removed, then bound
 * again by someone else) is not the manager's to remove either. */
Test(server, shutdown_leaves_a_socket_file_that_replaced_its_own) {
        char dir[] = "/tmp/lmm-repl-XXXXXX", path[300];
        lmm_manager *m = NULL;
        int other_fd;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/m.sock", dir);
        m = fixture_manager_new(NULL);
        cr_assert_eq(lmm_manager_listen(m, path), 0);
        cr_assert_eq(unlink(path), 0);
        other_fd = bind_socket_file(path);

        cr_assert_eq(lmm_manager_shutdown(m), 0);
        cr_assert_eq(access(path, F_OK), 0, "the new socket file is still there");
        lmm_manager_free(m);
        close(other_fd);
        unlink(path);
        rmdir(dir);
}

/* Where another user could replace the socket (a directory anyone may
 * write, without the sticky bit), the manager refuses to listen: the start
 * fails with the reason, and leaves nothing behind there. */
Test(server, start_refuses_a_runtime_directory_others_can_write_and_leaves_it_empty) {
        char base[] = "/tmp/lmm-open-XXXXXX";
        lmm_server *smm = NULL;
        DIR *d;
        int n = 0;

        cr_assert_not_null(mkdtemp(base));
        cr_assert_eq(chmod(base, 0777), 0);
        cr_assert_eq(setenv("XDG_RUNTIME_DIR", base, 1), 0);
        cr_assert_eq(lmm_server_start(NULL, &smm), -EPERM);
        cr_assert_null(smm);
        d = opendir(base);
        cr_assert_not_null(d);
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        cr_assert_eq(n, 0, "nothing left in %s", base);
        rmdir(base);
}

/* Once a manager has gone, another user can take its path: make the
 * removed directory again and serve a manager of its own there. A client
 * of the first manager does not connect to that one: its calls fail as
 * they would with nothing listening, and say why. */
Test(server, a_client_never_connects_again_to_a_manager_of_another_uid) {
        char address[300], dir[300];
        lmm_server *smm = NULL;
        lmm_client *c = NULL;
        lmm_segment *s = NULL;
        int ready[2], done[2];
        pid_t other;
        char ok;

        cr_assert_eq(lmm_server_start(NULL, &smm), 0);
        snprintf(address, sizeof(address), "%s", lmm_server_get_address(smm));
        snprintf(dir, sizeof(dir), "%s", address);
        *strrchr(dir, '/') = '\0';
        cr_assert_eq(lmm_client_connect(address, &c), 0);
        cr_assert_eq(lmm_server_shutdown(smm), 0);
        cr_assert_eq(access(dir, F_OK), -1);

        /* Root made it in /tmp or $XDG_RUNTIME_DIR: uid 65534 makes it again. */
        cr_assert_eq(mkdir(dir, 0700), 0);
        cr_assert_eq(chown(dir, 65534, 65534), 0);
        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(done, O_CLOEXEC), 0);
        other = fork();
        cr_assert_geq(other, 0);
        if (other == 0) {
                lmm_server *theirs = NULL;
                char c2;

                close(ready[0]);
                close(done[1]);
                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0 ||
                    lmm_server_start(&(lmm_server_opts){ .socket_path = address }, &theirs) < 0)
                        _exit(1);
                (void) !write(ready[1], "y", 1);
                (void) !read(done[0], &c2, 1);
                lmm_server_unref(theirs);
                _exit(0);
        }
        close(ready[1]);
        close(done[0]);
        cr_assert_eq(read(ready[0], &ok, 1), 1, "uid 65534 serves %s", address);

        cr_assert_eq(
                lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096, .name = "report" }, &s),
                -ECONNRESET);
        cr_assert_not_null(lmm_client_last_error(c));
        cr_assert_not_null(strstr(lmm_client_last_error(c), "uid 65534"), "%s",
                           lmm_client_last_error(c));
        cr_assert_eq(lmm_segment_open(c, "report", 0, &s), -ECONNRESET);

        close(done[1]);
        cr_assert_eq(harness_wait_exit(other, 10000), 0);
        close(ready[0]);
        lmm_client_unref(c);
        lmm_server_unref(smm);
        rmdir(dir);
}

/* try_as() - as @uid, connect to @address and make a block. Return: the
 * child's exit status: 0 done, 1 the connect failed, 2 the create did (the
 * errno, negated, in what the child prints). */
static int try_as(uid_t uid, const char *address) {
        pid_t child = fork();

        cr_assert_geq(child, 0);
        if (child == 0) {
                lmm_client *c = NULL;
                lmm_segment *s = NULL;
                int r;

                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(10);
                r = lmm_client_connect(address, &c);
                if (r < 0) {
                        printf("uid %u: connect: %s\n", (unsigned) uid, strerror(-r));
                        _exit(1);
                }
                r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 4096 }, &s);
                if (r < 0) {
                        printf("uid %u: create: %s\n", (unsigned) uid, strerror(-r));
                        _exit(2);
                }
                _exit(0);
        }
        return harness_wait_exit(child, 10000);
}

/* A manager that lets another user in, with the private directory
 * lmm_server_start() makes for it: that user reaches the socket, connects
 * and makes a block; a user not let in does not get one. */
Test(server, a_user_let_in_reaches_a_private_directorys_manager) {
        static const uid_t allowed[] = { 65534 };
        lmm_manager_opts mo = { .allow_uids = allowed, .n_allow_uids = 1 };
        lmm_server *smm = NULL;

        cr_assert_eq(lmm_server_start(&(lmm_server_opts){ .manager = &mo }, &smm), 0);
        cr_assert_eq(try_as(65534, lmm_server_get_address(smm)), 0, "the user let in");
        cr_assert_neq(try_as(12345, lmm_server_get_address(smm)), 0, "another user");
        cr_assert_eq(lmm_server_shutdown(smm), 0);
        lmm_server_unref(smm);
}
