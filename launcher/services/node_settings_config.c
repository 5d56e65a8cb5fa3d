/* node_settings_config.c: the node's service sections of the configuration, converted. */
#include "launcher/services/node_settings_config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "netns/network_options.h"

int node_config_validate_duration(const char *value) {
        usec_t d;
        return parse_duration(value, &d);
}

/* A delay of zero would restart a crashing service in a busy loop, a timeout of zero fail at once. */
int node_config_validate_positive_duration(const char *value) {
        usec_t d;
        int r = parse_duration(value, &d);
        return r < 0 ? r : d > 0 ? 0 : -EINVAL;
}

int node_config_validate_size(const char *value) {
        uint64_t n;
        return parse_size(value, &n);
}

/* "A.B.C.D/N" with N in 8..30: a pod network needs room for addresses. */
int node_config_validate_subnet(const char *value) {
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(value, '/');
        struct in_addr a;
        char *end;
        if (!slash || (size_t)(slash - value) >= sizeof(addr) || slash[1] == '\0')
                return -EINVAL;
        memcpy(addr, value, (size_t)(slash - value));
        addr[slash - value] = '\0';
        long len = strtol(slash + 1, &end, 10);
        if (inet_pton(AF_INET, addr, &a) != 1 || *end != '\0' || len < 8 || len > 30)
                return -EINVAL;
        return network_ipv4_range_usable(ntohl(a.s_addr), (unsigned)len) ? 0 : -EINVAL;
}

int node_config_split_words(const char *text, char ***ret, char **ret_error) {
        GError *error = NULL;
        char **words = NULL;
        int n = 0;

        if (ret_error)
                *ret_error = NULL;
        /* g_shell_parse_argv() calls a blank text an error; here it is no words. */
        if (text[strspn(text, " \t\n")] != '\0' && !g_shell_parse_argv(text, &n, &words, &error)) {
                if (ret_error)
                        *ret_error = strdup(error->message);
                g_error_free(error);
                return -EINVAL;
        }
        /* A copy from malloc(), so the caller frees it like every other strv here. */
        char **v = calloc((size_t)n + 1, sizeof(*v));
        for (int i = 0; v && i < n; i++)
                if (!(v[i] = strdup(words[i])))
                        strv_freep(&v);
        g_strfreev(words);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

int node_config_validate_words(const char *value) {
        _cleanup_strv_free_ char **words = NULL;
        return node_config_split_words(value, &words, NULL);
}

int node_config_validate_environment(const char *value) {
        _cleanup_strv_free_ char **words = NULL;
        int r = node_config_split_words(value, &words, NULL);
        for (char **w = words; r >= 0 && *w; w++)
                if (!strchr(*w, '=') || **w == '=')
                        r = -EINVAL;
        return r;
}

enum value_type { V_STRING, V_PATH_OR_DEFAULT, V_DURATION, V_RESTART, V_UINT, V_BOOL, V_SIZE, V_MAX_PODS };

struct setting_key {
        const char *section; /* "service:" for every [service:NAME] */
        const char *key;
        enum value_type type;
        size_t offset; /* in struct node_settings, or struct extra_service_settings for "service:" */
};

#define S(section, key, type, field) \
        { section, key, type, offsetof(struct node_settings, field) }
#define X(key, type, field) \
        { "service:", key, type, offsetof(struct extra_service_settings, field) }
static const struct setting_key keys[] = {
        S("crio", "path", V_STRING, crio_path),
        S("crio", "runtime", V_STRING, crio_runtime),
        S("crio", "pause_image", V_STRING, pause_image),
        S("crio", "search_registries", V_STRING, search_registries),
        S("crio", "insecure_registries", V_STRING, insecure_registries),
        S("crio", "ready_timeout", V_DURATION, crio_ready_timeout),
        S("crio", "restart", V_RESTART, crio_restart),
        S("crio", "stop_timeout", V_DURATION, crio_stop_timeout),
        S("crio", "pod_grace_max", V_DURATION, crio_pod_grace_max),
        S("kubelet", "path", V_STRING, kubelet_path),
        S("kubelet", "kubeconfig", V_STRING, kubeconfig),
        S("kubelet", "static_pod_path", V_PATH_OR_DEFAULT, static_pod_path),
        S("kubelet", "dropin_dir", V_PATH_OR_DEFAULT, kubelet_dropin_dir),
        S("kubelet", "healthz_port", V_UINT, healthz_port),
        S("kubelet", "max_pods", V_MAX_PODS, max_pods),
        S("kubelet", "local_storage_isolation", V_STRING, kubelet_local_storage),
        S("kubelet", "ready_timeout", V_DURATION, kubelet_ready_timeout),
        S("kubelet", "restart", V_RESTART, kubelet_restart),
        S("kubelet", "stop_timeout", V_DURATION, kubelet_stop_timeout),
        S("kube-proxy", "enabled", V_BOOL, kube_proxy_enabled),
        S("kube-proxy", "path", V_STRING, kube_proxy_path),
        S("kube-proxy", "kubeconfig", V_STRING, kube_proxy_kubeconfig),
        S("kube-proxy", "healthz_port", V_UINT, kube_proxy_healthz_port),
        S("kube-proxy", "restart", V_RESTART, kube_proxy_restart),
        S("kube-proxy", "stop_timeout", V_DURATION, kube_proxy_stop_timeout),
        S("cluster", "cluster_dns", V_STRING, cluster_dns),
        S("cluster", "cluster_domain", V_STRING, cluster_domain),
        S("cni", "bridge", V_STRING, cni_bridge),
        S("cni", "subnet", V_STRING, cni_subnet),
        S("cni", "ip_masq", V_BOOL, cni_ip_masq),
        S("supervisor", "restart_delay_min", V_DURATION, restart_delay_min),
        S("supervisor", "restart_delay_max", V_DURATION, restart_delay_max),
        S("supervisor", "restart_reset_after", V_DURATION, restart_reset_after),
        S("supervisor", "log_max_size", V_SIZE, log_max_size),
        S("supervisor", "log_keep", V_UINT, log_keep),
        X("command", V_STRING, command),
        X("environment", V_STRING, environment),
        X("after", V_STRING, after),
        X("restart", V_RESTART, restart),
        X("stop_timeout", V_DURATION, stop_timeout),
};

/* Convert one validated value into its field. Returns 0 or -ENOMEM (-EINVAL only for a value the
 * schema should have rejected). */
static int convert(const struct setting_key *k, const char *value, void *base) {
        void *field = (char *)base + k->offset;
        switch (k->type) {
        case V_STRING:
                return settings_set((char **)field, value);
        case V_PATH_OR_DEFAULT:
                /* Empty: the default computed from the node's directories stays. */
                return value[0] ? settings_set((char **)field, value) : 0;
        case V_DURATION:
                return parse_duration(value, (usec_t *)field);
        case V_RESTART:
                return restart_policy_from_string(value, (enum restart_policy *)field);
        case V_UINT: {
                char *end;
                unsigned long v = strtoul(value, &end, 10);
                if (!*value || *end)
                        return -EINVAL;
                *(unsigned *)field = (unsigned)v;
                return 0;
        }
        case V_BOOL: {
                int b = config_parse_bool(value);
                if (b < 0)
                        return -EINVAL;
                *(bool *)field = b;
                return 0;
        }
        case V_SIZE:
                return parse_size(value, (uint64_t *)field);
        case V_MAX_PODS:
                return pod_userns_parse_max_pods(value, (uint32_t *)field);
        }
        return -EINVAL;
}

static int apply_section(const struct config *config, const char *section, const char *pattern, void *base) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (strcmp(keys[i].section, pattern) != 0)
                        continue;
                const char *value = config_get(config, section, keys[i].key);
                if (!value)
                        continue;
                int r = convert(&keys[i], value, base);
                if (r < 0)
                        return log_error_errno(r, "%s: [%s] %s = %s: %m",
                                               config_origin(config, section, keys[i].key), section,
                                               keys[i].key, value);
        }
        return 0;
}

