/* service.c: service definitions and plans, and their fingerprints for SIGHUP. */
#include "launcher/services/service.h"

#include <stdio.h>
#include <string.h>

#include "common/macro.h"

static const char *const state_names[_SERVICE_STATE_MAX] = {
        [SERVICE_WAITING] = "waiting", [SERVICE_STARTING] = "starting",     [SERVICE_RUNNING] = "running",
        [SERVICE_BACKOFF] = "backoff", [SERVICE_CRASH_LOOP] = "crash-loop", [SERVICE_STOPPING] = "stopping",
        [SERVICE_STOPPED] = "stopped", [SERVICE_EXITED] = "exited",
};

const char *service_state_to_string(enum service_state s) {
        return (size_t)s < _SERVICE_STATE_MAX ? state_names[s] : "unknown";
}

struct service_def *service_plan_add(struct service_plan *p, const char *name) {
        struct service_def *n = reallocarray(p->services, p->n_services + 1, sizeof(*n));
        if (!n)
                return NULL;
        p->services = n;
        struct service_def *d = &n[p->n_services];
        *d = (struct service_def){ .restart = RESTART_ON_FAILURE, .stop_timeout = 10 * USEC_PER_SEC };
        d->name = strdup(name);
        if (!d->name)
                return NULL;
        p->n_services++;
        return d;
}

const struct service_def *service_plan_find(const struct service_plan *p, const char *name) {
        for (size_t i = 0; i < p->n_services; i++)
                if (strcmp(p->services[i].name, name) == 0)
                        return &p->services[i];
        return NULL;
}

/* FNV-1a: not for security, only to notice that a config file's text changed. */
static uint64_t fnv1a(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

static void put_strv(FILE *out, const char *key, char **v) {
        fprintf(out, "%s:", key);
        for (; v && *v; v++)
                fprintf(out, "%zu:%s,", strlen(*v), *v);
        fputc('\n', out);
}

int service_def_fingerprint(struct service_def *def, const char *extra) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return -ENOMEM;
        put_strv(out, "argv", def->argv);
        put_strv(out, "env", def->env);
        put_strv(out, "after", def->after);
        fprintf(out, "restart:%d\nstop:%llu\nready:%d:%s:%llu\nextra:%016llx\n", (int)def->restart,
                (unsigned long long)def->stop_timeout, (int)def->ready, def->ready_target ?: "",
                (unsigned long long)def->ready_timeout, (unsigned long long)fnv1a(extra ?: ""));
        if (fclose(out) != 0) {
                free(buf);
                return -ENOMEM;
        }
        free(def->fingerprint);
        def->fingerprint = buf;
        return 0;
}

static void strv_free(char **v) {
        strv_freep(&v);
}

void service_def_done(struct service_def *d) {
        free(d->name);
        strv_free(d->argv);
        strv_free(d->env);
        strv_free(d->after);
        free(d->ready_target);
        free(d->fingerprint);
        free(d->cgroup);
        free(d->drain_endpoint);
        *d = (struct service_def){};
}

struct service_plan *service_plan_free(struct service_plan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_services; i++)
                service_def_done(&p->services[i]);
        free(p->services);
        free(p->log_dir);
        free(p);
        return NULL;
}
