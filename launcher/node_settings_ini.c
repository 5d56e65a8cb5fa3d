/* node_settings_ini.c: the node's service sections of the INI file into struct node_settings.
 *
 * One table says which key of which section sets which field and how its value is parsed, so
 * `usernode config --default`, the loader and the error messages cannot disagree. */
#include "launcher/node_settings_ini.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include <unistd.h>

enum value_type { V_STRING, V_DURATION, V_RESTART, V_PORT, V_BOOL, V_SIZE, V_COUNT };

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
        S("kubelet", "path", V_STRING, kubelet_path),
        S("kubelet", "kubeconfig", V_STRING, kubeconfig),
        S("kubelet", "static_pod_path", V_STRING, static_pod_path),
        S("kubelet", "dropin_dir", V_STRING, kubelet_dropin_dir),
        S("kubelet", "healthz_port", V_PORT, healthz_port),
        S("kubelet", "ready_timeout", V_DURATION, kubelet_ready_timeout),
        S("kubelet", "restart", V_RESTART, kubelet_restart),
        S("kubelet", "stop_timeout", V_DURATION, kubelet_stop_timeout),
        S("cni", "bridge", V_STRING, cni_bridge),
        S("cni", "subnet", V_STRING, cni_subnet),
        S("cni", "ip_masq", V_BOOL, cni_ip_masq),
        S("supervisor", "restart_delay_min", V_DURATION, restart_delay_min),
        S("supervisor", "restart_delay_max", V_DURATION, restart_delay_max),
        S("supervisor", "restart_reset_after", V_DURATION, restart_reset_after),
        S("supervisor", "log_max_size", V_SIZE, log_max_size),
        S("supervisor", "log_keep", V_COUNT, log_keep),
        X("command", V_STRING, command),
        X("environment", V_STRING, environment),
        X("after", V_STRING, after),
        X("restart", V_RESTART, restart),
        X("stop_timeout", V_DURATION, stop_timeout),
};

static const char *allowed_values(enum value_type t) {
        switch (t) {
        case V_DURATION:
                return "a duration like 500ms, 10s, 2min";
        case V_RESTART:
                return "always, on-failure or never";
        case V_PORT:
                return "a TCP port, 1-65535";
        case V_BOOL:
                return "true or false";
        case V_SIZE:
                return "a size like 10M, 512K or a number of bytes";
        case V_COUNT:
                return "a number from 1 to 100";
        default:
                return "text";
        }
}

int node_settings_parse_value(const char *section, const char *key, const char *value, void *base) {
        const struct setting_key *k = NULL;
        bool is_service = strncmp(section, "service:", 8) == 0;

        for (size_t i = 0; i < ELEMENTSOF(keys) && !k; i++)
                if ((is_service ? strcmp(keys[i].section, "service:") == 0
                                : strcmp(keys[i].section, section) == 0) &&
                    strcmp(keys[i].key, key) == 0)
                        k = &keys[i];
        if (!k)
                return -ENOENT;

        void *field = (char *)base + k->offset;
        int r = 0;
        switch (k->type) {
        case V_STRING:
                r = settings_set((char **)field, value);
                break;
        case V_DURATION:
                r = parse_duration(value, (usec_t *)field);
                break;
        case V_RESTART:
                r = restart_policy_from_string(value, (enum restart_policy *)field);
                break;
        case V_PORT: {
                char *end;
                unsigned long v = strtoul(value, &end, 10);
                if (!*value || *end || v == 0 || v > 65535)
                        r = -EINVAL;
                else
                        *(unsigned *)field = (unsigned)v;
                break;
        }
        case V_BOOL:
                if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
                        *(bool *)field = true;
                else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
                        *(bool *)field = false;
                else
                        r = -EINVAL;
                break;
        case V_SIZE:
                r = parse_size(value, (uint64_t *)field);
                break;
        case V_COUNT: {
                char *end;
                unsigned long v = strtoul(value, &end, 10);
                if (!*value || *end || v == 0 || v > 100)
                        r = -EINVAL;
                else
                        *(unsigned *)field = (unsigned)v;
                break;
        }
        }
        if (r == -EINVAL)
                return -ERANGE; /* a known key with a bad value */
        return r;
}

const char *node_settings_allowed(const char *section, const char *key) {
        bool is_service = strncmp(section, "service:", 8) == 0;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if ((is_service ? strcmp(keys[i].section, "service:") == 0
                                : strcmp(keys[i].section, section) == 0) &&
                    strcmp(keys[i].key, key) == 0)
                        return allowed_values(keys[i].type);
        return NULL;
}

