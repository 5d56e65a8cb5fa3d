/* node_identity.h: who a joined node is to the cluster: its name (kubelet's --hostname-override
 * and the node's UTS hostname) and its IP (kubelet's --node-ip, where the API server reaches
 * 10250). */
#pragma once

#include <stddef.h>

#define NODE_IP_MAX 46 /* INET6_ADDRSTRLEN */

/* CONFIGURED ([cluster] node_name) if set; else the host's hostname, lowercased, for the node
 * "default", HOSTNAME-NODE for any other. Checked as a DNS-1123 subdomain. Returns 0, or -EINVAL
 * after logging what to set instead. */
int node_identity_name(const char *node, const char *configured, char **ret);

/* CONFIGURED ([cluster] node_ip) if set; else the source address of the host's route to SERVER
 * (https://HOST[:PORT]), found by connecting a UDP socket (nothing is sent). RET gets the
 * address text. Returns 0; -EINVAL when that is the server's own address (the server runs on
 * this host, and the node cannot take its address); or another negative errno; logged either way. */
int node_identity_ip(const char *server, const char *configured, char ret[NODE_IP_MAX]);
