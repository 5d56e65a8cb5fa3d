/* render_kube_proxy.c: the KubeProxyConfiguration of the optional built-in [kube-proxy] service:
 * iptables mode with the node's credentials (the kubeconfig kubelet's TLS bootstrap wrote, or
 * [kube-proxy] kubeconfig) and the node's name. */
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

const char *node_kube_proxy_kubeconfig(const struct node_settings *s) {
        return s->kube_proxy_kubeconfig && s->kube_proxy_kubeconfig[0] ? s->kube_proxy_kubeconfig
                                                                       : s->kubeconfig;
}

int render_kube_proxy_config(const struct node_settings *s, char **ret) {
        _cleanup_free_ char *q_node = template_quote(s->node_name),
                            *q_host = template_quote(s->kubelet_hostname ?: s->node_name),
                            *q_kubeconfig = template_quote(node_kube_proxy_kubeconfig(s) ?: ""),
                            *port = NULL;
        if (!q_node || !q_host || !q_kubeconfig || asprintf(&port, "%u", s->kube_proxy_healthz_port) < 0)
                return log_error_errno(ENOMEM, "cannot render the kube-proxy config: %m");
        const struct template_var vars[] = {
                { "NODE", q_node },
                { "HOSTNAME", q_host },
                { "KUBECONFIG", q_kubeconfig },
                { "HEALTHZ_PORT", port },
        };
        return render_template("kube-proxy.yaml.in", vars, ELEMENTSOF(vars), ret);
}
