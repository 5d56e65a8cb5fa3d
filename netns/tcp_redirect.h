/* tcp_redirect.h: the node's half of the kernel TCP path ([network] tcp_path = kernel).
 *
 * libslirp's TCP has no window scaling: every outbound byte of the node crosses a 64 KiB window
 * and slirp's own segmenting. On this path the node's kernel terminates outbound TCP itself: an
 * nf_tables rule in the node's network namespace redirects TCP that leaves through tap0 to a
 * listening socket of the node, and the engine (netns/tcp_splice.h), which holds that socket,
 * accepts each connection, reads its original destination and connects a host socket to it.
 * UDP, ICMP, DNS and the rest of the node's /24 stay on slirp. */
#pragma once

#include "netns/network_options.h"

/* The nf_tables table the rules live in (family inet), in the node's network namespace. */
#define TCP_REDIRECT_TABLE "usernode"

/* Listening sockets of the node for redirected connections: [0] IPv4, [1] IPv6 (-EBADF without
 * IPv6). */
struct tcp_redirect_listeners {
        int fd[2];
};

/* In the node's network namespace, with CAP_NET_ADMIN over it and tap0 configured: make the
 * listening sockets and install the rules that send outbound TCP to them. Returns 0 with both
 * fds in *ret (O_CLOEXEC, non-blocking), or a negative errno after undoing what it did; the
 * caller logs and keeps TCP on slirp. */
int tcp_redirect_setup(const struct network_options *options, struct tcp_redirect_listeners *ret);
