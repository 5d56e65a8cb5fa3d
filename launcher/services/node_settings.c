/* node_settings.c: the embedded defaults of the node's services, and value parsers. */
#include "launcher/services/node_settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "launcher/services/node_settings_config.h"

static const char *const restart_policy_names[] = {
        [RESTART_ALWAYS] = "always",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_NEVER] = "never",
};

const char *restart_policy_to_string(enum restart_policy p) {
        return (size_t)p < ELEMENTSOF(restart_policy_names) ? restart_policy_names[p] : NULL;
}

int restart_policy_from_string(const char *s, enum restart_policy *ret) {
        for (size_t i = 0; i < ELEMENTSOF(restart_policy_names); i++)
                if (strcmp(s, restart_policy_names[i]) == 0) {
                        *ret = (enum restart_policy)i;
                        return 0;
                }
        return -EINVAL;
}

int settings_set(char **field, const char *value) {
        char *copy = NULL;
        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

static int set_path(char **field, const char *dir, const char *name) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        free(*field);
        *field = p;
        return 0;
}

int node_settings_init(struct node_settings *s, const char *name, const char *state_dir,
                       const char *data_dir, const char *config_dir, const char *config_path) {
        _cleanup_free_ char *dropin = NULL;
        *s = (struct node_settings){
                .crio_ready_timeout = 60 * USEC_PER_SEC,
                .crio_restart = RESTART_ALWAYS,
                .crio_stop_timeout = 30 * USEC_PER_SEC,
                .crio_pod_grace_max = 30 * USEC_PER_SEC,
                .healthz_port = 10248,
                .kubelet_ready_timeout = 120 * USEC_PER_SEC,
                .kubelet_restart = RESTART_ALWAYS,
                .kubelet_stop_timeout = 30 * USEC_PER_SEC,
                .cni_ip_masq = true,
                .kube_proxy_healthz_port = 10256,
                .kube_proxy_restart = RESTART_ALWAYS,
                .kube_proxy_stop_timeout = 10 * USEC_PER_SEC,
                .restart_delay_min = 1 * USEC_PER_SEC,
                .restart_delay_max = 60 * USEC_PER_SEC,
                .restart_reset_after = 120 * USEC_PER_SEC,
                .log_max_size = 10 * 1024 * 1024,
                .log_keep = 3,
                .cgroups_delegated = true,
                .local_storage_isolation = true,
        };
        if (asprintf(&dropin, "%s.kubelet.d", name) < 0)
                return -ENOMEM;
        if (settings_set(&s->node_name, name) < 0 || settings_set(&s->state_dir, state_dir) < 0 ||
            settings_set(&s->data_dir, data_dir) < 0 || settings_set(&s->config_dir, config_dir) < 0 ||
            settings_set(&s->config_path, config_path) < 0 || settings_set(&s->crio_path, "crio") < 0 ||
            settings_set(&s->crio_runtime, "auto") < 0 ||
            settings_set(&s->pause_image, "registry.k8s.io/pause:3.9") < 0 ||
            settings_set(&s->search_registries, "docker.io") < 0 ||
            settings_set(&s->insecure_registries, "") < 0 || settings_set(&s->kubelet_path, "kubelet") < 0 ||
            settings_set(&s->kubelet_local_storage, "auto") < 0 || settings_set(&s->kubeconfig, "") < 0 ||
            settings_set(&s->cluster_dns, "10.96.0.10") < 0 ||
            settings_set(&s->kube_proxy_path, "kube-proxy") < 0 ||
            settings_set(&s->kube_proxy_kubeconfig, "") < 0 ||
            settings_set(&s->cluster_domain, "cluster.local") < 0 ||
            set_path(&s->static_pod_path, data_dir, "static-pods") < 0 ||
            set_path(&s->kubelet_dropin_dir, config_dir, dropin) < 0 ||
            settings_set(&s->cni_bridge, "cni0") < 0 || settings_set(&s->cni_subnet, "10.88.0.0/16") < 0)
                return -ENOMEM;
        return 0;
}

int node_settings_copy_join(struct node_settings *dst, const struct node_settings *src) {
        if (!src->bootstrap_kubeconfig)
                return 0;
        if (settings_set(&dst->kubeconfig, src->kubeconfig) < 0 ||
            settings_set(&dst->bootstrap_kubeconfig, src->bootstrap_kubeconfig) < 0 ||
            settings_set(&dst->cluster_ca_file, src->cluster_ca_file) < 0 ||
            settings_set(&dst->kubelet_cert_dir, src->kubelet_cert_dir) < 0 ||
            settings_set(&dst->kubelet_hostname, src->kubelet_hostname) < 0 ||
            settings_set(&dst->kubelet_node_ip, src->kubelet_node_ip) < 0)
                return -ENOMEM;
        return node_settings_apply_pod_cidr(dst);
}