bool node_settings_owns_section(const char *section) {
        if (strncmp(section, "service:", 8) == 0)
                return section[8] != '\0';
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].section, section) == 0)
                        return true;
        return false;
}

int node_settings_set(struct node_settings *s, const char *section, const char *key, const char *value,
                      const char *where) {
        void *base = s;
        if (strncmp(section, "service:", 8) == 0) {
                const char *name = section + 8;
                struct extra_service_settings *e = NULL;
                if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name) ||
                    strlen(name) > 63)
                        return log_error_errno(EINVAL,
                                               "%s: [%s]: a service name is 1-63 of a-z, 0-9, - and _",
                                               where, section);
                if (strcmp(name, "crio") == 0 || strcmp(name, "kubelet") == 0)
                        return log_error_errno(EINVAL,
                                               "%s: [%s]: crio and kubelet are set in [crio] and [kubelet]",
                                               where, section);
                for (size_t i = 0; i < s->n_services && !e; i++)
                        if (strcmp(s->services[i].name, name) == 0)
                                e = &s->services[i];
                if (!e)
                        e = node_settings_add_service(s, name);
                if (!e)
                        return log_error_errno(ENOMEM, "%s: %m", where);
                base = e;
        }
        int r = node_settings_parse_value(section, key, value, base);
        if (r == -ENOENT)
                return log_error_errno(EINVAL, "%s: [%s] has no key \"%s\"; see 'usernode config --default'",
                                       where, section, key);
        if (r == -ERANGE)
                return log_error_errno(EINVAL, "%s: [%s] %s = %s: expected %s", where, section, key, value,
                                       node_settings_allowed(section, key));
        if (r < 0)
                return log_error_errno(r, "%s: %m", where);
        return 0;
}

/* The section a "section:key" entry belongs to: the longest section name that prefixes it.
 * iniparser joins sections and keys with ':' and counts only names without ':' as sections, so
 * [service:NAME] has to be found this way. */
static const char *section_of(dictionary *ini, const char *entry) {
        const char *best = NULL;
        size_t best_len = 0;
        for (ssize_t i = 0; i < ini->size; i++) {
                const char *k = ini->key[i];
                if (!k || ini->val[i])
                        continue; /* sections are the entries without a value */
                size_t len = strlen(k);
                if (len > best_len && strncmp(entry, k, len) == 0 && entry[len] == ':' &&
                    !strchr(entry + len + 1, ':')) {
                        best = k;
                        best_len = len;
                }
        }
        return best;
}

int node_settings_load_ini(struct node_settings *s, dictionary *ini, const char *path) {
        for (ssize_t i = 0; i < ini->size; i++) {
                const char *entry = ini->key[i];
                if (!entry || !ini->val[i])
                        continue;
                const char *section = section_of(ini, entry);
                if (!section || !node_settings_owns_section(section))
                        continue;
                int r = node_settings_set(s, section, entry + strlen(section) + 1, ini->val[i], path);
                if (r < 0)
                        return r;
        }
        return 0;
}

int node_settings_load(struct node_settings *s, const char *node, const char *state_dir,
                       const char *config_path) {
        _cleanup_free_ char *data_dir = NULL, *config_dir = NULL, *default_path = NULL;
        int r;

        r = node_data_dir(node, &data_dir);
        if (r >= 0)
                r = node_config_dir(&config_dir);
        if (r == -ENOENT)
                return log_error_errno(r, "neither XDG_DATA_HOME/XDG_CONFIG_HOME nor HOME is set; set HOME");
        if (r < 0)
                return log_error_errno(r, "cannot resolve the node's directories: %m");
        if (!config_path) {
                if (asprintf(&default_path, "%s/%s.ini", config_dir, node) < 0)
                        return log_error_errno(ENOMEM, "%m");
                if (access(default_path, F_OK) == 0)
                        config_path = default_path;
        }
        r = node_settings_init(s, node, state_dir, data_dir, config_dir, config_path);
        if (r < 0)
                return log_error_errno(r, "%m");
        if (!config_path)
                return 0;
        dictionary *ini = iniparser_load(config_path);
        if (!ini) {
                node_settings_done(s);
                return log_error_errno(EINVAL, "%s: cannot read it as an INI file", config_path);
        }
        r = node_settings_load_ini(s, ini, config_path);
        iniparser_freedict(ini);
        if (r < 0)
                node_settings_done(s);
        return r;
}
