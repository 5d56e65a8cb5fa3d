/* channel.c: framed messages and fd passing (SCM_RIGHTS) over SOCK_SEQPACKET. */
#include "common/channel.h"

#include <string.h>
#include <sys/socket.h>

#include "common/macro.h"

int channel_pair(int fds[2]) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
                return negative_errno();
        return 0;
}

int channel_send(int sock, uint32_t type, const void *payload, size_t length, int fd) {
        struct channel_message message = { .type = type, .length = (uint32_t)length };
        union {
                struct cmsghdr align;
                char buffer[CMSG_SPACE(sizeof(int))];
        } control = {};
        size_t header = offsetof(struct channel_message, payload);
        struct iovec iov = { .iov_base = &message, .iov_len = header + length };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (length > CHANNEL_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (length > 0)
                memcpy(message.payload, payload, length);
        if (fd >= 0) {
                msg.msg_control = control.buffer;
                msg.msg_controllen = sizeof(control.buffer);
                struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

int channel_recv(int sock, struct channel_message *message, int *fd_out) {
        union {
                struct cmsghdr align;
                char buffer[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = message, .iov_len = sizeof(*message) };
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = control.buffer,
                              .msg_controllen = sizeof(control.buffer) };
        size_t header = offsetof(struct channel_message, payload);
        ssize_t n;

        *fd_out = -EBADF;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
                if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
                    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(fd_out, CMSG_DATA(cmsg), sizeof(int));

        if (n == 0)
                return -ECONNRESET;
        if ((size_t)n < header || (msg.msg_flags & MSG_TRUNC) || message->length != (size_t)n - header) {
                if (*fd_out >= 0)
                        close(*fd_out);
                *fd_out = -EBADF;
                return -EBADMSG;
        }
        /* The kernel drops a passed fd it cannot install (the open-file limit) and says so with
         * MSG_CTRUNC: the message itself is whole, and the receiver must learn the fd is gone. */
        if (msg.msg_flags & MSG_CTRUNC) {
                if (*fd_out >= 0)
                        close(*fd_out);
                *fd_out = -EBADF;
                return -EMFILE;
        }
        return 0;
}

int channel_recv_message(int sock, struct channel_message *message) {
        int fd;
        int r = channel_recv(sock, message, &fd);
        if (fd >= 0)
                close(fd);
        return r;
}
