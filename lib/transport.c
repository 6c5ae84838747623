/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * transport — sendmsg()/recvmsg() with SCM_RIGHTS. See transport.h.
 */

#include <string.h>
#include <sys/socket.h>

#include "missing.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

int transport_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
                   bool nonblock) {
        if (n_fds > WIRE_FDS_MAX)
                return -EINVAL;
        return transport_send_raw(sock, buf, len, fds, n_fds, nonblock);
}

int transport_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
                       bool nonblock) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (n_fds > SCM_MAX_FD)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }

        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len) /* SEQPACKET sends whole records or nothing */
                return -EIO;
        return 0;
}

int transport_send_many(int sock, const transport_msg *msgs, size_t n, bool nonblock) {
        union control {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control[TRANSPORT_BATCH_MAX];
        struct mmsghdr mm[TRANSPORT_BATCH_MAX];
        struct iovec iov[TRANSPORT_BATCH_MAX];
        int k;

        n = MIN(n, (size_t) TRANSPORT_BATCH_MAX);
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                iov[i] =
                        (struct iovec){ .iov_base = (void *) msgs[i].data, .iov_len = msgs[i].len };
                mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
                if (msgs[i].fd >= 0) {
                        struct cmsghdr *c;

                        control[i] = (union control){};
                        mm[i].msg_hdr.msg_control = control[i].buf;
                        mm[i].msg_hdr.msg_controllen = sizeof(control[i].buf);
                        c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(c), &msgs[i].fd, sizeof(int));
                }
        }

        do
                k = sendmmsg(sock, mm, (unsigned) n, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        for (int i = 0; i < k; i++)
                if (mm[i].msg_len != msgs[i].len) /* SEQPACKET sends whole records or nothing */
                        return -EIO;
        return k;
}

static void dispose_close(int fd, void *userdata) {
        safe_close(fd);
}

static void dispose_many(transport_dispose_fn dispose, void *userdata, const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                dispose(fds[i], userdata);
}

ssize_t transport_recv(int sock, void *buf, size_t size, int *ret_fds, size_t max_fds,
                       size_t *ret_n_fds, bool nonblock) {
        return transport_recv_dispose(sock, buf, size, ret_fds, max_fds, ret_n_fds, nonblock,
                                      dispose_close, NULL);
}

/*
 * take_fds() - the fds that came with the message @mh describes (@n bytes
 * received): up to @max_fds into @ret_fds; on any anomaly every one that
 * arrived goes to @dispose. Return: @n, or -EBADMSG, -EMSGSIZE.
 */
static ssize_t take_fds(const struct msghdr *mh, ssize_t n, int *ret_fds, size_t max_fds,
                        size_t *ret_n_fds, transport_dispose_fn dispose, void *userdata) {
        int fds[WIRE_FDS_MAX + 1]; /* one more than allowed: "too many" is seen as such */
        size_t n_fds = 0;
        bool bad = false;

        if (max_fds > WIRE_FDS_MAX)
                max_fds = WIRE_FDS_MAX;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *) mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        const uint8_t *d = CMSG_DATA(c);

                        for (size_t i = 0; i < k; i++) {
                                int fd;

                                memcpy(&fd, d + i * sizeof(int), sizeof(int));
                                if (n_fds < ELEMENTSOF(fds))
                                        fds[n_fds++] = fd;
                                else {
                                        dispose(fd, userdata);
                                        bad = true;
                                }
                        }
                } else
                        bad = true; /* nothing else was asked for */
        }

        if (bad || (mh->msg_flags & MSG_CTRUNC) || n_fds > max_fds) {
                dispose_many(dispose, userdata, fds, n_fds);
                return -EBADMSG;
        }
        if (mh->msg_flags & MSG_TRUNC) {
                dispose_many(dispose, userdata, fds, n_fds);
                return -EMSGSIZE;
        }
        if (n == 0 && n_fds > 0) { /* an empty record with fds is a protocol error, not EOF */
                dispose_many(dispose, userdata, fds, n_fds);
                return -EBADMSG;
        }

        memcpy(ret_fds, fds, sizeof(int) * n_fds);
        *ret_n_fds = n_fds;
        return n;
}

ssize_t transport_recv_dispose(int sock, void *buf, size_t size, int *ret_fds, size_t max_fds,
                               size_t *ret_n_fds, bool nonblock, transport_dispose_fn dispose,
                               void *userdata) {
        /* Room for every fd one message can carry (SCM_MAX_FD, 1 KiB), not
         * just for the ones we want: fds that do not fit the control buffer
         * are dropped by the kernel inside recvmsg(), and the last close of
         * each then runs on this thread, where a lingering socket or a FUSE
         * file would hold it for as long as its peer likes. Received, the
         * surplus goes to @dispose (the manager's closer). MSG_CTRUNC can
         * still come from a full fd table (EMFILE); the manager's caps keep
         * room in it. */
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FD)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof(control.buf),
        };
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (nonblock ? MSG_DONTWAIT : 0));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return take_fds(&mh, n, ret_fds, max_fds, ret_n_fds, dispose, userdata);
}

int transport_recv_many(int sock, transport_slot *slots, size_t n, transport_dispose_fn dispose,
                        void *userdata) {
        struct mmsghdr mm[TRANSPORT_RECV_BATCH_MAX];
        struct iovec iov[TRANSPORT_RECV_BATCH_MAX];
        int k;

        n = MIN(n, (size_t) TRANSPORT_RECV_BATCH_MAX);
        if (n == 0)
                return -EAGAIN;
        for (size_t i = 0; i < n; i++) {
                iov[i] = (struct iovec){ .iov_base = slots[i].data,
                                         .iov_len = sizeof(slots[i].data) };
                mm[i] = (struct mmsghdr){ .msg_hdr = {
                                                  .msg_iov = &iov[i],
                                                  .msg_iovlen = 1,
                                                  .msg_control = slots[i].control.buf,
                                                  .msg_controllen = sizeof(slots[i].control.buf),
                                          } };
        }

        /* Each message gets the whole control buffer of its slot: see
         * transport_recv_dispose() for why. */
        do
                k = recvmmsg(sock, mm, (unsigned) n, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        for (int i = 0; i < k; i++) {
                slots[i].n_fds = 0;
                slots[i].len = take_fds(&mm[i].msg_hdr, (ssize_t) mm[i].msg_len, slots[i].fds,
                                        WIRE_FDS_MAX, &slots[i].n_fds, dispose, userdata);
        }
        return k;
}