int node_settings_from_config(struct node_settings *s, const struct config *config, const char *node,
                              const char *state_dir, const char *config_path) {
        _cleanup_free_ char *data_dir = NULL, *config_dir = NULL;
        static const char *const sections[] = { "crio",    "kubelet", "kube-proxy",
                                                "cluster", "cni",     "supervisor" };
        int r;

        r = node_data_dir(node, &data_dir);
        if (r >= 0)
                r = node_config_dir(&config_dir);
        if (r == -ENOENT)
                return log_error_errno(r, "neither XDG_DATA_HOME/XDG_CONFIG_HOME nor HOME is set; set HOME");
        if (r < 0)
                return log_error_errno(r, "cannot resolve the node's directories: %m");
        r = node_settings_init(s, node, state_dir, data_dir, config_dir, config_path);
        if (r < 0)
                return log_error_errno(r, "%m");

        for (size_t i = 0; i < ELEMENTSOF(sections) && r >= 0; i++)
                r = apply_section(config, sections[i], sections[i], s);
        if (r >= 0 && s->restart_delay_min > s->restart_delay_max)
                r = log_error_errno(
                        EINVAL,
                        "%s: [supervisor] restart_delay_min is longer than restart_delay_max (%s); "
                        "make it shorter",
                        config_origin(config, "supervisor", "restart_delay_min"),
                        config_get(config, "supervisor", "restart_delay_max"));
        _cleanup_free_ const char **services =
                r >= 0 ? config_sections_with_prefix(config, "service:") : NULL;
        if (r >= 0 && !services)
                r = log_error_errno(ENOMEM, "%m");
        for (const char **name = services; r >= 0 && *name; name++) {
                const char *service = *name + strlen("service:");
                if (strcmp(service, "crio") == 0 || strcmp(service, "kubelet") == 0 ||
                    strcmp(service, "usernode") == 0 || /* DATA/logs/usernode.log is the node's own */
                    strspn(service, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(service) ||
                    strlen(service) > 63) {
                        r = log_error_errno(
                                EINVAL,
                                "%s: [%s]: a service name is 1-63 of a-z, 0-9, - and _, and not crio, "
                                "kubelet (set those in [crio] and [kubelet]) or usernode",
                                config_origin(config, *name, "command"), *name);
                        break;
                }
                struct extra_service_settings *e = node_settings_add_service(s, service);
                if (!e)
                        r = log_error_errno(ENOMEM, "%m");
                else
                        r = apply_section(config, *name, "service:", e);
        }
        if (r < 0)
                node_settings_done(s);
        return r;
}

int node_settings_load(struct node_settings *s, const char *node, const char *state_dir,
                       const char *config_path) {
        _cleanup_free_ char *default_path = NULL;
        struct config *config = NULL;
        int r = config_new(&config);
        if (r < 0)
                return log_error_errno(r, "%m");
        if (config_path)
                r = config_load_file(config, config_path, true);
        else if (config_default_path(node, &default_path) >= 0)
                r = config_load_file(config, default_path, false);
        if (r >= 0)
                r = node_settings_from_config(s, config, node, state_dir, config_path);
        config_free(config);
        return r;
}
