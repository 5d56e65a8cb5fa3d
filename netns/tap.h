/* tap.h: the node's tap device, the wire between the node's network namespace and the engine.
 *
 * The node init creates it in the node's network namespace (creating a tap device needs
 * CAP_NET_ADMIN over that namespace, which the init has) and hands the fd to the launcher; the
 * slirp engine, in the host's network namespace, reads and writes Ethernet frames on it. */
#pragma once

#define TAP_DEVICE_PATH "/dev/net/tun"
#define TAP_NAME "tap0"

/* Create tap device `name` (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, checksum and TSO offloads, see
 * tap_frame.h) in the current network namespace. Returns its fd
 * (O_CLOEXEC, blocking) or a negative errno: -ENOENT when /dev/net/tun is missing, -EACCES or
 * -EPERM when it may not be opened. */
int tap_create(const char *name);
