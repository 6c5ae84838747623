/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * missing — kernel interfaces newer than the oldest headers lmm builds with,
 * each defined once, here (systemd's missing_*.h). Include it after the libc
 * header that would normally define the constant; the values are the
 * kernel's ABI and never change.
 */

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/magic.h>

/* Seals (memfd_create(2), fcntl(2)). */
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* Linux 6.3 */
#endif

/* memfd_create(2) flags. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3 */
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3 */
#endif

/* getrandom(2). */
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004 /* Linux 5.6 */
#endif

/* memfd_create(2): the huge page size bits (glibc has MAP_HUGE_SHIFT, not this twin). */
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

/* Sockets. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76 /* Linux 6.5 */
#endif
/* A pidfd of the sender, with every message once SO_PASSPIDFD is set
 * (Linux 6.5): an fd that a receiver must close like SCM_RIGHTS's. */
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
/* The most fds one message can carry (include/net/scm.h, not in the uapi
 * headers): 253 since Linux 2.6.38, 255 before. */
#ifndef SCM_MAX_FD
#define SCM_MAX_FD 253
#endif

/* clone3(2) (Linux 5.3): the pidfd flag, in glibc's <sched.h> since 2.31. */
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* File systems (statfs(2) f_type). */
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
