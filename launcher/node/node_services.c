/* node_services.c: node init glue between the supervisor and the launcher channel. */
#include "launcher/node/node_services.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "common/channel.h"
#include "common/log.h"
#include "launcher/services/images.h"
#include "launcher/services/local_storage.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/oci_runtime.h"
#include "launcher/services/render.h"
#include "launcher/services/service_log.h"
#include "launcher/services/supervisor.h"
#include "launcher/node/node_protocol.h"
#include "launcher/node/node_setup.h"
#include "launcher/node/setup_child.h"
#include "netns/netconf.h"
#include "netns/tap.h"

/* DATA/logs/usernode.log: the node init's own lines (restarts, readiness, reloads and their
 * failures), which otherwise reach only the launcher's stderr. One per process, as the log is. */
static struct service_log events_log = { .fd = -EBADF };

static void copy_to_events_log(const char *line) {
        char buf[2200];
        int n = snprintf(buf, sizeof(buf), "%s\n", line);
        if (n > 0)
                (void)service_log_write(&events_log, buf,
                                        (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void events_log_open(const struct service_plan *plan) {
        if (plan->journal || !plan->log_dir)
                return; /* under systemd the journal has these lines already */
        int r = service_log_open(&events_log, plan->log_dir, "usernode", plan->log_max_size, plan->log_keep);
        if (r < 0) {
                log_warning_errno(r, "cannot open %s/usernode.log; the node's events go to stderr only: %m",
                                  plan->log_dir);
                return;
        }
        service_log_set_timestamps(&events_log, true);
        log_set_copy(copy_to_events_log);
}

static void events_log_close(void) {
        log_set_copy(NULL);
        service_log_close(&events_log);
}

struct node_services {
        struct node_services_config config;
        struct supervisor *supervisor;
        void (*on_stopped)(void *userdata);
        void *userdata;
};

/* A joined node: its UTS hostname is its name in the cluster, and its node IP is an address of
 * its own, since kubelet refuses a --node-ip not on one of its interfaces. A /32 (or /128) on the
 * uplink (loopback without one) adds no route: the node's traffic keeps leaving from its slirp
 * address. */
static int node_services_identity(const struct node_settings *s, bool own_network) {
        unsigned char addr[16];
        int family = AF_INET;
        if (!s->kubelet_hostname)
                return 0;
        if (sethostname(s->kubelet_hostname, strlen(s->kubelet_hostname)) < 0)
                return log_error_errno(errno, "cannot set the node's hostname to %s: %m",
                                       s->kubelet_hostname);
        if (inet_pton(AF_INET, s->kubelet_node_ip, addr) != 1) {
                family = AF_INET6;
                if (inet_pton(AF_INET6, s->kubelet_node_ip, addr) != 1)
                        return log_error_errno(EINVAL, "node IP %s: %m", s->kubelet_node_ip);
        }
        /* --net=host: the host's interfaces, which hold the node IP already. */
        if (!own_network)
                return 0;
        const char *link = if_nametoindex(TAP_NAME) > 0 ? TAP_NAME : "lo";
        int r = netconf_address_add(link, family, addr, family == AF_INET ? 32 : 128);
        if (r < 0 && r != -EEXIST)
                return log_error_errno(r, "cannot add the node IP %s to %s: %m", s->kubelet_node_ip, link);
        return 0;
}

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
        /* Decided again only when the key changed: the init sees the data directory through the
         * node's mounts, not as the launcher did at the start. */
        if (strcmp(s.kubelet_local_storage ?: "", old->kubelet_local_storage ?: "") == 0)
                s.local_storage_isolation = old->local_storage_isolation;
        else
                local_storage_decide(&s);
        r = node_settings_copy_join(&s, old);
        if (r >= 0)
                r = host_tools_find(&s, &t);
        /* The wrapper's links again, to the runtime the configuration names now (oci_runtime.h). */
        if (r >= 0 && s.cgroups_delegated)
                r = oci_runtime_wrapper_install(s.state_dir, t.runtime_path, &t.runtime_wrapper);
        if (r >= 0)
                r = pod_userns_decide(&s, &old->pod_host);
        if (r >= 0)
                r = node_plan_build(&s, &t, ret);
        host_tools_done(&t);
        node_settings_done(&s);
        return r;
}

struct services_setup {
        const struct node_services_config *config;
        const struct node_setup_dirs *dirs;
};

/* What the node's services need of its namespaces (node_setup.h, the identity of a joined node)
 * and the images of DATA/images: done once, on the node's shared namespaces and files, so in a
 * short-lived child (setup_child.h): the bind mounts' and the images import's pages are not kept
 * in PID 1 for the node's life. Returns an exit code; errors are logged. */
static int services_setup(void *userdata) {
        const struct services_setup *setup = userdata;
        const struct node_services_config *config = setup->config;
        int r = node_setup_services(setup->dirs);
        if (r >= 0)
                r = node_services_identity(config->settings, config->own_network);
        if (r < 0)
                return EXIT_RUNTIME;
        /* Before crio: the pause image and the pods' images may be among them (air-gapped). */
        images_import_dir(config->settings, config->tools);
        return 0;
}

int node_services_start(event_loop *event, const struct node_services_config *config,
                        void (*stopped)(void *userdata), void *userdata, struct node_services **ret) {
        static const struct supervisor_callbacks callbacks = {
                .service_changed = on_service_changed,
                .status_text = on_status_text,
                .ready = on_ready,
                .stopped = on_stopped,
                .reload = on_reload,
        };
        _cleanup_(service_plan_freep) struct service_plan *plan = config->plan;
        _cleanup_free_ char *cni_dir = node_cni_conf_dir(config->settings),
                            *crio_socket = node_crio_socket(config->settings);
        int r;

        if (!plan || !cni_dir || !crio_socket)
                return log_error_errno(ENOMEM, "cannot start the node's services: %m");
        /* The launcher rendered the files already: the conflist's directory exists, to be bound
         * on /etc/cni/net.d. */
        const struct node_setup_dirs dirs = {
                .state_dir = config->settings->state_dir,
                .data_dir = config->settings->data_dir,
                .cni_conf_dir = cni_dir,
                .crio_socket = crio_socket,
                .own_network = config->own_network,
                .kubelet_ids = &config->settings->pod_userns,
        };
        const struct services_setup setup = { .config = config, .dirs = &dirs };
        r = setup_child_run("the node's services", services_setup, (void *)&setup);
        if (r != 0)
                return -EIO; /* the child said why */

        struct node_services *ns = calloc(1, sizeof(*ns));
        if (!ns)
                return log_error_errno(ENOMEM, "cannot start the node's services: %m");
        ns->config = *config;
        ns->config.plan = NULL; /* the supervisor's */
        ns->on_stopped = stopped;
        ns->userdata = userdata;
        events_log_open(plan);
        r = supervisor_new(event, TAKE_PTR(plan), &callbacks, ns, &ns->supervisor);
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
        events_log_close();
        free(ns);
        return NULL;
}
