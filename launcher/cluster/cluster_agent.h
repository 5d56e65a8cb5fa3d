/* cluster_agent.h: the joined node's watcher of the cluster, the cluster program's `agent`
 * command (cluster_exec.h), started by the launcher (host namespaces, blocking HTTPS with
 * libcurl, no shared state): with the node's own
 * credentials (the kubeconfig kubelet's TLS bootstrap writes) it reads the node's spec.podCIDR
 * once the cluster allocates one, and watches the Services to keep their NodePort and
 * LoadBalancer ports published (service_ports.h, over the control socket). */
#pragma once

#include "launcher/services/node_settings.h"

/* The agent's loop, with the node's kubeconfig, data and state dirs, hostname, node IP and
 * [cni] bridge, subnet and masquerade from SETTINGS. Never returns; ends with a signal. */
_Noreturn void cluster_agent_main(const struct node_settings *settings);
