/* node_api.c: node.status and node.stop over the control API. */
#include "launcher/api/node_api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/host_pid.h"

/* The node's cgroup as the host sees it: the init's line "0::/PATH" of /proc/PID/cgroup. */
static json_object *cgroup_of(pid_t pid) {
        char path[64], line[4096];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        FILE *f = fopen(path, "re");
        json_object *result = NULL;
        if (!f)
                return NULL;
        while (!result && fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        result = json_object_new_string(line + 3);
                }
        fclose(f);
        return result;
}

/* Each running service also gets "host_pid": its pid as the host sees it, for kill or top. */
static void add_host_pids(json_object *services, pid_t init_pid) {
        for (size_t i = 0; i < json_object_array_length(services); i++) {
                json_object *service = json_object_array_get_idx(services, i);
                json_object *pid = json_object_object_get(service, "pid");
                pid_t host_pid = pid ? host_pid_of(init_pid, (pid_t)json_object_get_int(pid)) : -ESRCH;
                json_object_object_add(service, "host_pid",
                                       host_pid > 0 ? json_object_new_int(host_pid) : NULL);
        }
}

static int method_status(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                         size_t size) {
        struct node_api_context *ctx = userdata;
        struct timespec now;
        (void)params;

        clock_gettime(CLOCK_REALTIME, &now);
        long long now_usec = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000;
        static const struct node_status none = {};
        json_object *result = node_status_to_json(ctx->services ?: &none);
        json_object *node = json_object_new_object();
        json_object *network = json_object_new_object();
        if (!result || !node || !network) {
                json_object_put(result);
                json_object_put(node);
                json_object_put(network);
                snprintf(error, size, "out of memory");
                return -ENOMEM;
        }
        json_object_object_add(node, "name", json_object_new_string(ctx->name));
        json_object_object_add(node, "pid", json_object_new_int(ctx->init_pid));
        json_object_object_add(node, "launcher_pid", json_object_new_int(getpid()));
        json_object_object_add(node, "uptime_seconds",
                               json_object_new_int64((now_usec - ctx->started_realtime) / 1000000LL));
        json_object_object_add(network, "mode", json_object_new_string(ctx->network_mode ?: "unknown"));
        json_object_object_add(network, "mtu", ctx->mtu ? json_object_new_int((int)ctx->mtu) : NULL);
        json_object_object_add(network, "cidr", ctx->cidr ? json_object_new_string(ctx->cidr) : NULL);
        json_object_object_add(network, "tcp_path",
                               ctx->tcp_path ? json_object_new_string(ctx->tcp_path) : NULL);
        json_object_object_add(network, "tcp_path_detail",
                               ctx->tcp_path_detail ? json_object_new_string(ctx->tcp_path_detail) : NULL);
        json_object_object_add(node, "network", network);
        json_object_object_add(node, "payload",
                               json_object_new_string(ctx->services ? "services" : "command"));
        json_object_object_add(node, "cgroup",
                               ctx->cgroup ? json_object_new_string(ctx->cgroup) : cgroup_of(ctx->init_pid));
        json_object_object_add(node, "cgroup_delegation",
                               ctx->cgroup_delegation ? json_object_new_string(ctx->cgroup_delegation)
                                                      : NULL);
        json_object_object_add(node, "cgroup_controllers",
                               json_object_new_string(ctx->cgroup_controllers ?: ""));
        json_object_object_add(result, "node", node);
        add_host_pids(json_object_object_get(result, "services"), ctx->init_pid);
        *ret = result;
        return 0;
}

static int method_stop(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                       size_t size) {
        struct node_api_context *ctx = userdata;
        (void)params;
        (void)error;
        (void)size;
        log_info("stop requested over the control API");
        ctx->stop(ctx->stop_userdata);
        *ret = json_object_new_object();
        return *ret ? 0 : -ENOMEM;
}

int node_api_register(struct control_api *api, struct node_api_context *ctx) {
        int r = control_api_register(api, "node.status", method_status, ctx);
        if (r >= 0)
                r = control_api_register(api, "node.stop", method_stop, ctx);
        return r;
}
