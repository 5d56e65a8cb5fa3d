/* node_services.c: node init glue between the supervisor and the launcher channel. */
#include "launcher/node/node_services.h"

#include <string.h>

#include "common/channel.h"
#include "common/log.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/render.h"
#include "launcher/services/supervisor.h"
#include "launcher/node/node_protocol.h"
#include "launcher/node/node_setup.h"

struct node_services {
        struct node_services_config config;
        struct supervisor *supervisor;
        void (*on_stopped)(void *userdata);
        void *userdata;
};

static void send_to_launcher(struct node_services *ns, uint32_t type, const void *payload, size_t length) {
        /* The launcher only loses a status line if the channel is gone, and then it is gone too. */
        int r = channel_send(ns->config.channel_fd, type, payload, length, -EBADF);
        if (r < 0)
                log_debug_errno(r, "cannot tell the launcher about the services: %m");
}

static void on_service_changed(const struct service_status *status, void *userdata) {
        send_to_launcher(userdata, NODE_MSG_SERVICE_STATE, status, sizeof(*status));
}

static void on_status_text(const char *text, void *userdata) {
        send_to_launcher(userdata, NODE_MSG_STATUS_TEXT, text, strnlen(text, CHANNEL_PAYLOAD_MAX));
}

static void on_ready(void *userdata) {
        send_to_launcher(userdata, NODE_MSG_SERVICES_READY, NULL, 0);
}

static void on_stopped(void *userdata) {
        struct node_services *ns = userdata;
        if (ns->on_stopped)
                ns->on_stopped(ns->userdata);
}

/* SIGHUP: the same steps as the launcher's before the start, from the INI file as it is now. */
static int on_reload(struct service_plan **ret, void *userdata) {
        struct node_services *ns = userdata;
        const struct node_settings *old = ns->config.settings;
        struct node_settings s;
        struct host_tools t = {};

        log_info("reloading %s", old->config_path ?: "the default configuration");
        int r = node_settings_load(&s, old->node_name, old->state_dir, old->config_path);
        if (r < 0)
                return r;
        s.cgroups_delegated = old->cgroups_delegated;
        r = host_tools_find(&s, &t);
        if (r >= 0)
                r = pod_userns_decide(&s, &old->pod_host);
        if (r >= 0)
                r = node_plan_build(&s, &t, ret);
        host_tools_done(&t);
        node_settings_done(&s);
        return r;
}

int node_services_start(sd_event *event, const struct node_services_config *config,
                        void (*stopped)(void *userdata), void *userdata, struct node_services **ret) {
        static const struct supervisor_callbacks callbacks = {
                .service_changed = on_service_changed,
                .status_text = on_status_text,
                .ready = on_ready,
                .stopped = on_stopped,
                .reload = on_reload,
        };
        _cleanup_free_ char *cni_dir = node_cni_conf_dir(config->settings),
                            *crio_socket = node_crio_socket(config->settings);
        struct service_plan *plan = NULL;
        int r;

        if (!cni_dir || !crio_socket)
                return log_error_errno(ENOMEM, "cannot start the node's services: %m");
        /* Render first: the conflist's directory must exist before it is bound on /etc/cni/net.d. */
        r = node_plan_build(config->settings, config->tools, &plan);
        if (r < 0)
                return r;
        const struct node_setup_dirs dirs = {
                .state_dir = config->settings->state_dir,
                .data_dir = config->settings->data_dir,
                .cni_conf_dir = cni_dir,
                .crio_socket = crio_socket,
                .own_network = config->own_network,
                .kubelet_ids = &config->settings->pod_userns,
        };
        r = node_setup_services(&dirs);
        if (r < 0) {
                service_plan_free(plan);
                return r;
        }

        struct node_services *ns = calloc(1, sizeof(*ns));
        if (!ns) {
                service_plan_free(plan);
                return log_error_errno(ENOMEM, "cannot start the node's services: %m");
        }
        ns->config = *config;
        ns->on_stopped = stopped;
        ns->userdata = userdata;
        r = supervisor_new(event, plan, &callbacks, ns, &ns->supervisor);
        if (r >= 0)
                r = supervisor_start(ns->supervisor);
        if (r < 0) {
                node_services_free(ns);
                return log_error_errno(r, "cannot start the node's services: %m");
        }
        *ret = ns;
        return 0;
}

int node_services_child_exited(struct node_services *ns, pid_t pid, int status) {
        return ns ? supervisor_child_exited(ns->supervisor, pid, status) : 0;
}

void node_services_stop(struct node_services *ns) {
        supervisor_stop(ns->supervisor);
}

void node_services_reload(struct node_services *ns) {
        (void)supervisor_reload(ns->supervisor);
}

struct node_services *node_services_free(struct node_services *ns) {
        if (!ns)
                return NULL;
        supervisor_free(ns->supervisor);
        free(ns);
        return NULL;
}
