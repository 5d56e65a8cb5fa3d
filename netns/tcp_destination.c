/* tcp_destination.c: slirp's address semantics for the kernel TCP path. */
#include "netns/tcp_destination.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static int map_inet(const struct network_options *options, const struct network_layout *layout,
                    struct sockaddr_in *sin, struct sockaddr_in *bind_to) {
        if (sin->sin_addr.s_addr == layout->gateway.s_addr) {
                if (!options->host_loopback)
                        return -EACCES;
                sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if ((sin->sin_addr.s_addr & layout->netmask.s_addr) == options->network.s_addr)
                return -EHOSTUNREACH;
        /* As slirp: what goes to the host's loopback is not bound, what leaves the host is. */
        if (options->has_outbound_addr && sin->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
                *bind_to = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = options->outbound_addr };
        return 0;
}

static int map_inet6(const struct network_options *options, const struct network_layout *layout,
                     struct sockaddr_in6 *sin6, struct sockaddr_in6 *bind_to) {
        if (IN6_ARE_ADDR_EQUAL(&sin6->sin6_addr, &layout->gateway6)) {
                if (!options->host_loopback)
                        return -EACCES;
                sin6->sin6_addr = in6addr_loopback;
        } else if (memcmp(&sin6->sin6_addr, &layout->prefix6, layout->prefix6_len / 8) == 0)
                return -EHOSTUNREACH;
        if (options->has_outbound_addr6 && !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
                *bind_to = (struct sockaddr_in6){ .sin6_family = AF_INET6,
                                                  .sin6_addr = options->outbound_addr6 };
        return 0;
}

int tcp_destination_map(const struct network_options *options, const struct sockaddr_storage *original,
                        struct sockaddr_storage *ret_connect, struct sockaddr_storage *ret_bind) {
        struct network_layout layout;

        network_options_layout(options, &layout);
        *ret_connect = *original;
        *ret_bind = (struct sockaddr_storage){ .ss_family = AF_UNSPEC };
        if (original->ss_family == AF_INET)
                return map_inet(options, &layout, (struct sockaddr_in *)ret_connect,
                                (struct sockaddr_in *)ret_bind);
        if (original->ss_family == AF_INET6)
                return map_inet6(options, &layout, (struct sockaddr_in6 *)ret_connect,
                                 (struct sockaddr_in6 *)ret_bind);
        return -EAFNOSUPPORT;
}
