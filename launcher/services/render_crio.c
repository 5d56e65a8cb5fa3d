/* render_crio.c: crio.conf and the registries.conf CRI-O reads (CONTAINERS_REGISTRIES_CONF).
 *
 * Storage: native overlay when host_tools found it works in a user namespace on the data dir,
 * else overlay with fuse-overlayfs as mount_program (REFERENCE.md, "CRI-O and kubelet"). The keys
 * and why each has its value: REFERENCE.md, "Rendered configuration: keys checked against CRI-O
 * and kubelet". */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

/* Words of a space-separated setting as a NULL-terminated list (no expansion of any kind). */
static char **split_words(const char *s) {
        size_t n = 0;
        char **v = calloc(strlen(s) / 2 + 2, sizeof(char *));
        if (!v)
                return NULL;
        for (const char *p = s; *p;) {
                p += strspn(p, " \t,");
                size_t len = strcspn(p, " \t,");
                if (len == 0)
                        break;
                v[n] = strndup(p, len);
                if (!v[n]) {
                        _cleanup_strv_free_ char **free_v = v;
                        return NULL;
                }
                n++;
                p += len;
        }
        return v;
}

int render_crio_conf(const struct node_settings *s, const struct host_tools *t, char **ret) {
        _cleanup_free_ char *storage_root = NULL, *storage_runroot = NULL, *crio_state = NULL,
                            *socket = NULL, *policy = NULL, *storage_options = NULL;
        _cleanup_free_ char *q_root = NULL, *q_runroot = NULL, *q_state = NULL, *q_socket = NULL,
                            *q_conmon = NULL, *q_pinns = NULL, *q_runtime_path = NULL, *q_pause = NULL,
                            *q_policy = NULL, *q_node = NULL, *q_fuse = NULL, *q_cni = NULL;

        if (asprintf(&storage_root, "%s/containers/storage", s->data_dir) < 0 ||
            asprintf(&storage_runroot, "%s/containers/storage", s->state_dir) < 0 ||
            asprintf(&policy, "%s/%s", s->state_dir, rendered_file_path(RENDERED_POLICY_JSON)) < 0)
                return log_error_errno(ENOMEM, "cannot render crio.conf: %m");
        crio_state = node_crio_state_dir(s);
        socket = node_crio_socket(s);
        q_root = template_quote(storage_root);
        q_runroot = template_quote(storage_runroot);
        q_state = crio_state ? template_quote(crio_state) : NULL;
        q_socket = socket ? template_quote(socket) : NULL;
        q_conmon = template_quote(t->conmon);
        q_pinns = template_quote(t->pinns);
        q_runtime_path = template_quote(t->runtime_wrapper ?: t->runtime_path);
        q_pause = template_quote(s->pause_image);
        q_policy = template_quote(policy);
        q_node = template_quote(s->node_name);
        q_cni = template_quote_list(t->cni_plugin_dirs);
        if (t->fuse_overlayfs) {
                q_fuse = template_quote(t->fuse_overlayfs);
                if (q_fuse && asprintf(&storage_options, "\"overlay.mount_program=%s\"", q_fuse) < 0)
                        storage_options = NULL;
        } else
                storage_options = strdup("");
        if (!q_root || !q_runroot || !q_state || !q_socket || !q_conmon || !q_pinns || !q_runtime_path ||
            !q_pause || !q_policy || !q_node || !q_cni || !storage_options)
                return log_error_errno(ENOMEM, "cannot render crio.conf: %m");

        /* The runtime's name is a TOML table key; only names host_tools chose (crun, runc, or
         * the basename the user configured) reach here, checked to be a bare key. */
        if (strspn(t->runtime_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            strlen(t->runtime_name))
                return log_error_errno(EINVAL,
                                       "OCI runtime name \"%s\": only letters, digits, - and _ allowed",
                                       t->runtime_name);

        const struct template_var vars[] = {
                { "NODE", q_node },
                { "STORAGE_ROOT", q_root },
                { "STORAGE_RUNROOT", q_runroot },
                { "STORAGE_OPTIONS", storage_options },
                { "CRIO_STATE", q_state },
                { "CRIO_SOCKET", q_socket },
                { "CONMON", q_conmon },
                { "PINNS", q_pinns },
                { "RUNTIME", t->runtime_name },
                { "RUNTIME_PATH", q_runtime_path },
                { "PAUSE_IMAGE", q_pause },
                { "SIGNATURE_POLICY", q_policy },
                { "CNI_PLUGIN_DIRS", q_cni },
        };
        return render_template("crio.conf.in", vars, ELEMENTSOF(vars), ret);
}

int render_registries_conf(const struct node_settings *s, char **ret) {
        _cleanup_strv_free_ char **search = split_words(s->search_registries);
        _cleanup_strv_free_ char **insecure = split_words(s->insecure_registries);
        _cleanup_free_ char *q_search = NULL, *q_node = NULL, *blocks = NULL;
        size_t blocks_size = 0;

        if (!search || !insecure)
                return log_error_errno(ENOMEM, "cannot render registries.conf: %m");
        q_search = template_quote_list(search);
        q_node = template_quote(s->node_name);
        FILE *out = open_memstream(&blocks, &blocks_size);
        if (!q_search || !q_node || !out)
                return log_error_errno(ENOMEM, "cannot render registries.conf: %m");
        for (char **r = insecure; *r; r++) {
                _cleanup_free_ char *q = template_quote(*r);
                fprintf(out, "\n[[registry]]\nlocation = \"%s\"\ninsecure = true\n", q ?: "");
        }
        if (fclose(out) != 0)
                return log_error_errno(ENOMEM, "cannot render registries.conf: %m");

        const struct template_var vars[] = {
                { "NODE", q_node },
                { "SEARCH_REGISTRIES", q_search },
                { "INSECURE_REGISTRIES", blocks },
        };
        return render_template("registries.conf.in", vars, ELEMENTSOF(vars), ret);
}
