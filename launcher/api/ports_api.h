/* ports_api.h: the "ports.*" methods of the control API (control_api.h), backed by the port
 * forwarder (netns/portfwd.h).
 *
 *   ports.add {"spec": SPEC}          -> {"id": N, "spec": CANONICAL}
 *   ports.ls                          -> {"ports": [{"id", "spec", "protocol", "host_address",
 *                                         "host_port", "node_address", "node_port", "count",
 *                                         "connections"}, ...]}
 *   ports.rm {"spec": SPEC} | {"id": N} -> {"id": N} */
#pragma once

#include <json-c/json.h>

#include "launcher/api/control_api.h"
#include "netns/portfwd.h"

/* pf NULL (--net=host): the methods answer that there is nothing to publish. */
int ports_api_register(struct control_api *api, struct portfwd *pf);

/* One port as ports.ls describes it (also used by `usernode ports ls`). */
struct json_object *ports_api_describe(const struct portfwd_port *port);
