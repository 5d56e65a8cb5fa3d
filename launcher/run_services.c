/* run_services.c: checks before the node's services are started. */
#include "launcher/run_services.h"

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/cluster_spawn.h"
#include "launcher/ports_setup.h"
#include "launcher/services/local_storage.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/pod_userns.h"
#include "launcher/services/oci_runtime.h"

/* A node whose kubelet got its certificate in an earlier run: the CA it trusted then. */
static int run_services_joined_before(struct run_services *rs, const char *node) {
        _cleanup_free_ char *data_dir = NULL;
        _cleanup_(join_files_done) struct join_files files = {};
        int r = node_data_dir(node, &data_dir);
        if (r == -ENOENT)
                return 0; /* no HOME: the settings say so later */
        if (r < 0 || join_files_paths(data_dir, &files) < 0)
                return log_error_errno(ENOMEM, "cannot prepare the join: %m");
        if (access(files.kubeconfig, R_OK) == 0 && access(files.ca_file, R_OK) == 0)
                rs->join.joined_ca_file = TAKE_PTR(files.ca_file);
        return 0;
}

int run_services_discover(struct run_services *rs, const struct config *config, const char *node) {
        if (cluster_join_from_config(config, &rs->join) < 0)
                return EXIT_USAGE;
        if (!rs->join.joining)
                return 0;
        int r = run_services_joined_before(rs, node);
        if (r < 0)
                return EXIT_RUNTIME;
        /* In the cluster program: HTTPS, X.509 and YAML are its libraries, not the launcher's. */
        return cluster_program_discover(&rs->join, node, config_get(config, "cluster", "node_name"),
                                        config_get(config, "cluster", "node_ip"), &rs->node_name,
                                        &rs->cluster, rs->node_ip);
}

/* Joined: kubelet bootstraps from the token and keeps what it is issued in the data dir. */
static int settings_set_join(struct node_settings *s, const struct join_files *files, const char *node_name,
                             const char *node_ip) {
        free(s->kubeconfig);
        s->kubeconfig = strdup(files->kubeconfig);
        s->bootstrap_kubeconfig = strdup(files->bootstrap_kubeconfig);
        s->cluster_ca_file = strdup(files->ca_file);
        s->kubelet_cert_dir = strdup(files->cert_dir);
        s->kubelet_hostname = strdup(node_name);
        s->kubelet_node_ip = strdup(node_ip);
        if (!s->kubeconfig || !s->bootstrap_kubeconfig || !s->cluster_ca_file || !s->kubelet_cert_dir ||
            !s->kubelet_hostname || !s->kubelet_node_ip)
                return -ENOMEM;
        return node_settings_apply_pod_cidr(s);
}

int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated,
                         const struct pod_userns_host *pod_host) {
        _cleanup_(join_files_done) struct join_files files = {};
        int r;

        r = node_settings_from_config(&rs->settings, config, node, state_dir, config_path);
        if (r < 0)
                return EXIT_USAGE;
        rs->settings.cgroups_delegated = cgroups_delegated;
        local_storage_decide(&rs->settings);
        if (rs->join.joining && (join_files_paths(rs->settings.data_dir, &files) < 0 ||
                                 settings_set_join(&rs->settings, &files, rs->node_name, rs->node_ip) < 0)) {
                log_error_errno(ENOMEM, "cannot prepare the join: %m");
                return EXIT_RUNTIME;
        }
        /* Every missing program in one message, as `usernode check` reports them. */
        const struct passwd *pw = getpwuid(getuid());
        struct check_context ctx = {
                .config = config,
                .settings = &rs->settings,
                .user = pw ? pw->pw_name : "USER",
                .uid = getuid(),
                .gid = getgid(),
        };
        if (check_run_tools(&ctx) < 0)
                return EXIT_HOST;
        r = host_tools_find(&rs->settings, &rs->tools);
        if (r < 0)
                return EXIT_HOST;
        /* Before rendering: maxPods depends on the node's ids. */
        r = pod_userns_decide(&rs->settings, pod_host);
        if (r < 0)
                return EXIT_HOST;
        /* With a delegated subtree the pods' cgroups are the node's own: the wrapper puts each
         * container back into its pod's cgroup, which _CRIO_ROOTLESS=1 takes it out of. */
        if (cgroups_delegated &&
            oci_runtime_wrapper_install(state_dir, rs->tools.runtime_path, &rs->tools.runtime_wrapper) < 0)
                return EXIT_RUNTIME;
        /* Before any namespace exists, so a bad [service:NAME] or an unrenderable value stops the
         * run with nothing to undo. The node init inherits the plan at clone and runs it: it never
         * renders at start, and never maps the rendering code's pages (issue 11). */
        r = node_plan_build(&rs->settings, &rs->tools, &rs->plan);
        if (r < 0)
                return EXIT_USAGE;
        if (rs->join.joining)
                return cluster_program_write_files(&files, &rs->cluster, rs->join.token_text, rs->node_name,
                                                   rs->node_ip);
        return 0;
}

static int on_agent_exit(event_source *source, const siginfo_t *si, void *userdata) {
        struct run_services *rs = userdata;
        (void)source;
        rs->agent_pid = 0;
        log_warning(
                "the cluster agent exited (status %d): the node's podCIDR and Service ports are no longer "
                "followed",
                si->si_status);
        return 0;
}

int run_services_start_cluster(struct run_services *rs, event_loop *event, struct control_api *api,
                               struct portfwd *pf) {
        if (!rs->join.joining)
                return 0;
        /* The API server reaches kubelet (logs, exec) on the node IP. */
        if (pf) {
                _cleanup_free_ char *spec = NULL;
                bool v6 = strchr(rs->node_ip, ':') != NULL;
                if (asprintf(&spec, v6 ? "[%s]:10250:10250" : "%s:10250:10250", rs->node_ip) < 0)
                        return log_error_errno(ENOMEM, "cannot publish kubelet's port: %m");
                int r = ports_publish(pf, spec);
                if (r < 0)
                        return r;
                r = service_ports_new(api, pf, &rs->service_ports);
                if (r < 0)
                        return log_error_errno(r,
                                               "cannot serve the Services' ports on the control socket: %m");
        }
        pid_t pid = cluster_program_start_agent(&rs->settings);
        if (pid < 0)
                return log_error_errno(pid, "cannot start the cluster agent: %m");
        rs->agent_pid = pid;
        int r = event_add_child(event, NULL, pid, WEXITED, on_agent_exit, rs);
        if (r < 0)
                return log_error_errno(r, "cannot watch the cluster agent: %m");
        return 0;
}

void run_services_stop_cluster(struct run_services *rs) {
        if (rs->agent_pid > 0) {
                (void)kill(rs->agent_pid, SIGTERM);
                (void)waitpid(rs->agent_pid, NULL, 0);
                rs->agent_pid = 0;
        }
        rs->service_ports = service_ports_free(rs->service_ports);
}

void run_services_done(struct run_services *rs) {
        rs->plan = service_plan_free(rs->plan);
        cluster_join_done(&rs->join);
        cluster_endpoint_done(&rs->cluster);
        free(rs->node_name);
        rs->node_name = NULL;
        host_tools_done(&rs->tools);
        node_settings_done(&rs->settings);
        node_status_done(&rs->status);
}
