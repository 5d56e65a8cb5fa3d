/* channel.h: small typed messages over a SOCK_SEQPACKET socket, optionally carrying one fd.
 *
 * The launcher and the node init talk over one socketpair made with channel_pair(). SEQPACKET
 * keeps message boundaries, so a message is a fixed header followed by at most
 * CHANNEL_PAYLOAD_MAX bytes; a received fd always arrives O_CLOEXEC. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CHANNEL_PAYLOAD_MAX 4096

struct channel_message {
        uint32_t type;
        uint32_t length; /* bytes used in payload */
        char payload[CHANNEL_PAYLOAD_MAX];
};

/* Both ends O_CLOEXEC. Returns 0 or a negative errno. */
int channel_pair(int fds[2]);

/* Send type + payload (length <= CHANNEL_PAYLOAD_MAX) and, when fd >= 0, that fd. */
int channel_send(int sock, uint32_t type, const void *payload, size_t length, int fd);

/* Receive one message. *fd_out gets a passed fd or -EBADF. Returns 0, -ECONNRESET on EOF, or a
 * negative errno; -EBADMSG for a message that is too short or too long; -EMFILE for a whole
 * message whose passed fd the kernel dropped (the receiver's open-file limit): message is valid
 * then, the fd is lost. */
int channel_recv(int sock, struct channel_message *message, int *fd_out);

/* channel_recv() for messages that carry no fd: one passed anyway is closed, never leaked. */
int channel_recv_message(int sock, struct channel_message *message);
