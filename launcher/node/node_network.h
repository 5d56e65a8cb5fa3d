/* node_network.h: the node init's half of the network: everything inside the node's network
 * namespace. The launcher's half (the engine, its restarts, the state-dir files) is
 * launcher/network.h. */
#pragma once

#include <stdbool.h>

#include "netns/network_options.h"

/* Create tap0 and give it its MTU, addresses and default routes, set the sysctls a
 * node needs. Runs in the node's (new) network namespace, with /proc of that namespace mounted.
 * Returns the tap fd for the engine, or a negative errno, logged; -ENODEV means the host's
 * /dev/net/tun is missing or closed to the user (exit EXIT_HOST). */
int node_network_setup(const struct network_options *options);

/* net.ipv4.ping_group_range = "0 HIGHEST", HIGHEST the node's highest mapped gid: the kernel
 * refuses (EINVAL) a range with unmapped gids. Returns 0 or a negative errno. */
int node_network_ping_range(void);

/* Bind the state dir's resolv.conf and hosts on /etc/resolv.conf and /etc/hosts (after copy-up). */
int node_network_bind_files(const char *state_dir);

/* The node init's whole network step: node_network_setup(), with `masquerade_pods` the pods'
 * source NAT (netns/pod_masquerade.h), the tap fd sent to the launcher as NODE_MSG_TAP_FD on
 * `channel_fd`, node_network_bind_files(), then the launcher's NODE_MSG_ENGINE_UP awaited.
 * Returns 0 or a negative errno, logged (-ENODEV: the host's /dev/net/tun; -EPROTONOSUPPORT: the
 * kernel cannot masquerade; -ECONNRESET: the launcher gave up, and logged why). */
int node_network_handover(const struct network_options *options, bool masquerade_pods, const char *state_dir,
                          int channel_fd);
