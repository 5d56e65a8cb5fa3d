/* render.h: the configuration files of a node's services, made from its settings.
 *
 * Every rendered file lives under the node's state dir (STATE/config/...), every path inside them
 * under the state or data dir, so a node never writes outside its own directories. Rendering is
 * pure (settings + detected host tools -> text); render_write() is the only step touching disk
 * and only replaces a file whose text changed, which is what SIGHUP uses to know whom to restart. */
#pragma once

#include <stdbool.h>

#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"

enum rendered_file {
        RENDERED_CRIO_CONF,
        RENDERED_KUBELET_CONFIG,
        RENDERED_CNI_CONFLIST,
        RENDERED_REGISTRIES_CONF,
        RENDERED_POLICY_JSON,
        RENDERED_KUBE_PROXY_CONFIG,
        _RENDERED_MAX,
};

struct render_set {
        char *text[_RENDERED_MAX];
};

/* Path of a rendered file relative to the state dir, e.g. "config/crio.conf". */
const char *rendered_file_path(enum rendered_file f);

/* Paths inside the node that the rendered files and the services agree on. Each returns a new
 * string, or NULL on allocation failure. */
char *node_crio_socket(const struct node_settings *s);
char *node_crio_state_dir(const struct node_settings *s);
char *node_cni_conf_dir(const struct node_settings *s);

int render_crio_conf(const struct node_settings *s, const struct host_tools *t, char **ret);
int render_kubelet_config(const struct node_settings *s, char **ret);
int render_cni_conflist(const struct node_settings *s, char **ret);
int render_registries_conf(const struct node_settings *s, char **ret);
int render_kube_proxy_config(const struct node_settings *s, char **ret);

/* The kubeconfig kube-proxy uses: [kube-proxy] kubeconfig, else the node's own. */
const char *node_kube_proxy_kubeconfig(const struct node_settings *s);

/* All of the above; logs and returns a negative errno on failure. */
int render_all(const struct node_settings *s, const struct host_tools *t, struct render_set *ret);
void render_set_done(struct render_set *set);

/* Write every file of `set` below state_dir, atomically (temporary file + rename), leaving a file
 * whose contents are unchanged untouched; changed[f] tells which were written. Returns 0 or a
 * negative errno, logged. */
int render_write(const struct render_set *set, const char *state_dir, bool changed[_RENDERED_MAX]);

/* Write TEXT as the rendered file F below STATE_DIR, atomically. Returns 0 or a negative errno. */
int render_write_file(const char *state_dir, enum rendered_file f, const char *text);

/* Internal to render_*.c: fill `template_name` with vars, logging a missing placeholder. */
struct template_var;
int render_template(const char *template_name, const struct template_var *vars, size_t n_vars, char **ret);
