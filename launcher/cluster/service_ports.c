/* service_ports.c: the launcher's table of ports published for Services, and the diff that keeps
 * it equal to what the cluster agent last saw. A port that cannot be published (taken, or below
 * the unprivileged port range) is a warning, not a failure: the other Services still get theirs. */
#include "launcher/cluster/service_ports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "netns/portspec.h"

struct service_port {
        unsigned id;
        char *spec; /* canonical */
        char *source; /* "service NS/NAME" */
};

struct service_ports {
        struct portfwd *pf;
        struct service_port *ports;
        size_t n;
};

static void service_port_done(struct service_port *p) {
        free(p->spec);
        free(p->source);
}

static bool wanted_has(struct json_object *wanted, const char *spec) {
        for (size_t i = 0; i < json_object_array_length(wanted); i++) {
                struct json_object *s = json_object_object_get(json_object_array_get_idx(wanted, i), "spec");
                if (s && strcmp(json_object_get_string(s), spec) == 0)
                        return true;
        }
        return false;
}

static bool table_has(const struct service_ports *sp, const char *spec) {
        for (size_t i = 0; i < sp->n; i++)
                if (strcmp(sp->ports[i].spec, spec) == 0)
                        return true;
        return false;
}

/* Withdraw what is no longer wanted. */
static void service_ports_withdraw(struct service_ports *sp, struct json_object *wanted) {
        size_t k = 0;
        for (size_t i = 0; i < sp->n; i++) {
                if (wanted_has(wanted, sp->ports[i].spec)) {
                        sp->ports[k++] = sp->ports[i];
                        continue;
                }
                (void)portfwd_remove(sp->pf, sp->ports[i].id);
                log_info("withdrew %s (%s)", sp->ports[i].spec, sp->ports[i].source);
                service_port_done(&sp->ports[i]);
        }
        sp->n = k;
}

static int service_ports_publish(struct service_ports *sp, const char *text, const char *source) {
        struct port_spec spec;
        char error[512], canonical[PORTSPEC_STRING_MAX];
        unsigned id;

        if (portspec_parse(text, &spec, error, sizeof(error)) < 0 ||
            portspec_format(&spec, canonical, sizeof(canonical)) < 0) {
                log_warning("cannot publish \"%s\" for %s: %s", text, source, error);
                return 0;
        }
        if (table_has(sp, canonical))
                return 0;
        if (sp->n >= SERVICE_PORTS_MAX)
                return -E2BIG;
        if (portfwd_add(sp->pf, &spec, &id, error, sizeof(error)) < 0) {
                log_warning("cannot publish %s for %s: %s", canonical, source, error);
                return 0;
        }
        struct service_port *grown = realloc(sp->ports, (sp->n + 1) * sizeof(*grown));
        char *s = strdup(canonical), *src = strdup(source);
        if (!grown || !s || !src) {
                free(s);
                free(src);
                if (grown)
                        sp->ports = grown;
                (void)portfwd_remove(sp->pf, id);
                return -ENOMEM;
        }
        sp->ports = grown;
        sp->ports[sp->n++] = (struct service_port){ .id = id, .spec = s, .source = src };
        log_info("published %s (%s)", canonical, source);
        return 0;
}

static int method_set(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                      size_t size) {
        struct service_ports *sp = userdata;
        struct json_object *wanted;

        if (!params || !json_object_object_get_ex(params, "ports", &wanted) ||
            !json_object_is_type(wanted, json_type_array) ||
            json_object_array_length(wanted) > SERVICE_PORTS_MAX) {
                snprintf(error, size, "params must have an array \"ports\" of at most %d",
                         SERVICE_PORTS_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < json_object_array_length(wanted); i++) {
                struct json_object *p = json_object_array_get_idx(wanted, i), *spec, *source;
                if (!json_object_object_get_ex(p, "spec", &spec) ||
                    !json_object_is_type(spec, json_type_string) ||
                    !json_object_object_get_ex(p, "source", &source) ||
                    !json_object_is_type(source, json_type_string)) {
                        snprintf(error, size, "each port must have a string \"spec\" and \"source\"");
                        return -EINVAL;
                }
        }
        service_ports_withdraw(sp, wanted);
        for (size_t i = 0; i < json_object_array_length(wanted); i++) {
                struct json_object *p = json_object_array_get_idx(wanted, i);
                int r = service_ports_publish(sp, json_object_get_string(json_object_object_get(p, "spec")),
                                              json_object_get_string(json_object_object_get(p, "source")));
                if (r < 0) {
                        snprintf(error, size, "cannot publish the Services' ports: %s", strerror(-r));
                        return r;
                }
        }
        *ret = json_object_new_object();
        if (!*ret)
                return -ENOMEM;
        json_object_object_add(*ret, "published", json_object_new_int64((int64_t)sp->n));
        return 0;
}

static int method_ls(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                     size_t size) {
        struct service_ports *sp = userdata;
        struct json_object *list = json_object_new_array();
        (void)params;
        (void)error;
        (void)size;
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < sp->n; i++) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_int64(sp->ports[i].id));
                json_object_object_add(o, "spec", json_object_new_string(sp->ports[i].spec));
                json_object_object_add(o, "source", json_object_new_string(sp->ports[i].source));
                json_object_array_add(list, o);
        }
        *ret = json_object_new_object();
        if (!*ret) {
                json_object_put(list);
                return -ENOMEM;
        }
        json_object_object_add(*ret, "ports", list);
        return 0;
}

int service_ports_new(struct control_api *api, struct portfwd *pf, struct service_ports **ret) {
        struct service_ports *sp = calloc(1, sizeof(*sp));
        if (!sp)
                return -ENOMEM;
        sp->pf = pf;
        int r = control_api_register(api, "cluster.ports.set", method_set, sp);
        if (r >= 0)
                r = control_api_register(api, "cluster.ports.ls", method_ls, sp);
        if (r < 0) {
                /* The methods stay registered with the API until it is freed: keep sp alive. */
                *ret = sp;
                return r;
        }
        *ret = sp;
        return 0;
}

struct service_ports *service_ports_free(struct service_ports *sp) {
        if (!sp)
                return NULL;
        for (size_t i = 0; i < sp->n; i++)
                service_port_done(&sp->ports[i]);
        free(sp->ports);
        free(sp);
        return NULL;
}
