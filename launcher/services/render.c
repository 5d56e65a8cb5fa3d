/* render.c: shared paths of the rendered configuration and writing it to the state dir. */
#include "launcher/services/render.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/config/embedded_files.h"
#include "launcher/services/template.h"

static const char *const rendered_paths[_RENDERED_MAX] = {
        [RENDERED_CRIO_CONF] = "config/crio.conf",
        [RENDERED_KUBELET_CONFIG] = "config/kubelet.yaml",
        [RENDERED_CNI_CONFLIST] = "config/cni/10-usernode.conflist",
        [RENDERED_REGISTRIES_CONF] = "config/registries.conf",
        [RENDERED_POLICY_JSON] = "config/policy.json",
        [RENDERED_KUBE_PROXY_CONFIG] = "config/kube-proxy.yaml",
};

const char *rendered_file_path(enum rendered_file f) {
        return rendered_paths[f];
}

static char *join(const char *dir, const char *name) {
        char *p;
        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

char *node_crio_socket(const struct node_settings *s) {
        return join(s->state_dir, "crio/crio.sock");
}

char *node_crio_state_dir(const struct node_settings *s) {
        return join(s->state_dir, "crio");
}

char *node_cni_conf_dir(const struct node_settings *s) {
        return join(s->state_dir, "config/cni");
}

int render_template(const char *template_name, const struct template_var *vars, size_t n_vars, char **ret) {
        _cleanup_free_ char *missing = NULL;
        const char *text = embedded_file(template_name, NULL);
        if (!text)
                return log_error_errno(ENOENT, "no embedded template %s", template_name);
        int r = template_render(text, vars, n_vars, ret, &missing);
        if (r == -ENOENT)
                return log_error_errno(r, "template %s: no value for @%s@", template_name, missing ?: "?");
        if (r < 0)
                return log_error_errno(r, "cannot render %s: %m", template_name);
        return 0;
}

int render_all(const struct node_settings *s, const struct host_tools *t, struct render_set *ret) {
        struct render_set set = {};
        int r = render_crio_conf(s, t, &set.text[RENDERED_CRIO_CONF]);
        if (r >= 0)
                r = render_kubelet_config(s, &set.text[RENDERED_KUBELET_CONFIG]);
        if (r >= 0)
                r = render_cni_conflist(s, &set.text[RENDERED_CNI_CONFLIST]);
        if (r >= 0)
                r = render_registries_conf(s, &set.text[RENDERED_REGISTRIES_CONF]);
        if (r >= 0)
                r = render_kube_proxy_config(s, &set.text[RENDERED_KUBE_PROXY_CONFIG]);
        if (r >= 0) {
                set.text[RENDERED_POLICY_JSON] = strdup(embedded_file("policy.json", NULL));
                if (!set.text[RENDERED_POLICY_JSON])
                        r = log_error_errno(ENOMEM, "cannot render policy.json: %m");
        }
        if (r < 0) {
                render_set_done(&set);
                return r;
        }
        *ret = set;
        return 0;
}

void render_set_done(struct render_set *set) {
        for (size_t i = 0; i < _RENDERED_MAX; i++) {
                free(set->text[i]);
                set->text[i] = NULL;
        }
}

static bool file_has_text(const char *path, const char *text) {
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t len = strlen(text);
        char *buf = malloc(len + 1);
        bool same = buf && fread(buf, 1, len + 1, f) == len && memcmp(buf, text, len) == 0;
        free(buf);
        fclose(f);
        return same;
}

static int write_atomic(const char *path, const char *text) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        int r = fd_write_all(fd, text, strlen(text));
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int render_write_file(const char *state_dir, enum rendered_file f, const char *text) {
        _cleanup_free_ char *path = join(state_dir, rendered_paths[f]);
        if (!path)
                return -ENOMEM;
        int r = mkdir_parents(path, 0700);
        return r < 0 ? r : write_atomic(path, text);
}

int render_write(const struct render_set *set, const char *state_dir, bool changed[_RENDERED_MAX]) {
        for (size_t i = 0; i < _RENDERED_MAX; i++) {
                _cleanup_free_ char *path = join(state_dir, rendered_paths[i]);
                if (!path)
                        return log_error_errno(ENOMEM, "cannot render: %m");
                changed[i] = !file_has_text(path, set->text[i]);
                if (!changed[i])
                        continue;
                int r = mkdir_parents(path, 0700);
                if (r >= 0)
                        r = write_atomic(path, set->text[i]);
                if (r < 0)
                        return log_error_errno(r, "cannot write %s: %m", path);
        }
        return 0;
}
