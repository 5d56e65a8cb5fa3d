/* cluster_agent.h: the joined node's watcher of the cluster, a process of its own forked by the
 * launcher (host namespaces, blocking HTTPS with libcurl, no shared state): with the node's own
 * credentials (the kubeconfig kubelet's TLS bootstrap writes) it reads the node's spec.podCIDR
 * once the cluster allocates one, and watches the Services to keep their NodePort and
 * LoadBalancer ports published (service_ports.h, over the control socket). */
#pragma once

#include <sys/types.h>

#include "launcher/services/node_settings.h"

struct cluster_agent_config {
        const struct node_settings *settings; /* kubeconfig, data and state dirs, hostname, node IP */
};

/* Fork the agent. Returns its pid, or a negative errno. It ends when the launcher does. */
pid_t cluster_agent_start(const struct cluster_agent_config *config);
