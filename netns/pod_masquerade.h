/* pod_masquerade.h: the node's source NAT for its pods' traffic to the outside ([cni] ip_masq).
 *
 * slirp answers only addresses of its own network: a packet from a pod's address (the CNI
 * bridge's subnet) that leaves through tap0 must carry the node's address instead. CNI's bridge
 * plugin can do it (ipMasq), but per pod: at every ADD and DEL it runs iptables several times for
 * a chain of the pod's own, which in the VM (TCG) made ADD 2.1 s instead of 0.57 and DEL 1.4 s
 * instead of 0.51 (medians of 6, the plugin alone), on the way to every container and back. One
 * rule in the node's network namespace, set once at start, does the same for every pod, the
 * bridge's subnet whatever the cluster assigns:
 *
 *   table inet usernode_pods {
 *     chain post { type nat hook postrouting priority 100;
 *       meta nfproto ipv4 oifname "tap0" ip saddr != NODE ip daddr != 224.0.0.0/4 masquerade }
 *   }
 *
 * as the plugin's rules did (their chain skipped the pods' own subnet, which never leaves
 * through tap0, and multicast). */
#pragma once

#include "netns/network_options.h"

#define POD_MASQUERADE_TABLE "usernode_pods"

/* In the node's network namespace, with CAP_NET_ADMIN over it: install the rule. Returns 0 or a
 * negative errno; the kernel keeps nothing of a failed attempt. */
int pod_masquerade_setup(const struct network_options *options);
