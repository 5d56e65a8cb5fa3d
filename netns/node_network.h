/* node_network.h: the node init's half of the network: everything inside the node's network
 * namespace. The launcher's half (the engine, its restarts, the state-dir files) is
 * launcher/network.h. */
#pragma once

#include "netns/network_options.h"

/* Bring lo up, create tap0 and give it its MTU, addresses and default routes, set the sysctls a
 * node needs. Runs in the node's (new) network namespace, with /proc of that namespace mounted.
 * Returns the tap fd for the engine, or a negative errno, logged; -ENOENT, -EACCES and -EPERM
 * mean the host's /dev/net/tun is missing or closed to the user (exit EXIT_HOST). */
int node_network_setup(const struct network_options *options);

/* Bind the state dir's resolv.conf and hosts on /etc/resolv.conf and /etc/hosts (after copy-up). */
int node_network_bind_files(const char *state_dir);
