/* netconf.h: the node's network namespace configured from the inside, by netlink (libmnl).
 *
 * Called by the node init in the node's network namespace, where it holds CAP_NET_ADMIN through
 * the node's user namespace. Nothing here runs `ip` or touches the host's network. */
#pragma once

#include <netinet/in.h>
#include <stdint.h>

/* Set IFF_UP on `ifname` (e.g. "lo"). Returns 0 or a negative errno. */
int netconf_link_up(const char *ifname);

/* Set the MTU of `ifname`. Returns 0 or a negative errno (-EINVAL for an MTU the device refuses). */
int netconf_link_set_mtu(const char *ifname, uint32_t mtu);

/* Add `address`/`prefix_len` to `ifname`; `family` is AF_INET (address is a struct in_addr) or
 * AF_INET6 (struct in6_addr, added without duplicate address detection so it is usable at once). */
int netconf_address_add(const char *ifname, int family, const void *address, unsigned prefix_len);

/* Add the default route of `family` through `gateway` on `ifname`. */
int netconf_route_add_default(const char *ifname, int family, const void *gateway);

/* Write `value` to /proc/sys/`key` (key with slashes: "net/ipv4/ip_forward"). */
int netconf_sysctl_write(const char *key, const char *value);
