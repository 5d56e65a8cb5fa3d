/* cluster_spawn.h: the launcher's side of the cluster program (launcher/cluster/cluster_exec.h),
 * which it carries inside its binary and execs, from a sealed memfd, only for a joined node. */
#pragma once

#include <sys/types.h>

#include "launcher/cluster/cluster_join.h"
#include "launcher/cluster/join_files.h"
#include "launcher/cluster/kubeconfig.h"
#include "launcher/services/node_settings.h"

/* Discovery (cluster_discover()) and the node's name and IP in the cluster (node_identity.h), in
 * the cluster program: NODE is usernode's node, NODE_NAME and NODE_IP the configured [cluster]
 * keys (NULL: unset). Waits for it. Returns 0 with *RET_NAME, *RET_CLUSTER and RET_IP filled, or
 * the exit code to stop with (EXIT_USAGE, EXIT_HOST, EXIT_RUNTIME), the cause logged. */
int cluster_program_discover(const struct cluster_join *join, const char *node, const char *node_name,
                             const char *node_ip, char **ret_name, struct cluster_endpoint *ret_cluster,
                             char ret_ip[46]);

/* join_files_write() and serving_cert_ensure(), in the cluster program. Waits for it. Returns 0
 * or the exit code to stop with, the cause logged. */
int cluster_program_write_files(const struct join_files *files, const struct cluster_endpoint *cluster,
                                const char *token, const char *node_name, const char *node_ip);

/* Start the cluster agent (cluster_agent.h) for the node of S; it gets SIGTERM when the launcher
 * ends. Returns its pid or a negative errno. */
pid_t cluster_program_start_agent(const struct node_settings *s);
