/* render_kubelet.c: the KubeletConfiguration of the node.
 *
 * The fields a kubelet needs in a user namespace (REFERENCE.md, "CRI-O and kubelet"):
 * KubeletInUserNamespace, cgroupfs, no swap check, eviction at 3% free, no local storage
 * isolation. Without a kubeconfig the kubelet runs standalone (static pods only), where webhook
 * authentication and authorization have no API server to ask. Joined through discovery, the
 * cluster CA authenticates the API server's calls to 10250 (logs, exec), the client certificate
 * rotates, and pods get the cluster's DNS. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup_inside.h"
#include "common/log.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

/* "10.96.0.10, fd00::a" as a YAML flow list of quoted addresses. */
static char *quoted_address_list(const char *text) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return NULL;
        const char *sep = "";
        for (const char *p = text + strspn(text, ", "); *p; p += strspn(p, ", ")) {
                size_t n = strcspn(p, ", ");
                _cleanup_free_ char *word = strndup(p, n), *q = word ? template_quote(word) : NULL;
                if (!q)
                        break;
                fprintf(out, "%s\"%s\"", sep, q);
                sep = ", ";
                p += n;
        }
        if (fclose(out) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* The fields of a node in a cluster: DNS for its pods, certificate rotation when it bootstraps. */
static int render_kubelet_cluster(const struct node_settings *s, bool standalone, char **ret) {
        if (standalone) {
                *ret = strdup("# standalone: no cluster DNS, no certificate rotation");
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *dns = quoted_address_list(s->cluster_dns),
                            *q_domain = template_quote(s->cluster_domain);
        if (!dns || !q_domain)
                return -ENOMEM;
        return asprintf(ret, "clusterDNS: [%s]\nclusterDomain: \"%s\"\nrotateCertificates: %s", dns,
                        q_domain, s->bootstrap_kubeconfig ? "true" : "false") < 0
                       ? -ENOMEM
                       : 0;
}

int render_kubelet_config(const struct node_settings *s, char **ret) {
        _cleanup_free_ char *socket = node_crio_socket(s), *volume_dir = NULL, *port = NULL,
                            *max_pods = NULL;
        _cleanup_free_ char *q_socket = NULL, *q_static = NULL, *q_volume = NULL, *q_node = NULL,
                            *q_dropin = NULL, *q_ca = NULL, *cluster = NULL;
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
        q_ca = template_quote(s->cluster_ca_file ?: "");
        if (!q_socket || !q_static || !q_volume || !q_node || !q_dropin || !q_ca ||
            render_kubelet_cluster(s, standalone, &cluster) < 0)
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
                { "CLIENT_CA_FILE", q_ca },
                { "CLUSTER", cluster },
                { "LOCAL_STORAGE", s->local_storage_isolation ? "true" : "false" },
                /* Delegated: the pods' subtree the node init made (cgroup/cgroup_inside.h). Else
                 * kubelet cannot create cgroups at all: no QoS hierarchy, nothing enforced. */
                { "CGROUPS", s->cgroups_delegated ? "cgroupRoot: \"/" CGROUP_INSIDE_PODS_ROOT "\""
                                                  : "# no delegated cgroup v2 subtree: degraded mode\n"
                                                    "cgroupsPerQOS: false\n"
                                                    "enforceNodeAllocatable: []" },
        };
        return render_template("kubelet.yaml.in", vars, ELEMENTSOF(vars), ret);
}
