/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfd-scan, linked directly: the parsers, and a scan that must find a
 * memfd this process made, with every field, and leak no fd.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "memfd-scan.h"

Test(memfd_scan, parses_links) {
        char buf[64];

        cr_assert_eq(memfd_parse_link("/memfd:frames (deleted)", buf, sizeof(buf)), 1);
        cr_assert_str_eq(buf, "frames");
        cr_assert_eq(memfd_parse_link("/memfd:with space (deleted)", buf, sizeof(buf)), 1);
        cr_assert_str_eq(buf, "with space");
        cr_assert_eq(memfd_parse_link("/memfd:", buf, sizeof(buf)), 1);
        cr_assert_str_eq(buf, "");
        cr_assert_eq(memfd_parse_link("/memfd:abcdefgh (deleted)", buf, 4), 1);
        cr_assert_str_eq(buf, "abc");
        cr_assert_eq(memfd_parse_link("/dev/shm/x", buf, sizeof(buf)), 0);
        cr_assert_eq(memfd_parse_link("socket:[123]", buf, sizeof(buf)), 0);
        cr_assert_eq(memfd_parse_link(NULL, buf, sizeof(buf)), 0);
}

Test(memfd_scan, parses_maps_lines) {
        memfd_mapper m;
        uint64_t dev, ino;
        char name[64];

        cr_assert_eq(
                memfd_parse_maps_line("7f0000001000-7f0000003000 rw-s 00001000 00:01 1026         "
                                      "          /memfd:frames (deleted)\n",
                                      &m, &dev, &ino, name, sizeof(name)),
                1);
        cr_assert_eq(m.start, 0x7f0000001000ULL);
        cr_assert_eq(m.end, 0x7f0000003000ULL);
        cr_assert_eq(m.offset, 0x1000);
        cr_assert(m.read && m.write && !m.exec && m.shared);
        cr_assert_eq(dev, makedev(0, 1));
        cr_assert_eq(ino, 1026);
        cr_assert_str_eq(name, "frames");

        cr_assert_eq(
                memfd_parse_maps_line("55d0a000-55d0b000 r-xp 00000000 fd:01 1234 /usr/bin/cat\n",
                                      &m, &dev, &ino, name, sizeof(name)),
                0);
        cr_assert_eq(memfd_parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0\n", &m, &dev,
                                           &ino, name, sizeof(name)),
                     0);
        cr_assert_eq(memfd_parse_maps_line("Rss:  4 kB\n", &m, &dev, &ino, name, sizeof(name)),
                     -EINVAL);
}

Test(memfd_scan, finds_own_memfd) {
        memfd_scan *s = NULL;
        const memfd_entry *e;
        const memfd_process *p;
        struct stat st;
        char *addr;
        int fd, before;
        pid_t self = getpid();

        fd = memfd_create("scan-self", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, 3 * 4096), 0);
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
        addr = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        cr_assert_neq(addr, MAP_FAILED);
        addr[4096] = 1; /* one page resident */
        cr_assert_eq(fstat(fd, &st), 0);

        before = harness_count_fds(0);
        cr_assert_eq(memfd_scan_run(&(memfd_scan_opts){ .pids = &self, .n_pids = 1 }, &s), 0);
        cr_assert_eq(harness_count_fds(0), before, "the scan leaked an fd");

        cr_assert_eq(s->n_scanned, 1);
        cr_assert_eq(s->n_unreadable, 0);
        e = memfd_scan_find_entry(s, st.st_dev, st.st_ino);
        cr_assert(e, "own memfd not found");
        cr_assert_str_eq(e->name, "scan-self");
        cr_assert(e->have_size);
        cr_assert_eq(e->size, 3 * 4096);
        cr_assert_eq(e->seals, F_SEAL_SHRINK);
        cr_assert(!e->hugetlb);
        cr_assert_eq(e->n_holders, 1);
        cr_assert_eq(e->holders[0].pid, self);
        cr_assert_eq(e->holders[0].fd, fd);
        cr_assert_eq(e->holders[0].accmode, O_RDWR);
        cr_assert(e->holders[0].flags & O_CLOEXEC);
        cr_assert_eq(e->n_mappers, 1);
        cr_assert_eq(e->mappers[0].start, (uint64_t) (uintptr_t) addr);
        cr_assert_eq(e->mappers[0].end, (uint64_t) (uintptr_t) addr + 3 * 4096);
        cr_assert(e->mappers[0].read && e->mappers[0].write && e->mappers[0].shared &&
                  !e->mappers[0].exec);
        cr_assert_eq(e->mappers[0].rss, 4096);
        cr_assert_eq(e->mappers[0].pss, 4096);
        cr_assert_eq(e->rss, 4096);

        p = memfd_scan_find_process(s, self);
        cr_assert(p);
        cr_assert_eq(p->uid, getuid());
        cr_assert_gt(strlen(p->comm), 0);
        cr_assert_geq(p->n_fds, 1);
        cr_assert_geq(p->n_mappings, 1);
        s = memfd_scan_free(s);
        cr_assert_null(s);

        /* The whole system, leaving ourselves out. */
        cr_assert_eq(memfd_scan_run(&(memfd_scan_opts){ .skip_self = true }, &s), 0);
        cr_assert_gt(s->n_scanned, 1);
        cr_assert_null(memfd_scan_find_entry(s, st.st_dev, st.st_ino));
        cr_assert_null(memfd_scan_find_process(s, self));
        memfd_scan_free(s);
        cr_assert_eq(harness_count_fds(0), before);

        munmap(addr, 3 * 4096);
        close(fd);
}

Test(memfd_scan, gone_process_is_no_error) {
        memfd_scan *s = NULL;
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0);
        cr_assert_eq(memfd_scan_run(&(memfd_scan_opts){ .pids = &pid, .n_pids = 1 }, &s), 0);
        cr_assert_eq(s->n_scanned, 0);
        cr_assert_eq(s->n_unreadable, 0);
        cr_assert_eq(s->n_entries, 0);
        memfd_scan_free(s);
}
