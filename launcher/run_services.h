/* run_services.h: the launcher's part in `usernode run` without a command: everything that can
 * fail because of the host or the configuration is checked here, before any namespace exists, so
 * a missing crio or a bad key stops the run at once with the right exit code. */
#pragma once

#include "launcher/config/config.h"
#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"
#include "launcher/api/node_status.h"

struct run_services {
        struct node_settings settings; /* handed to the node init, which inherits it at clone */
        struct host_tools tools;
        struct node_status status; /* what the init reported; for sd_notify and `status` */
};

/* The node's settings from its loaded configuration (pod_host: the node's id maps, for kubelet's
 * maxPods and the slice of pods with their own user namespace, launcher/services/pod_userns.h) (config_path: the file it came from, NULL
 * for the default; kept for reloads); find crio, kubelet and their helpers; plan the services
 * (rendering into the state dir, which must exist). Returns 0, or the exit code to stop with
 * (EXIT_USAGE for the configuration, EXIT_HOST for the host), the cause logged. Call
 * run_services_done() in either case. */
int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated,
                         const struct pod_userns_host *pod_host);

void run_services_done(struct run_services *rs);
