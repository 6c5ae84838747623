/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * socket-path — whether a path is safe to put the manager's socket at:
 * nobody but root and the manager's uid can replace the socket, or any
 * directory on the way to it, with their own.
 *
 * Whoever can write a directory can rename what is in it and put something
 * else there; whoever owns it can make it writable. So every directory from
 * / down to the socket's must be owned by root or the manager's uid, and
 * writable by nobody else — unless it is sticky (/tmp), where others can
 * add entries but not rename or remove ours: the entry we go through (a
 * directory, or the socket file itself) must then be root's or ours, which
 * the same rule already asks of every directory, and which the socket file
 * must be too. Symbolic links are followed only where they lie in such a
 * directory, and what they point to is checked from / again.
 *
 * The walk opens each directory (O_PATH, O_NOFOLLOW) below the one it has
 * checked, so what is checked is what is walked; once every directory is
 * checked, nobody else can change what the path names before bind().
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * socket_path_check() - check the socket path @path (absolute) for a
 * manager running as @uid. @create: make missing directories on the way,
 * 0755, the last one @mode; else stop at the first missing one, which is
 * fine (the manager would make it). *@ret_created (may be NULL): whether
 * the socket's own directory was made here.
 * Return: 0; -EPERM with @why (@why_size bytes) saying which directory or
 * file and why, in words; -ELOOP, -ENOTDIR, -EINVAL for a socket name that
 * is empty, "." or ".." (a ".." on the way is walked, and the directory it
 * leads to checked like any other); or another -errno from the walk.
 */
int socket_path_check(const char *path, uid_t uid, bool create, unsigned mode, bool *ret_created,
                      char *why, size_t why_size);