int node_settings_apply_pod_cidr(struct node_settings *s) {
        _cleanup_free_ char *path = NULL;
        char line[64] = "";
        if (!s->bootstrap_kubeconfig)
                return 0;
        if (asprintf(&path, "%s/" NODE_POD_CIDR_FILE, s->data_dir) < 0)
                return -ENOMEM;
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        bool read = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        if (!read)
                return 0;
        line[strcspn(line, "\n")] = '\0';
        /* Written by the agent after the same check; a file edited by hand is checked again. */
        if (node_config_validate_subnet(line) < 0) {
                log_warning("%s: \"%s\" is not an IPv4 pod network; using [cni] subnet", path, line);
                return 0;
        }
        return settings_set(&s->cni_subnet, line);
}

static void extra_service_done(struct extra_service_settings *e) {
        free(e->name);
        free(e->command);
        free(e->environment);
        free(e->after);
}

void node_settings_done(struct node_settings *s) {
        char **strings[] = {
                &s->node_name,
                &s->state_dir,
                &s->data_dir,
                &s->config_path,
                &s->config_dir,
                &s->crio_path,
                &s->crio_runtime,
                &s->pause_image,
                &s->search_registries,
                &s->insecure_registries,
                &s->kubelet_path,
                &s->kubeconfig,
                &s->static_pod_path,
                &s->kubelet_dropin_dir,
                &s->kubelet_local_storage,
                &s->cni_bridge,
                &s->cni_subnet,
                &s->cluster_dns,
                &s->cluster_domain,
                &s->bootstrap_kubeconfig,
                &s->cluster_ca_file,
                &s->kubelet_cert_dir,
                &s->kubelet_hostname,
                &s->kubelet_node_ip,
                &s->kube_proxy_path,
                &s->kube_proxy_kubeconfig,
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                free(*strings[i]);
                *strings[i] = NULL;
        }
        for (size_t i = 0; i < s->n_services; i++)
                extra_service_done(&s->services[i]);
        free(s->services);
        s->services = NULL;
        s->n_services = 0;
}

struct extra_service_settings *node_settings_add_service(struct node_settings *s, const char *name) {
        struct extra_service_settings *n = reallocarray(s->services, s->n_services + 1, sizeof(*n));
        if (!n)
                return NULL;
        s->services = n;
        struct extra_service_settings *e = &n[s->n_services];
        *e = (struct extra_service_settings){
                .restart = RESTART_ON_FAILURE,
                .stop_timeout = 10 * USEC_PER_SEC,
        };
        if (settings_set(&e->name, name) < 0 || settings_set(&e->command, "") < 0 ||
            settings_set(&e->environment, "") < 0 || settings_set(&e->after, "") < 0) {
                extra_service_done(e);
                return NULL;
        }
        s->n_services++;
        return e;
}

struct unit {
        const char *suffix;
        uint64_t factor;
};

/* A number followed by a unit from `units` (or none: default_factor); returns 0 or -EINVAL. */
static int parse_with_unit(const char *s, const struct unit *units, size_t n_units, uint64_t default_factor,
                           uint64_t *ret) {
        char *end;
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        uint64_t factor = 0;
        if (*end == '\0')
                factor = default_factor;
        for (size_t i = 0; i < n_units && factor == 0; i++)
                if (strcmp(end, units[i].suffix) == 0)
                        factor = units[i].factor;
        if (factor == 0 || v > UINT64_MAX / factor)
                return -EINVAL;
        *ret = v * factor;
        return 0;
}

int parse_duration(const char *s, usec_t *ret) {
        static const struct unit units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        return parse_with_unit(s, units, ELEMENTSOF(units), USEC_PER_SEC, ret);
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct unit units[] = {
                { "K", 1024ULL },
                { "M", 1024ULL * 1024 },
                { "G", 1024ULL * 1024 * 1024 },
        };
        return parse_with_unit(s, units, ELEMENTSOF(units), 1, ret);
}

static int xdg_dir(const char *variable, const char *fallback, const char *suffix, char **ret) {
        const char *base = getenv(variable);
        int r;
        if (base && base[0] == '/')
                r = asprintf(ret, "%s/usernode%s", base, suffix);
        else {
                const char *home = getenv("HOME");
                if (!home || home[0] != '/')
                        return -ENOENT;
                r = asprintf(ret, "%s/%s/usernode%s", home, fallback, suffix);
        }
        return r < 0 ? -ENOMEM : 0;
}

int node_data_dir(const char *node, char **ret) {
        _cleanup_free_ char *suffix = NULL;
        if (asprintf(&suffix, "/%s", node) < 0)
                return -ENOMEM;
        return xdg_dir("XDG_DATA_HOME", ".local/share", suffix, ret);
}

int node_config_dir(char **ret) {
        return xdg_dir("XDG_CONFIG_HOME", ".config", "", ret);
}
