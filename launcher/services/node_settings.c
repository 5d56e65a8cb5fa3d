/* node_settings.c: the embedded defaults of the node's services, and value parsers. */
#include "launcher/services/node_settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

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
                .restart_delay_min = 1 * USEC_PER_SEC,
                .restart_delay_max = 60 * USEC_PER_SEC,
                .restart_reset_after = 120 * USEC_PER_SEC,
                .log_max_size = 10 * 1024 * 1024,
                .log_keep = 3,
                .cgroups_delegated = true,
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
            settings_set(&s->kubeconfig, "") < 0 ||
            set_path(&s->static_pod_path, data_dir, "static-pods") < 0 ||
            set_path(&s->kubelet_dropin_dir, config_dir, dropin) < 0 ||
            settings_set(&s->cni_bridge, "cni0") < 0 || settings_set(&s->cni_subnet, "10.88.0.0/16") < 0)
                return -ENOMEM;
        return 0;
}

static void extra_service_done(struct extra_service_settings *e) {
        free(e->name);
        free(e->command);
        free(e->environment);
        free(e->after);
}

void node_settings_done(struct node_settings *s) {
        char **strings[] = {
                &s->node_name,         &s->state_dir,           &s->data_dir,     &s->config_path,
                &s->config_dir,        &s->crio_path,           &s->crio_runtime, &s->pause_image,
                &s->search_registries, &s->insecure_registries, &s->kubelet_path, &s->kubeconfig,
                &s->static_pod_path,   &s->kubelet_dropin_dir,  &s->cni_bridge,   &s->cni_subnet,
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
