/* netconf.h: configuration of the node's network namespace by rtnetlink (libmnl), from inside. */
#pragma once

/* Set IFF_UP on the interface. Returns 0 or a negative errno. */
int netconf_link_up(const char *ifname);
