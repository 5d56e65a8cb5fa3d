/* node_services.h: the node init's side of the node's services.
 *
 * When `usernode run` has no command, the node init runs this instead of a payload: it prepares
 * the inside of the node (launcher/node/node_setup.h, in a short-lived child: setup_child.h) and
 * runs the plan the launcher built (node_plan.h) with the supervisor on the init's event loop, telling the launcher how the services are doing over the
 * launcher <-> init channel (NODE_MSG_SERVICE_STATE, NODE_MSG_STATUS_TEXT,
 * NODE_MSG_SERVICES_READY). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "common/event_loop.h"

#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"
#include "launcher/services/service.h"

struct node_services_config {
        const struct node_settings *settings; /* loaded and checked by the launcher before clone */
        const struct host_tools *tools;
        struct service_plan *plan; /* rendered by the launcher before the clone; taken over */
        int channel_fd;
        bool own_network;
};

struct node_services;

/* Prepare the node and start its services; takes over config->plan, also on failure.
 * `on_stopped` runs once node_services_stop() has stopped every service (the init then exits 0).
 * Returns 0 or a negative errno, logged. */
int node_services_start(event_loop *event, const struct node_services_config *config,
                        void (*on_stopped)(void *userdata), void *userdata, struct node_services **ret);

/* From the init's SIGCHLD handler, for every reaped child: 1 if it was a service, else 0. */
int node_services_child_exited(struct node_services *ns, pid_t pid, int status);

/* SIGTERM/SIGINT: ordered stop. SIGHUP: re-read the INI file, re-render, restart what changed. */
void node_services_stop(struct node_services *ns);
void node_services_reload(struct node_services *ns);

struct node_services *node_services_free(struct node_services *ns);
