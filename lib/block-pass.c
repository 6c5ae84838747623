/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * block-pass — one block to a running process over any connected AF_UNIX
 * socket: its fd, name, size and mode in one message (block-pass.h has the
 * format).
 *
 * Guarantees: a received fd is close-on-exec from birth (MSG_CMSG_CLOEXEC)
 * and has exactly one owner on every path: the segment on success, else it
 * is closed, with every other fd the message carried (SCM_RIGHTS beyond the
 * first, and the SCM_PIDFD that SO_PASSPIDFD adds). A block is accepted
 * only when it is a memfd whose size is sealed and is the size announced,
 * so that mapping it can never SIGBUS, and, when announced read-only, only
 * when its fd is. Each refusal has its own errno (lmm.h).
 *
 * This is not transport.c: that one speaks the manager's SEQPACKET
 * protocol; this one also reads streams, where a message may arrive in
 * pieces, and tells its refusals apart.
 */

#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "block-pass.h"
#include "lmm.h"
#include "missing.h"
#include "segment.h"
#include "util.h"

/* ---------------------------------------------------------------- encoding */

static void put16(uint8_t *p, uint16_t v) {
        v = htole16(v);
        memcpy(p, &v, sizeof(v));
}
static void put32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}
static void put64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}
static uint16_t get16(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return le16toh(v);
}
static uint32_t get32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}
static uint64_t get64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

static bool block_name_is_valid(const char *name, size_t len) {
        uint32_t uid;
        size_t offset;

        return len == 0 || name_split(name, len, &uid, &offset) >= 0;
}

int block_msg_encode(const block_msg *m, uint8_t *buf) {
        if (m->name_len > LMM_NAME_MAX || (m->flags & ~(uint32_t) BLOCK_MSG_READ_ONLY))
                return -EINVAL;
        put32(buf, BLOCK_MSG_MAGIC);
        put16(buf + 4, BLOCK_MSG_VERSION);
        put16(buf + 6, (uint16_t) m->name_len);
        put32(buf + 8, m->flags);
        put32(buf + 12, 0);
        put64(buf + 16, m->size);
        memcpy(buf + BLOCK_MSG_HEADER_SIZE, m->name, m->name_len);
        return BLOCK_MSG_HEADER_SIZE + (int) m->name_len;
}

int block_msg_decode_header(const uint8_t *buf, size_t len, block_msg *ret) {
        block_msg m = {};

        if (len < BLOCK_MSG_HEADER_SIZE || get32(buf) != BLOCK_MSG_MAGIC)
                return -EBADMSG;
        if (get16(buf + 4) != BLOCK_MSG_VERSION)
                return -EPROTONOSUPPORT;
        m.name_len = get16(buf + 6);
        m.flags = get32(buf + 8);
        m.size = get64(buf + 16);
        if (m.name_len > LMM_NAME_MAX || (m.flags & ~(uint32_t) BLOCK_MSG_READ_ONLY) ||
            get32(buf + 12) != 0)
                return -EBADMSG;
        *ret = m;
        return 0;
}

int block_msg_decode(const uint8_t *buf, size_t len, block_msg *ret) {
        block_msg m;
        int r;

        r = block_msg_decode_header(buf, len, &m);
        if (r < 0)
                return r;
        if (len != BLOCK_MSG_HEADER_SIZE + m.name_len)
                return -EBADMSG;
        memcpy(m.name, buf + BLOCK_MSG_HEADER_SIZE, m.name_len);
        m.name[m.name_len] = 0;
        if (!block_name_is_valid(m.name, m.name_len))
                return -EBADMSG;
        *ret = m;
        return 0;
}

/* ---------------------------------------------------------------- sending */

static int socket_type(int sock) {
        int type;
        socklen_t len = sizeof(type);

        if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return negative_errno();
        return type;
}

static int wait_for(int sock, short events) {
        struct pollfd p = { .fd = sock, .events = events };

        while (poll(&p, 1, -1) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return 0;
}

_public_ int lmm_block_send(int sock, lmm_segment *s, uint32_t flags) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        _cleanup_close_ int ro = -EBADF;
        uint8_t buf[BLOCK_MSG_MAX];
        block_msg m = {};
        const char *name;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *c;
        size_t len, sent;
        ssize_t n;
        int fd, type, r;

        if (sock < 0)
                return -EBADF;
        if (!s || (flags & ~(uint32_t) LMM_SEND_READ_ONLY))
                return -EINVAL;
        fd = lmm_segment_get_fd(s);
        name = lmm_segment_get_name(s) ?: "";
        m.name_len = strlen(name);
        if (m.name_len > LMM_NAME_MAX)
                return -EINVAL;
        memcpy(m.name, name, m.name_len);
        m.size = lmm_segment_get_size(s);

        r = fd_is_writable(fd);
        if (r < 0)
                return r;
        if ((flags & LMM_SEND_READ_ONLY) && r > 0) {
                r = fd_reopen(fd, O_RDONLY, &ro);
                if (r < 0)
                        return r;
                fd = ro;
        } else if (r == 0)
                flags |= LMM_SEND_READ_ONLY; /* say what it is */
        m.flags = (flags & LMM_SEND_READ_ONLY) ? BLOCK_MSG_READ_ONLY : 0;
        r = block_msg_encode(&m, buf);
        if (r < 0)
                return r;
        len = (size_t) r;
        type = socket_type(sock);
        if (type < 0)
                return type;

        iov = (struct iovec){ .iov_base = buf, .iov_len = len };
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));

        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if (type != SOCK_STREAM)
                return (size_t) n == len ? 0 : -EIO; /* records go whole or not at all */

        /* A stream may take part of it: the fd went with the first byte,
         * the rest follows, waited for even on a non-blocking socket. */
        for (sent = (size_t) n; sent < len; sent += (size_t) n) {
                n = send(sock, buf + sent, len - sent, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) {
                        n = 0;
                        continue;
                }
                if (n < 0 && errno == EAGAIN) {
                        r = wait_for(sock, POLLOUT);
                        if (r < 0)
                                return r;
                        n = 0;
                        continue;
                }
                if (n < 0)
                        return negative_errno();
        }
        return 0;
}

