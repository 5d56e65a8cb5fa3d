/* cluster_agent.c: the loop of the cluster agent.
 *
 * Each round: credentials (waiting until kubelet has them), the node's podCIDR until it has one,
 * the Services listed and their ports handed to the launcher, then a watch from that list's
 * resourceVersion that ends at its first event (or after a while), which starts the next round.
 * Re-listing instead of applying events keeps the state exactly the API server's, whatever was
 * missed. Failures wait 2 s and start over. */
#include "launcher/cluster/cluster_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/api/control_api.h"
#include "launcher/cluster/cluster_fetch.h"
#include "launcher/cluster/kubeconfig.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/render.h"

#define WATCH_SECONDS 60
#define RETRY_SECONDS 2

struct agent {
        const struct node_settings *s;
        struct kube_credentials creds;
        struct cluster_client_cert client;
        bool have_pod_cidr;
};

static int agent_get(struct agent *a, const char *path, bool watch, long timeout_ms, json_object **ret) {
        _cleanup_free_ char *url = NULL;
        struct cluster_response resp = {};
        char why[256] = "";
        size_t n = strlen(a->creds.cluster.server);
        if (asprintf(&url, "%.*s%s", (int)(n && a->creds.cluster.server[n - 1] == '/' ? n - 1 : n),
                     a->creds.cluster.server, path) < 0)
                return -ENOMEM;
        int r = cluster_fetch_as(url, a->creds.cluster.ca_pem, a->creds.cluster.ca_pem_size, &a->client,
                                 watch, timeout_ms, &resp, why, sizeof(why));
        if (r < 0) {
                log_warning("cluster agent: GET %s: %s", path, why);
                return r;
        }
        long status = resp.status;
        if (ret && status == 200) {
                *ret = json_tokener_parse(resp.body);
                if (!*ret)
                        r = -EBADMSG;
        }
        cluster_response_done(&resp);
        if (status != 200) {
                if (status != 404)
                        log_warning("cluster agent: GET %s: HTTP %ld", path, status);
                return status == 404 ? -ENOENT : -EACCES;
        }
        return r;
}

/* spec.podCIDR of the node: kept in DATA/cluster/pod-cidr and rendered into the CNI conflist
 * (CRI-O reloads its network config when the file changes). */
static int agent_pod_cidr(struct agent *a) {
        _cleanup_free_ char *path = NULL, *file = NULL, *conflist = NULL;
        json_object *node = NULL, *spec, *cidr;
        if (asprintf(&path, "/api/v1/nodes/%s", a->s->kubelet_hostname) < 0)
                return -ENOMEM;
        int r = agent_get(a, path, false, 15000L, &node);
        if (r < 0)
                return r == -ENOENT ? 0 : r; /* not registered yet */
        if (!json_object_object_get_ex(node, "spec", &spec) ||
            !json_object_object_get_ex(spec, "podCIDR", &cidr) ||
            !json_object_is_type(cidr, json_type_string)) {
                json_object_put(node);
                return 0; /* no CIDR allocated (yet, or never: the configured subnet stays) */
        }
        _cleanup_free_ char *value = strdup(json_object_get_string(cidr));
        json_object_put(node);
        if (!value)
                return -ENOMEM;
        a->have_pod_cidr = true;
        if (node_config_validate_subnet(value) < 0) {
                log_warning("cluster agent: the node's podCIDR %s is not an IPv4 network usernode can give "
                            "pods; "
                            "keeping [cni] subnet %s",
                            value, a->s->cni_subnet);
                return 0;
        }
        if (strcmp(value, a->s->cni_subnet) == 0)
                return 0;

        struct node_settings s = *a->s;
        s.cni_subnet = value;
        r = render_cni_conflist(&s, &conflist);
        if (r < 0)
                return r;
        if (asprintf(&file, "%s/" NODE_POD_CIDR_FILE, a->s->data_dir) < 0)
                return -ENOMEM;
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "%s\n", value) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
                return log_warning_errno(fd < 0 ? errno : EIO, "cluster agent: cannot write %s: %m", file);
        r = render_write_file(a->s->state_dir, RENDERED_CNI_CONFLIST, conflist);
        if (r < 0)
                return log_warning_errno(r, "cluster agent: cannot write the CNI conflist: %m");
        log_info("pods get the node's podCIDR %s", value);
        return 0;
}

static void add_port(json_object *list, const char *node_ip, long host_port, long node_port,
                     const char *proto, const char *source) {
        char spec[128];
        bool v6 = strchr(node_ip, ':') != NULL;
        snprintf(spec, sizeof(spec), v6 ? "[%s]:%ld:%ld/%s" : "%s:%ld:%ld/%s", node_ip, host_port, node_port,
                 proto);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "spec", json_object_new_string(spec));
        json_object_object_add(p, "source", json_object_new_string(source));
        json_object_array_add(list, p);
}

