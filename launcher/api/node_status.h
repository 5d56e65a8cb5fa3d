/* node_status.h: the launcher's view of the node's services, kept from the init's messages.
 *
 * The launcher's main process is the one systemd watches (Type=notify), so it is the one that
 * says READY=1 and STATUS=; the control API's `status` answers from the same table. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "common/channel.h"
#include "launcher/services/service.h"

struct node_status {
        struct service_status *services;
        size_t n_services;
        bool ready;
        char last_status[256];
};

/* Take one message from the init. Returns 1 when it was a node-services message (handled: the
 * table updated, the notification sent), 0 for any other type, or a negative errno. */
int node_status_on_message(struct node_status *ns, const struct channel_message *m);

/* {"ready": bool, "status": "...", "services": [{"name", "state", "pid", "restarts",
 * "last_exit_status", "uptime_seconds"}...]}; NULL on allocation failure. */
json_object *node_status_to_json(const struct node_status *ns);

void node_status_done(struct node_status *ns);