/* ---------------------------------------------------------------- receiving */

typedef struct recv_state {
        int fd;         /* the first fd that came, or -EBADF */
        unsigned n_fds; /* how many came, the first included */
        bool ctrunc;    /* the kernel dropped some */
        bool truncated; /* a record longer than the buffer */
        bool nonblocking;
} recv_state;

/* One recvmsg(): keep the first fd, close every other. Return: bytes, 0 at EOF, -errno. */
static ssize_t recv_some(int sock, uint8_t *buf, size_t size, recv_state *st) {
        /* Room for every fd a message can carry: a peer that sends more
         * than one is told so (-ETOOMANYREFS), not mistaken for a full fd
         * table (MSG_CTRUNC). */
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * (SCM_MAX_FD + 1))];
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
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET ||
                    (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD))
                        continue; /* credentials and the like: no fd in them */
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (c->cmsg_type == SCM_RIGHTS && st->n_fds++ == 0)
                                st->fd = fd;
                        else
                                safe_close(fd);
                }
        }
        if (mh.msg_flags & MSG_CTRUNC)
                st->ctrunc = true;
        if (mh.msg_flags & MSG_TRUNC)
                st->truncated = true;
        return n;
}

/* On a stream: read until @buf holds @want bytes (*@got already there). */
static int recv_stream_until(int sock, uint8_t *buf, size_t want, size_t *got, recv_state *st) {
        while (*got < want) {
                ssize_t n = recv_some(sock, buf + *got, want - *got, st);

                if (n == -EAGAIN && st->nonblocking) {
                        int r = wait_for(sock, POLLIN);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n == -EAGAIN) /* a blocking socket's SO_RCVTIMEO ran out mid-message */
                        return -ETIMEDOUT;
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        return -EBADMSG; /* the stream ended inside a message */
                *got += (size_t) n;
        }
        return 0;
}

static int recv_message(int sock, int type, uint8_t *buf, block_msg *m, recv_state *st) {
        size_t got = 0;
        ssize_t n;
        int r;

        if (type != SOCK_STREAM) {
                /* One record: one byte more than the longest, to see a longer one. */
                n = recv_some(sock, buf, BLOCK_MSG_MAX + 1, st);
                if (n < 0)
                        return (int) n;
                if (n == 0 && type == SOCK_SEQPACKET && st->n_fds == 0)
                        return -ECONNRESET;
                if (st->truncated || n > BLOCK_MSG_MAX)
                        return -EBADMSG;
                return block_msg_decode(buf, (size_t) n, m);
        }

        n = recv_some(sock, buf, BLOCK_MSG_HEADER_SIZE, st);
        if (n < 0)
                return (int) n;
        if (n == 0)
                return st->n_fds == 0 ? -ECONNRESET : -EBADMSG;
        got = (size_t) n;
        r = recv_stream_until(sock, buf, BLOCK_MSG_HEADER_SIZE, &got, st);
        if (r < 0)
                return r;
        r = block_msg_decode_header(buf, got, m);
        if (r < 0)
                return r;
        r = recv_stream_until(sock, buf, BLOCK_MSG_HEADER_SIZE + m->name_len, &got, st);
        if (r < 0)
                return r;
        return block_msg_decode(buf, got, m);
}

_public_ int lmm_block_recv(int sock, uint32_t flags, lmm_segment **ret) {
        _cleanup_close_ int fd = -EBADF;
        recv_state st = { .fd = -EBADF };
        uint8_t buf[BLOCK_MSG_MAX + 1];
        block_msg m;
        uint64_t size;
        int type, fl, r, seals, writable;

        if (sock < 0)
                return -EBADF;
        if (flags != 0 || !ret)
                return -EINVAL;
        type = socket_type(sock);
        if (type < 0)
                return type;
        fl = fcntl(sock, F_GETFL);
        if (fl < 0)
                return negative_errno();
        st.nonblocking = fl & O_NONBLOCK;

        r = recv_message(sock, type, buf, &m, &st);
        fd = st.fd; /* ours from here on: every refusal closes it */
        if (st.ctrunc)
                return -ENOBUFS;
        if (r < 0)
                return r;
        if (st.n_fds == 0)
                return -ENODATA;
        if (st.n_fds > 1)
                return -ETOOMANYREFS;

        r = fd_is_memfd(fd);
        if (r < 0)
                return r;
        if (r == 0)
                return -EMEDIUMTYPE;
        seals = fd_get_seals(fd);
        if (seals < 0)
                return seals;
        if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
                return -EPERM;
        r = fd_get_size(fd, &size);
        if (r < 0)
                return r;
        if (size != m.size)
                return -EIO;
        writable = fd_is_writable(fd);
        if (writable < 0)
                return writable;
        if ((m.flags & BLOCK_MSG_READ_ONLY) && writable)
                return -EROFS;
        return segment_new(TAKE_FD(fd), size, m.name_len > 0 ? m.name : NULL, writable, ret);
}
