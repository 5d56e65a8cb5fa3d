/* service_ports.h: the host ports a joined node publishes for the cluster's Services (NodePort and
 * LoadBalancer), as k3s's rootlessports does: the cluster agent (cluster_agent.h) watches the
 * Services and hands the launcher the whole wanted set; the launcher publishes what is new and
 * withdraws what is gone, on its own port forwarder. Control API methods:
 *
 *   cluster.ports.set {"ports": [{"spec": SPEC, "source": TEXT}, ...]} -> {"published": N}
 *   cluster.ports.ls                                                   -> {"ports": [{"id", "spec", "source"}]}
 */
#pragma once

#include "launcher/api/control_api.h"
#include "netns/portfwd.h"

#define SERVICE_PORTS_MAX 1024

struct service_ports;

/* Register the methods on API, publishing on PF. Returns 0 or a negative errno. */
int service_ports_new(struct control_api *api, struct portfwd *pf, struct service_ports **ret);
struct service_ports *service_ports_free(struct service_ports *sp);
