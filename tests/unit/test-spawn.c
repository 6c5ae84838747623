/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-spawn — what a launch prepares before the clone, from text alone:
 * the worker's environment, and which procfs mounts must be covered.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "spawn.h"
#include "util.h"

TestSuite(spawn, .timeout = 30);

static size_t strv_len(char **v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

Test(spawn, env_drops_the_launchers_activation_and_adds_the_blocks) {
        char *envp[] = { "PATH=/bin",
                         "LISTEN_FDS=3",
                         "LISTEN_PID=1",
                         "LISTEN_FDNAMES=a:b:c",
                         "LISTEN_PIDFDID=9",
                         "NOTIFY_SOCKET=/run/n",
                         "LISTEN_FDSX=kept",
                         "HOME=/root",
                         NULL };
        const char *names[] = { "frames", "config" };
        char **env = NULL, *pid = NULL;
        size_t size = 0;

        cr_assert_eq(spawn_env_new(envp, names, 2, &env, &pid, &size), 0);
        cr_assert_eq(strv_len(env), 6);
        cr_assert_str_eq(env[0], "PATH=/bin");
        cr_assert_str_eq(env[1], "LISTEN_FDSX=kept", "a longer name is another variable");
        cr_assert_str_eq(env[2], "HOME=/root");
        cr_assert_str_eq(env[3], "LISTEN_FDS=2");
        cr_assert_str_eq(env[4], "LISTEN_FDNAMES=frames:config");
        cr_assert_str_eq(env[5], "LISTEN_PID=0");
        /* The child writes its pid here, in place, without allocating. */
        cr_assert_eq(pid, env[5] + strlen("LISTEN_PID="));
        cr_assert_geq(size, 11, "room for any pid and the NUL");
        strcpy(pid, "4194304");
        cr_assert_str_eq(env[5], "LISTEN_PID=4194304");
        spawn_env_free(env);
}

Test(spawn, env_without_blocks_has_no_activation_at_all) {
        char *envp[] = { "LISTEN_FDS=1", "LISTEN_PID=1", "TERM=dumb", NULL };
        char **env = NULL, *pid = (char *) 1;
        size_t size = 1;

        cr_assert_eq(spawn_env_new(envp, NULL, 0, &env, &pid, &size), 0);
        cr_assert_eq(strv_len(env), 1);
        cr_assert_str_eq(env[0], "TERM=dumb");
        cr_assert_null(pid);
        cr_assert_eq(size, 0);
        spawn_env_free(env);

        cr_assert_eq(spawn_env_new(NULL, NULL, 0, &env, &pid, &size), 0, "an empty environment");
        cr_assert_eq(strv_len(env), 0);
        spawn_env_free(env);
}

static const char mountinfo[] =
        "21 26 0:20 / /proc rw,relatime shared:12 - proc proc rw\n"
        "22 26 0:21 / /sys rw,nosuid shared:2 - sysfs sysfs rw\n"
        "26 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "40 21 0:35 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - autofs systemd-1 rw\n"
        "41 21 0:20 /sys /proc/sys ro,relatime - proc proc rw\n"
        "50 26 0:20 / /run/other\\040proc rw - proc proc rw\n"
        "51 26 0:20 /1/fd /mnt/fds rw master:7 - proc none rw\n"
        "52 26 0:20 / /proc rw,relatime - proc proc rw\n"
        "53 26 0:44 / /procfs-not rw - tmpfs tmpfs rw\n";

Test(spawn, proc_mounts_are_every_procfs_once_and_none_beneath_another) {
        char **m = NULL;
        size_t n = 0;

        cr_assert_eq(proc_mounts_parse(mountinfo, &m, &n), 0);
        cr_assert_eq(n, 3, "/proc (twice, and /proc/sys beneath it), /mnt/fds, '/run/other proc'");
        cr_assert_eq(strv_len(m), n);
        cr_assert_str_eq(m[0], "/proc");
        cr_assert_str_eq(m[1], "/mnt/fds", "a bind mount of a procfs directory is a procfs");
        cr_assert_str_eq(m[2], "/run/other proc", "\\040 is a space");
        spawn_env_free(m);
}

Test(spawn, proc_mounts_of_a_system_without_procfs_are_none) {
        char **m = NULL;
        size_t n = 1;

        cr_assert_eq(proc_mounts_parse("26 1 254:1 / / rw - ext4 /dev/vda1 rw\n", &m, &n), 0);
        cr_assert_eq(n, 0);
        cr_assert_null(m[0]);
        spawn_env_free(m);
        cr_assert_eq(proc_mounts_parse("", &m, &n), 0);
        cr_assert_eq(n, 0);
        spawn_env_free(m);
}

Test(spawn, proc_mounts_refuse_what_is_not_mountinfo) {
        char **m = NULL;
        size_t n = 0;

        cr_assert_eq(proc_mounts_parse("21 26 0:20 / /proc rw shared:12 proc proc rw\n", &m, &n),
                     -EBADMSG, "no separator");
        cr_assert_eq(proc_mounts_parse("21 26 0:20 / /proc rw -\n", &m, &n), -EBADMSG,
                     "no file system type");
        cr_assert_eq(proc_mounts_parse("garbage\n", &m, &n), -EBADMSG);
}

/* A mount point beneath another only by its name's prefix is not beneath it. */
Test(spawn, proc_mounts_prefix_is_not_a_parent) {
        char **m = NULL;
        size_t n = 0;

        cr_assert_eq(proc_mounts_parse("1 0 0:20 / /proc rw - proc proc rw\n"
                                       "2 0 0:20 / /procs rw - proc proc rw\n",
                                       &m, &n),
                     0);
        cr_assert_eq(n, 2);
        spawn_env_free(m);
}

Test(spawn, proc_mounts_read_finds_this_systems_proc) {
        char **m = NULL;
        size_t n = 0;
        bool found = false;

        cr_assert_eq(proc_mounts_read(&m, &n), 0);
        for (size_t i = 0; i < n; i++)
                found = found || strcmp(m[i], "/proc") == 0;
        cr_assert(found, "/proc is not among this system's procfs mounts");
        spawn_env_free(m);
}

Test(spawn, every_step_has_words) {
        for (int s = 0; s < _SPAWN_STEP_MAX; s++)
                cr_assert_not_null(spawn_step_to_string((spawn_step) s), "step %d", s);
        cr_assert_null(spawn_step_to_string(_SPAWN_STEP_MAX));
}
