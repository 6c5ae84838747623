/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * transport — one message and its fds over a SOCK_SEQPACKET socket.
 *
 * The only place where lmm calls sendmsg()/recvmsg() (and sendmmsg() and
 * recvmmsg(), which move a batch of messages with one syscall). Sending never raises
 * SIGPIPE. Receiving caps the fds a message may carry, makes every received
 * fd close-on-exec, and on any anomaly (truncated data, truncated control
 * data, more fds than allowed, foreign control messages) closes every fd that
 * did arrive before it returns the error, so that no fd is ever left without
 * an owner. Its control buffer holds every fd a message can carry, so that
 * the kernel never drops one itself: a dropped fd's last close would run
 * inside recvmsg(), on the receiving thread (see closer.h).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "missing.h"
#include "wire.h"

/*
 * transport_send() - send @len bytes and @n_fds fds (borrowed) as one message.
 * @nonblock: fail with -EAGAIN instead of waiting for buffer space.
 * Return: 0, -EAGAIN, -EPIPE/-ECONNRESET when the peer is gone.
 */
int transport_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
                   bool nonblock);

/* One message of a batch: @len bytes at @data, with @fd (borrowed; -EBADF: none). */
typedef struct transport_msg {
        const void *data;
        size_t len;
        int fd;
} transport_msg;

/* Messages one transport_send_many() hands the kernel at most. */
#define TRANSPORT_BATCH_MAX 64

/*
 * transport_send_many() - send @n messages, in order, with one sendmmsg():
 * as many of the first TRANSPORT_BATCH_MAX as the socket takes.
 * Return: how many went out (> 0; fewer than asked when the socket took no
 * more, and the next call tells why), or, when none did, -EAGAIN or the
 * error, as transport_send().
 */
int transport_send_many(int sock, const transport_msg *msgs, size_t n, bool nonblock);

/*
 * transport_send_raw() - the same without the protocol's cap: up to
 * SCM_MAX_FD fds, as only a hostile or broken peer would send; what the
 * tests use to play one. Return: as transport_send(), -EINVAL past SCM_MAX_FD.
 */
int transport_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
                       bool nonblock);

/*
 * transport_recv() - receive one message into @buf.
 * @ret_fds: receives up to @max_fds fds, owned by the caller on success.
 * Return: the message length; 0 at end of stream; -EAGAIN; -EMSGSIZE for a
 * message longer than @size; -EBADMSG for bad control data (fds closed).
 */
ssize_t transport_recv(int sock, void *buf, size_t size, int *ret_fds, size_t max_fds,
                       size_t *ret_n_fds, bool nonblock);

/* How fds a message should not have carried are got rid of: consumes @fd. */
typedef void (*transport_dispose_fn)(int fd, void *userdata);

/*
 * transport_recv_dispose() - transport_recv(), with unwanted fds handed to
 * @dispose instead of closed here: close() of a peer's FUSE file waits for
 * that file system's daemon, which a manager's event loop must not do.
 */
ssize_t transport_recv_dispose(int sock, void *buf, size_t size, int *ret_fds, size_t max_fds,
                               size_t *ret_n_fds, bool nonblock, transport_dispose_fn dispose,
                               void *userdata);

/*
 * Room for one message of transport_recv_many(): any message but a LIST
 * reply, and control data for every fd one can carry (as transport_recv(),
 * so that the kernel drops none); then what arrived in it.
 */
typedef struct transport_slot {
        uint8_t data[WIRE_SMALL_MESSAGE_MAX];
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
        } control;
        ssize_t len; /* as transport_recv() returns it: the length, 0 at end of stream, or -errno */
        int fds[WIRE_FDS_MAX];
        size_t n_fds;
} transport_slot;

/* Messages one transport_recv_many() takes at most. */
#define TRANSPORT_RECV_BATCH_MAX 16

/*
 * transport_recv_many() - receive, without waiting, up to @n messages (at
 * most TRANSPORT_RECV_BATCH_MAX) with one recvmmsg(), each into its slot
 * and checked there as transport_recv_dispose() checks one (a message
 * longer than a slot is -EMSGSIZE in its slot). Return: how many slots
 * were filled (> 0), -EAGAIN when nothing waits, or the error.
 */
int transport_recv_many(int sock, transport_slot *slots, size_t n, transport_dispose_fn dispose,
                        void *userdata);
