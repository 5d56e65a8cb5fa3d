/* tcp_destination.h: where the engine connects a redirected connection of the node, with slirp's
 * address semantics (netns/tcp_redirect.h). */
#pragma once

#include <sys/socket.h>

#include "netns/network_options.h"

/* Map the node's original destination `original` (AF_INET or AF_INET6) to the host address to
 * connect: the gateway becomes the host's loopback when host_loopback allows it, any other
 * address of slirp's networks is refused (slirp answers those itself), everything else is
 * connected as it is. With outbound_addr(6), *ret_bind gets the address to bind to first
 * (ss_family AF_UNSPEC otherwise). Returns 0, -EACCES (the gateway without host_loopback) or
 * -EHOSTUNREACH (slirp's own address space), -EAFNOSUPPORT for another family. */
int tcp_destination_map(const struct network_options *options, const struct sockaddr_storage *original,
                        struct sockaddr_storage *ret_connect, struct sockaddr_storage *ret_bind);