/* The host ports the Services in LIST ask for: NODE_IP:nodePort for NodePort and LoadBalancer,
 * and NODE_IP:port -> nodePort for LoadBalancer. */
static json_object *wanted_ports(json_object *services, const char *node_ip) {
        json_object *items, *wanted = json_object_new_array();
        if (!wanted || !json_object_object_get_ex(services, "items", &items))
                return wanted;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *svc = json_object_array_get_idx(items, i), *meta, *spec, *type, *ports, *ns,
                            *name;
                if (!json_object_object_get_ex(svc, "metadata", &meta) ||
                    !json_object_object_get_ex(svc, "spec", &spec) ||
                    !json_object_object_get_ex(spec, "type", &type) ||
                    !json_object_object_get_ex(spec, "ports", &ports) ||
                    !json_object_object_get_ex(meta, "name", &name) ||
                    !json_object_object_get_ex(meta, "namespace", &ns))
                        continue;
                bool lb = strcmp(json_object_get_string(type), "LoadBalancer") == 0;
                if (!lb && strcmp(json_object_get_string(type), "NodePort") != 0)
                        continue;
                char source[300];
                snprintf(source, sizeof(source), "service %s/%s", json_object_get_string(ns),
                         json_object_get_string(name));
                for (size_t k = 0; k < json_object_array_length(ports); k++) {
                        json_object *port = json_object_array_get_idx(ports, k), *np, *p, *proto;
                        const char *pr = json_object_object_get_ex(port, "protocol", &proto)
                                                 ? json_object_get_string(proto)
                                                 : "TCP";
                        if (!json_object_object_get_ex(port, "nodePort", &np) ||
                            json_object_get_int64(np) <= 0 ||
                            (strcmp(pr, "TCP") != 0 && strcmp(pr, "UDP") != 0))
                                continue;
                        const char *lower = strcmp(pr, "TCP") == 0 ? "tcp" : "udp";
                        add_port(wanted, node_ip, json_object_get_int64(np), json_object_get_int64(np),
                                 lower, source);
                        if (lb && json_object_object_get_ex(port, "port", &p))
                                add_port(wanted, node_ip, json_object_get_int64(p),
                                         json_object_get_int64(np), lower, source);
                }
        }
        return wanted;
}

/* One round: list, hand over, watch until something changes. */
static int agent_services(struct agent *a) {
        json_object *services = NULL, *meta, *rv, *result = NULL;
        _cleanup_free_ char *watch = NULL;
        char error[512];
        int r = agent_get(a, "/api/v1/services", false, 15000L, &services);
        if (r < 0)
                return r;
        json_object *params = json_object_new_object();
        json_object_object_add(params, "ports", wanted_ports(services, a->s->kubelet_node_ip));
        r = control_api_call(a->s->state_dir, "cluster.ports.set", params, &result, error, sizeof(error));
        json_object_put(params);
        json_object_put(result);
        if (r < 0)
                log_warning("cluster agent: cannot publish the Services' ports: %s", error);
        const char *version = json_object_object_get_ex(services, "metadata", &meta) &&
                                              json_object_object_get_ex(meta, "resourceVersion", &rv)
                                      ? json_object_get_string(rv)
                                      : "0";
        /* Until the node has its podCIDR, rounds are short: the node is asked again each time. */
        int seconds = a->have_pod_cidr ? WATCH_SECONDS : 3;
        r = asprintf(&watch, "/api/v1/services?watch=1&resourceVersion=%s&timeoutSeconds=%d", version,
                     seconds);
        json_object_put(services);
        if (r < 0)
                return -ENOMEM;
        return agent_get(a, watch, true, (seconds + 5) * 1000L, NULL);
}

void cluster_agent_main(const struct node_settings *settings) {
        struct agent a = { .s = settings };
        const char *why = NULL;

        log_set_prefix("usernode cluster agent");
        for (;;) {
                if (!a.creds.cluster.server) {
                        int r = kubeconfig_load_credentials(a.s->kubeconfig, &a.creds, &why);
                        if (r < 0) {
                                if (r != -ENOENT)
                                        log_debug("%s: %s", a.s->kubeconfig, why);
                                sleep(1); /* kubelet's TLS bootstrap has not written it yet */
                                continue;
                        }
                        a.client = (struct cluster_client_cert){ a.creds.cert_pem, a.creds.cert_size,
                                                                 a.creds.key_pem, a.creds.key_size };
                }
                if ((!a.have_pod_cidr && agent_pod_cidr(&a) < 0) || agent_services(&a) < 0) {
                        /* Certificates rotate: read them again before the next round. */
                        kube_credentials_done(&a.creds);
                        sleep(RETRY_SECONDS);
                }
        }
}
