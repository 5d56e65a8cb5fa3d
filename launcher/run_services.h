/* run_services.h: the launcher's part in `usernode run` without a command: everything that can
 * fail because of the host or the configuration is checked here, before any namespace exists, so
 * a missing crio or a bad key stops the run at once with the right exit code. */
#pragma once

#include "launcher/cluster/cluster_join.h"
#include "launcher/cluster/join_files.h"
#include "launcher/cluster/service_ports.h"
#include "launcher/config/config.h"
#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"
#include "launcher/api/node_status.h"

struct service_plan;

struct run_services {
        struct node_settings settings; /* handed to the node init, which inherits it at clone */
        struct host_tools tools;
        struct service_plan *plan; /* built by run_services_prepare(); the node init runs its copy */
        struct node_status status; /* what the init reported; for notify_send() and `status` */
        struct cluster_join join; /* [cluster]; join.joining false when standalone */
        struct cluster_endpoint cluster; /* the trusted server and CA, after discovery */
        char *node_name; /* in the cluster (launcher/cluster/node_identity.h) */
        char node_ip[46];
        struct service_ports *service_ports; /* joined, once the node runs */
        pid_t agent_pid; /* the cluster agent (the cluster program, launcher/cluster_spawn.h), 0 when none */
};

/* A join's discovery ([cluster] keys; in the cluster program, launcher/cluster_spawn.h): run
 * first, before any namespace, lock or file exists, so a wrong server, token or hash is refused
 * with nothing to undo. Returns 0 (also when not joining), or the exit code to stop with:
 * EXIT_USAGE for the configuration, EXIT_HOST when the cluster is not reachable or not trusted,
 * EXIT_RUNTIME. Also the node's name and IP in the cluster. Call run_services_done() in either
 * case. */
int run_services_discover(struct run_services *rs, const struct config *config, const char *node);

/* After run_services_discover(): the node's settings from its loaded configuration (pod_host: the
 * node's id maps, for kubelet's maxPods and the slice of pods with their own user namespace,
 * launcher/services/pod_userns.h) (config_path: the file it came from, NULL
 * for the default; kept for reloads); find crio, kubelet and their helpers; plan the services
 * (rendering into the state dir, which must exist) into rs->plan; when joining, last, write the bootstrap
 * kubeconfig and the CA into the data dir. Returns 0, or the exit code to stop with
 * (EXIT_USAGE for the configuration, EXIT_HOST for the host), the cause logged. Call
 * run_services_done() in either case. */
int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated,
                         const struct pod_userns_host *pod_host);

/* Joined, once the node is up (PF NULL with --net=host): publish kubelet's 10250 on the node IP,
 * serve the Services' ports on the control API and start the cluster agent. Nothing when not
 * joined. Returns 0 or a negative errno, logged. */
int run_services_start_cluster(struct run_services *rs, event_loop *event, struct control_api *api,
                               struct portfwd *pf);

/* Stop the cluster agent and forget the Services' ports; call after the control API is freed. */
void run_services_stop_cluster(struct run_services *rs);

void run_services_done(struct run_services *rs);
