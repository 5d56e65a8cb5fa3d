/* render_kubelet.c: the KubeletConfiguration of the node.
 *
 * The fields a kubelet needs in a user namespace (REFERENCE.md, "CRI-O and kubelet"):
 * KubeletInUserNamespace, cgroupfs, no swap check, eviction at 3% free, no local storage
 * isolation. Without a kubeconfig the kubelet runs standalone (static pods only), where webhook
 * authentication and authorization have no API server to ask. */
#include <inttypes.h>
#include <stdio.h>

#include "cgroup/cgroup_inside.h"
#include "common/log.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

int render_kubelet_config(const struct node_settings *s, char **ret) {
        _cleanup_free_ char *socket = node_crio_socket(s), *volume_dir = NULL, *port = NULL,
                            *max_pods = NULL;
        _cleanup_free_ char *q_socket = NULL, *q_static = NULL, *q_volume = NULL, *q_node = NULL,
                            *q_dropin = NULL;
        bool standalone = !s->kubeconfig || s->kubeconfig[0] == '\0';

        if (asprintf(&volume_dir, "%s/kubelet/volume-plugins", s->data_dir) < 0 ||
            asprintf(&port, "%u", s->healthz_port) < 0 ||
            /* Before pod_userns_decide() (config --render): what was configured, or kubelet's own. */
            asprintf(&max_pods, "%" PRIu32,
                     s->kubelet_max_pods ?: s->max_pods ?: POD_USERNS_DEFAULT_MAX_PODS) < 0)
                return log_error_errno(ENOMEM, "cannot render the kubelet config: %m");
        q_socket = socket ? template_quote(socket) : NULL;
        q_static = template_quote(s->static_pod_path);
        q_volume = template_quote(volume_dir);
        q_node = template_quote(s->node_name);
        q_dropin = template_quote(s->kubelet_dropin_dir);
        if (!q_socket || !q_static || !q_volume || !q_node || !q_dropin)
                return log_error_errno(ENOMEM, "cannot render the kubelet config: %m");

        const struct template_var vars[] = {
                { "NODE", q_node },
                { "DROPIN_DIR", q_dropin },
                { "CRIO_SOCKET", q_socket },
                { "STATIC_POD_PATH", q_static },
                { "HEALTHZ_PORT", port },
                { "VOLUME_PLUGIN_DIR", q_volume },
                { "MAX_PODS", max_pods },
                { "WEBHOOK_AUTHN", standalone ? "false" : "true" },
                { "AUTHORIZATION_MODE", standalone ? "AlwaysAllow" : "Webhook" },
                /* Delegated: the pods' subtree the node init made (cgroup/cgroup_inside.h). Else
                 * kubelet cannot create cgroups at all: no QoS hierarchy, nothing enforced. */
                { "CGROUPS", s->cgroups_delegated ? "cgroupRoot: \"/" CGROUP_INSIDE_PODS_ROOT "\""
                                                  : "# no delegated cgroup v2 subtree: degraded mode\n"
                                                    "cgroupsPerQOS: false\n"
                                                    "enforceNodeAllocatable: []" },
        };
        return render_template("kubelet.yaml.in", vars, ELEMENTSOF(vars), ret);
}
