/* node_plan.h: from a node's settings to its rendered files and the plan of its services.
 *
 * crio first (ready when its socket accepts connections), then kubelet (ready when its healthz
 * port answers), then every [service:NAME] in an order that honours their `after`. */
#pragma once

#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"
#include "launcher/services/service.h"

/* Render the node's files into its state dir and build the plan. Logs what is wrong (a bad
 * [service:NAME], an unknown `after`, a cycle) and returns -EINVAL, or another negative errno. */
int node_plan_build(const struct node_settings *s, const struct host_tools *t, struct service_plan **ret);
