/* node_api.h: the "node.*" methods of the control API (control_api.h).
 *
 *   node.status -> {"node": {"name", "pid", "launcher_pid", "uptime_seconds", "payload", "network":
 *                   {"mode", "mtu", "cidr", "tcp_path", "tcp_path_detail"}, "cgroup",
 *                   "cgroup_delegation", "cgroup_controllers"},
 *                   "ready", "status",
 *                   "services": [{"name", "state", "pid" (in the node's pid namespace),
 *                   "host_pid" (the same process as the host numbers it), "restarts",
 *                   "last_exit_status", "uptime_seconds"}...]}
 *   node.stop   -> {} at once; the node then stops as on SIGTERM (services in reverse order). */
#pragma once

#include <sys/types.h>

#include "launcher/api/control_api.h"
#include "launcher/api/node_status.h"

struct node_api_context {
        const char *name;
        pid_t init_pid; /* the node init, as the host sees it */
        long long started_realtime; /* CLOCK_REALTIME usec when the node was started */
        const char *network_mode; /* "slirp", "none", "host" */
        unsigned mtu; /* 0 when the node has no network of its own */
        const char *cidr; /* NULL when none */
        const char *tcp_path; /* the path outbound TCP takes: "kernel", "slirp"; NULL when no slirp */
        const char *tcp_path_detail; /* why it is "slirp" although "kernel" was asked for; or NULL */
        const struct node_status *services; /* NULL: the node runs a command, not services */
        const char *cgroup; /* one line from cgroup_node_describe(); NULL: the init's cgroup path */
        const char *cgroup_delegation; /* "none", "existing", "systemd"; NULL: not known */
        const char *cgroup_controllers; /* space-separated, enabled for the node */
        void (*stop)(void *userdata); /* begin the ordered stop */
        void *stop_userdata;
};

/* Registers node.status and node.stop; ctx must outlive the API. */
int node_api_register(struct control_api *api, struct node_api_context *ctx);
