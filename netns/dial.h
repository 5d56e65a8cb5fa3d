/* dial.h: the dial helper, which opens sockets inside the node's network namespace for the
 * launcher's port forwarder (portfwd.h).
 *
 * It runs in the node init and answers on a socketpair of its own (not the launcher <-> init
 * channel of node_protocol.h), so forwarding never interleaves with the init's other messages.
 * A request names a protocol and a node address; the reply carries either a socket connected to
 * it (SCM_RIGHTS, non-blocking, O_CLOEXEC) or the errno of the failed connect. Replies may come
 * out of order (a connect that is still in progress does not hold up the others): the cookie * of the request is echoed in its reply.
 *
 * The launcher may also ask ahead for unconnected TCP sockets made in the node: a socket stays
 * in the network namespace it was created in, so the launcher's own connect() on it reaches
 * the node's 127.0.0.1. With a few of those at hand, a new connection costs no round trip to
 * the init; a dial request is the fallback when none is left. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include "common/event_loop.h"

enum dial_message {
        DIAL_MSG_REQUEST = 1,
        /* launcher -> init: struct dial_request */
        DIAL_MSG_REPLY, /* init -> launcher: struct dial_reply, plus the socket on success */
        DIAL_MSG_SOCKETS, /* launcher -> init: struct dial_sockets_request */
        DIAL_MSG_SOCKET, /* init -> launcher: struct dial_socket, plus an unconnected TCP socket */
};

#define DIAL_SOCKETS_MAX 64 /* per DIAL_MSG_SOCKETS request */

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

struct dial_sockets_request {
        int32_t family; /* AF_INET or AF_INET6 */
        uint32_t count; /* <= DIAL_SOCKETS_MAX; each comes as one DIAL_MSG_SOCKET */
};

struct dial_socket {
        int32_t family;
};

/* What the launcher receives: type says which member is set. */
struct dial_answer {
        uint32_t type; /* DIAL_MSG_REPLY or DIAL_MSG_SOCKET */
        union {
                struct dial_reply reply;
                struct dial_socket socket;
        };
};

/* Launcher side: make the socketpair; fds[0] for the launcher, fds[1] for the node init. Both
 * ends are non-blocking and O_CLOEXEC. */
int dial_pair(int fds[2]);

/* Launcher side: send one request. Returns 0 or a negative errno (-EAGAIN when the channel is
 * full). */
int dial_send_request(int fd, uint64_t cookie, int protocol, const struct sockaddr_storage *address,
                      uint32_t address_length);

/* Launcher side: ask for count unconnected TCP sockets of that family. */
int dial_send_sockets_request(int fd, int family, unsigned count);

/* Launcher side: receive one answer. *ret_fd gets the socket or -EBADF. Returns 0, -EAGAIN when
 * there is none, -ECONNRESET when the node init is gone, -EMFILE for an answer (filled in) whose
 * socket was lost at the open-file limit, or another negative errno. */
int dial_recv(int fd, struct dial_answer *answer, int *ret_fd);

/* Node init side: answer requests arriving on fd (takes ownership) from the event loop, until
 * the launcher closes its end. */
struct dial_helper;
int dial_helper_new(event_loop *event, int fd, struct dial_helper **ret);
struct dial_helper *dial_helper_free(struct dial_helper *helper);
