/* tcp_splice.h: the engine's half of the kernel TCP path (netns/tcp_redirect.h).
 *
 * The engine holds the node's listening sockets. Each connection it accepts is one the node's
 * kernel terminated for a client of the node; the engine reads where the client meant to go,
 * connects a host socket there (netns/tcp_destination.h) and pumps both ways with splice(2)
 * through a pipe per direction. A half-close is passed on as a shutdown, a reset as a reset, a
 * refused or failed connect as a reset of the node's connection. It runs in the engine's poll
 * loop beside slirp: the caller offers the fds it wants each round and hands back their events. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "netns/network_options.h"

struct tcp_flow;

/* The engine's poll set: add() returns the index of a new entry, revents() the events of one. */
struct tcp_splice_poll {
        int (*add)(int fd, short events, void *opaque);
        short (*revents)(int index, void *opaque);
        void *opaque;
};

struct tcp_splice {
        const struct network_options *options;
        int listen_fd[2]; /* IPv4, IPv6; -EBADF when absent */
        int listen_index[2];
        struct tcp_flow *flows;
        size_t n_flows, max_flows;
};

/* Take over `listen_fd` (either may be -EBADF). Returns 0 or a negative errno. */
int tcp_splice_init(struct tcp_splice *s, const struct network_options *options, const int listen_fd[2]);

/* Whether there is anything to serve (any listener). */
static inline bool tcp_splice_enabled(const struct tcp_splice *s) {
        return s->listen_fd[0] >= 0 || s->listen_fd[1] >= 0;
}

/* Offer this round's fds to the poll set. */
void tcp_splice_fill(struct tcp_splice *s, const struct tcp_splice_poll *poll);

/* After poll: accept, connect and pump whatever is ready. */
void tcp_splice_dispatch(struct tcp_splice *s, const struct tcp_splice_poll *poll);
