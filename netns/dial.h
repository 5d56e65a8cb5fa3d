/* dial.h: the dial helper, which opens sockets inside the node's network namespace for the
 * launcher's port forwarder (portfwd.h).
 *
 * It runs in the node init and answers on a socketpair of its own (not the launcher <-> init
 * channel of node_protocol.h), so forwarding never interleaves with the init's other messages.
 * A request names a protocol and a node address; the reply carries either a socket connected to
 * it (SCM_RIGHTS, non-blocking, O_CLOEXEC) or the errno of the failed connect. Replies may come
 * out of order (a connect that is still in progress does not hold up the others): the cookie
 * of the request is echoed in its reply. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include <systemd/sd-event.h>

enum dial_message {
        DIAL_MSG_REQUEST = 1, /* launcher -> init: struct dial_request */
        DIAL_MSG_REPLY, /* init -> launcher: struct dial_reply, plus the socket on success */
};

struct dial_request {
        uint64_t cookie;
        int32_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
        uint32_t address_length;
        struct sockaddr_storage address; /* AF_INET or AF_INET6, with the port */
};

struct dial_reply {
        uint64_t cookie;
        int32_t error; /* 0 (the socket is attached) or a positive errno */
};

/* Launcher side: make the socketpair; fds[0] for the launcher, fds[1] for the node init. Both
 * ends are non-blocking and O_CLOEXEC. */
int dial_pair(int fds[2]);

/* Launcher side: send one request. Returns 0 or a negative errno (-EAGAIN when the channel is
 * full). */
int dial_send_request(int fd, uint64_t cookie, int protocol, const struct sockaddr_storage *address,
                      uint32_t address_length);

/* Launcher side: receive one reply. *ret_fd gets the socket or -EBADF. Returns 0, -EAGAIN when
 * there is none, -ECONNRESET when the node init is gone, or another negative errno. */
int dial_recv_reply(int fd, struct dial_reply *reply, int *ret_fd);

/* Node init side: answer requests arriving on fd (takes ownership) from the event loop, until
 * the launcher closes its end. */
struct dial_helper;
int dial_helper_new(sd_event *event, int fd, struct dial_helper **ret);
struct dial_helper *dial_helper_free(struct dial_helper *helper);
