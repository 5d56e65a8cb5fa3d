/* node_plan.c: the services of a node as data, built from its settings. */
#include "launcher/services/node_plan.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/render.h"

static char **strv_new(size_t n) {
        return calloc(n + 1, sizeof(char *));
}

/* A NULL-terminated copy of the given strings (NULLs among them are skipped). */
static char **strv_of(const char *const *items, size_t n) {
        char **v = strv_new(n);
        if (!v)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (!items[i])
                        continue;
                v[k] = strdup(items[i]);
                if (!v[k]) {
                        strv_freep(&v);
                        return NULL;
                }
                k++;
        }
        return v;
}

/* Split a command line as a shell would (quotes, backslashes), expanding nothing. */
static int split_command(const char *section, const char *key, const char *text, char ***ret) {
        _cleanup_free_ char *why = NULL;
        int r = node_config_split_words(text, ret, &why);
        if (r == -EINVAL)
                return log_error_errno(r, "[%s] %s = %s: cannot split it into words (%s)", section, key,
                                       text, why ? why : "unbalanced quotes");
        if (r < 0)
                return log_error_errno(r, "[%s] %s: %m", section, key);
        return 0;
}

/* PATH for crio and kubelet: the user's, plus the sbin directories it lacks (Debian gives ordinary
 * users none). crio finds iptables or nft there for its hostport manager and exits without them;
 * the CNI plugins it runs look up iptables the same way. */
static char *service_path_env(void) {
        static const char *const sbin[] = { "/usr/local/sbin", "/usr/sbin", "/sbin" };
        const char *path = getenv("PATH");
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return NULL;
        fprintf(out, "PATH=%s", path && path[0] ? path : "/usr/local/bin:/usr/bin:/bin");
        for (size_t i = 0; i < ELEMENTSOF(sbin); i++) {
                bool found = false;
                for (const char *p = path ?: ""; *p && !found;) {
                        size_t len = strcspn(p, ":");
                        found = len == strlen(sbin[i]) && strncmp(p, sbin[i], len) == 0;
                        p += len + (p[len] == ':');
                }
                if (!found)
                        fprintf(out, ":%s", sbin[i]);
        }
        if (fclose(out) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int add_crio(const struct node_settings *s, const struct host_tools *t,
                    const struct render_set *files, struct service_plan *plan) {
        _cleanup_free_ char *conf = NULL, *registries = NULL, *registries_env = NULL, *extra = NULL,
                            *path_env = service_path_env();
        struct service_def *d = service_plan_add(plan, "crio");
        if (!d || !path_env ||
            asprintf(&conf, "%s/%s", s->state_dir, rendered_file_path(RENDERED_CRIO_CONF)) < 0 ||
            asprintf(&registries, "%s/%s", s->state_dir, rendered_file_path(RENDERED_REGISTRIES_CONF)) < 0 ||
            asprintf(&registries_env, "CONTAINERS_REGISTRIES_CONF=%s", registries) < 0 ||
            asprintf(&extra, "%s\n%s\n%s", files->text[RENDERED_CRIO_CONF],
                     files->text[RENDERED_REGISTRIES_CONF], files->text[RENDERED_POLICY_JSON]) < 0)
                return -ENOMEM;
        /* --config-dir "": no drop-ins at all, so a crio on the host (its /etc/crio/crio.conf.d)
         * cannot change this node's crio; everything is in the rendered crio.conf. */
        const char *argv[] = { t->crio, "--config", conf, "--config-dir", "" };
        /* _CRIO_ROOTLESS: CRI-O's switch for running as root of a user namespace (no sysctls it
         * cannot write, no OOM score changes). */
        const char *env[] = { "_CRIO_ROOTLESS=1", registries_env, path_env };
        d->argv = strv_of(argv, ELEMENTSOF(argv));
        d->env = strv_of(env, ELEMENTSOF(env));
        d->after = strv_new(0);
        d->restart = s->crio_restart;
        d->stop_timeout = s->crio_stop_timeout;
        d->ready = READY_SOCKET;
        d->ready_target = node_crio_socket(s);
        d->ready_timeout = s->crio_ready_timeout;
        if (asprintf(&d->drain_endpoint, "unix://%s", d->ready_target ?: "") < 0)
                d->drain_endpoint = NULL;
        d->drain_grace_max = s->crio_pod_grace_max;
        d->leaf_outlives_exit = true;
        if (!d->argv || !d->env || !d->after || !d->ready_target || !d->drain_endpoint)
                return -ENOMEM;
        return service_def_fingerprint(d, extra);
}

/* The text of the drop-in files (kubelet reads *.conf, in lexical order), so that editing one
 * and sending SIGHUP restarts kubelet. Returns a new string ("" when there are none) or NULL. */
static char *dropins_text(const char *dir) {
        struct dirent **names = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return NULL;
        int n = scandir(dir, &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                size_t len = strlen(names[i]->d_name);
                if (len > 5 && strcmp(names[i]->d_name + len - 5, ".conf") == 0) {
                        _cleanup_free_ char *path = NULL;
                        if (asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0) {
                                FILE *f = fopen(path, "re");
                                int c;
                                fprintf(out, "%s:\n", names[i]->d_name);
                                while (f && (c = fgetc(f)) != EOF)
                                        fputc(c, out);
                                if (f)
                                        fclose(f);
                        }
                }
                free(names[i]);
        }
        free(names);
        if (fclose(out) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int add_kubelet(const struct node_settings *s, const struct host_tools *t,
                       const struct render_set *files, struct service_plan *plan) {
        _cleanup_free_ char *config = NULL, *dropin = NULL, *kubeconfig = NULL, *extra = NULL,
                            *dropins = NULL, *bootstrap = NULL, *cert_dir = NULL, *hostname = NULL,
                            *node_ip = NULL, *path_env = service_path_env();
        struct service_def *d = service_plan_add(plan, "kubelet");
        bool standalone = !s->kubeconfig || !s->kubeconfig[0];

        if (!d || !path_env ||
            asprintf(&config, "--config=%s/%s", s->state_dir, rendered_file_path(RENDERED_KUBELET_CONFIG)) <
                    0 ||
            asprintf(&dropin, "--config-dir=%s", s->kubelet_dropin_dir) < 0 ||
            (!standalone && asprintf(&kubeconfig, "--kubeconfig=%s", s->kubeconfig) < 0) ||
            /* Joined: TLS bootstrap from the token, the issued certificates kept in the data dir. */
            (s->bootstrap_kubeconfig &&
             (asprintf(&bootstrap, "--bootstrap-kubeconfig=%s", s->bootstrap_kubeconfig) < 0 ||
              asprintf(&cert_dir, "--cert-dir=%s", s->kubelet_cert_dir) < 0 ||
              asprintf(&hostname, "--hostname-override=%s", s->kubelet_hostname) < 0 ||
              asprintf(&node_ip, "--node-ip=%s", s->kubelet_node_ip) < 0)) ||
            !(dropins = dropins_text(s->kubelet_dropin_dir)) ||
            asprintf(&extra, "%s\n%s", files->text[RENDERED_KUBELET_CONFIG], dropins) < 0)
                return -ENOMEM;
        /* The drop-in dir is the user's: passed only when they made one. */
        bool has_dropins = access(s->kubelet_dropin_dir, F_OK) == 0;
        const char *argv[] = { t->kubelet, config,    has_dropins ? dropin : NULL,
                               kubeconfig, bootstrap, cert_dir,
                               hostname,   node_ip };
        /* --config-dir is alpha in 1.28/1.29 and needs this variable set to be honoured. */
        const char *env[] = { "KUBELET_CONFIG_DROPIN_DIR_ALPHA=1", path_env };
        d->argv = strv_of(argv, ELEMENTSOF(argv));
        d->env = strv_of(env, ELEMENTSOF(env));
        const char *after[] = { "crio" };
        d->after = strv_of(after, 1);
        d->restart = s->kubelet_restart;
        d->stop_timeout = s->kubelet_stop_timeout;
        d->ready = READY_HTTP;
        if (asprintf(&d->ready_target, "%u/healthz", s->healthz_port) < 0)
                d->ready_target = NULL;
        d->ready_timeout = s->kubelet_ready_timeout;
        if (!d->argv || !d->env || !d->after || !d->ready_target)
                return -ENOMEM;
        return service_def_fingerprint(d, extra);
}

/* [kube-proxy] enabled: after kubelet, whose TLS bootstrap wrote the kubeconfig it uses. */
static int add_kube_proxy(const struct node_settings *s, const struct host_tools *t,
                          const struct render_set *files, struct service_plan *plan) {
        _cleanup_free_ char *config = NULL, *path_env = service_path_env();
        const char *kubeconfig = node_kube_proxy_kubeconfig(s);
        if (!kubeconfig || !kubeconfig[0])
                return log_error_errno(EINVAL, "[kube-proxy] enabled needs a cluster: join one (--join) or "
                                               "give [kube-proxy] kubeconfig");
        struct service_def *d = service_plan_add(plan, "kube-proxy");
        if (!d || !path_env ||
            asprintf(&config, "--config=%s/%s", s->state_dir,
                     rendered_file_path(RENDERED_KUBE_PROXY_CONFIG)) < 0)
                return -ENOMEM;
        const char *argv[] = { t->kube_proxy, config };
        const char *after[] = { "kubelet" };
        /* The sbin directories too: kube-proxy runs iptables by name, and a user's PATH often
         * lacks /usr/sbin ("iptables is not available on this host"). */
        const char *env[] = { path_env };
        d->argv = strv_of(argv, ELEMENTSOF(argv));
        d->env = strv_of(env, ELEMENTSOF(env));
        d->after = strv_of(after, 1);
        d->restart = s->kube_proxy_restart;
        d->stop_timeout = s->kube_proxy_stop_timeout;
        d->ready = READY_HTTP;
        if (asprintf(&d->ready_target, "%u/healthz", s->kube_proxy_healthz_port) < 0)
                d->ready_target = NULL;
        d->ready_timeout = s->kubelet_ready_timeout;
        if (!d->argv || !d->env || !d->after || !d->ready_target)
                return -ENOMEM;
        return service_def_fingerprint(d, files->text[RENDERED_KUBE_PROXY_CONFIG]);
}

static int add_extra(const struct extra_service_settings *e, struct service_plan *plan) {
        _cleanup_free_ char *section = NULL;
        struct service_def *d;
        int r;

        if (asprintf(&section, "service:%s", e->name) < 0)
                return -ENOMEM;
        if (service_plan_find(plan, e->name))
                return log_error_errno(EINVAL, "[%s]: a service of that name exists already", section);
        if (!e->command || !e->command[0])
                return log_error_errno(EINVAL, "[%s] command: missing; give the program and its arguments",
                                       section);
        d = service_plan_add(plan, e->name);
        if (!d)
                return -ENOMEM;
        r = split_command(section, "command", e->command, &d->argv);
        if (r >= 0)
                r = split_command(section, "environment", e->environment ?: "", &d->env);
        if (r >= 0)
                r = split_command(section, "after", e->after && e->after[0] ? e->after : "kubelet",
                                  &d->after);
        if (r < 0)
                return r;
        if (!d->argv[0])
                return log_error_errno(EINVAL, "[%s] command = %s: no program in it", section, e->command);
        for (char **kv = d->env; *kv; kv++)
                if (!strchr(*kv, '=') || **kv == '=')
                        return log_error_errno(EINVAL, "[%s] environment: \"%s\" is not KEY=VALUE", section,
                                               *kv);
        d->restart = e->restart;
        d->stop_timeout = e->stop_timeout;
        d->ready = READY_WHEN_STARTED;
        return service_def_fingerprint(d, NULL);
}

/* Order the plan so that every service comes after the ones it names in `after`. */
static int order_plan(struct service_plan *plan) {
        size_t n = plan->n_services;
        _cleanup_free_ struct service_def *sorted = calloc(n ? n : 1, sizeof(*sorted));
        _cleanup_free_ bool *placed = calloc(n ? n : 1, sizeof(bool));
        if (!sorted || !placed)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++)
                for (char **a = plan->services[i].after; *a; a++)
                        if (!service_plan_find(plan, *a))
                                return log_error_errno(EINVAL, "[service:%s] after = %s: no such service",
                                                       plan->services[i].name, *a);
        for (size_t k = 0; k < n; k++) {
                size_t pick = n;
                for (size_t i = 0; i < n && pick == n; i++) {
                        if (placed[i])
                                continue;
                        bool ok = true;
                        for (char **a = plan->services[i].after; *a && ok; a++)
                                for (size_t j = 0; j < n; j++)
                                        if (!placed[j] && strcmp(plan->services[j].name, *a) == 0)
                                                ok = false;
                        if (ok)
                                pick = i;
                }
                if (pick == n) {
                        for (size_t i = 0; i < n; i++)
                                if (!placed[i])
                                        return log_error_errno(
                                                EINVAL,
                                                "[service:%s] after: the services' after= settings "
                                                "form a cycle; break it",
                                                plan->services[i].name);
                }
                placed[pick] = true;
                sorted[k] = plan->services[pick];
        }
        memcpy(plan->services, sorted, n * sizeof(*sorted));
        return 0;
}

int node_plan_build(const struct node_settings *s, const struct host_tools *t, struct service_plan **ret) {
        struct render_set files = {};
        bool changed[_RENDERED_MAX];
        struct service_plan *plan = calloc(1, sizeof(*plan));
        int r;

        if (!plan)
                return log_error_errno(ENOMEM, "cannot plan the node's services: %m");
        r = render_all(s, t, &files);
        if (r >= 0)
                r = render_write(&files, s->state_dir, changed);
        if (r >= 0) {
                plan->restart_delay_min = s->restart_delay_min;
                plan->restart_delay_max = s->restart_delay_max;
                plan->restart_reset_after = s->restart_reset_after;
                plan->log_max_size = s->log_max_size;
                plan->log_keep = s->log_keep;
                plan->journal = getenv("JOURNAL_STREAM") != NULL;
                if (asprintf(&plan->log_dir, "%s/logs", s->data_dir) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = add_crio(s, t, &files, plan);
        if (r >= 0)
                r = add_kubelet(s, t, &files, plan);
        if (r >= 0 && s->kube_proxy_enabled)
                r = add_kube_proxy(s, t, &files, plan);
        for (size_t i = 0; r >= 0 && i < s->n_services; i++)
                r = add_extra(&s->services[i], plan);
        if (r >= 0)
                r = order_plan(plan);
        /* A leaf each: what a service leaves behind can be killed as a whole (cgroup.kill). */
        for (size_t i = 0; r >= 0 && s->cgroups_delegated && i < plan->n_services; i++)
                if (asprintf(&plan->services[i].cgroup, "services/%s", plan->services[i].name) < 0) {
                        plan->services[i].cgroup = NULL;
                        r = -ENOMEM;
                }
        render_set_done(&files);
        if (r < 0) {
                service_plan_free(plan);
                if (r == -ENOMEM)
                        return log_error_errno(r, "cannot plan the node's services: %m");
                return r;
        }
        *ret = plan;
        return 0;
}
