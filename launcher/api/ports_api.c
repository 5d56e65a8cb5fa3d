/* ports_api.c: ports.add / ports.ls / ports.rm on the control socket. */
#include "launcher/api/ports_api.h"

#include <arpa/inet.h>
#include <string.h>

#include "common/log.h"

/* With --net=host there is no forwarder: the node's ports are the host's own. */
static int no_forwarder(char *error, size_t size) {
        snprintf(error, size,
                 "the node shares the host's network (--net=host): its ports are the host's already");
        return -EOPNOTSUPP;
}

static int get_spec(struct json_object *params, struct port_spec *spec, char *error, size_t size) {
        struct json_object *value;
        char reason[256];

        if (!params || !json_object_object_get_ex(params, "spec", &value) ||
            !json_object_is_type(value, json_type_string)) {
                snprintf(error, size, "params must have a string \"spec\"");
                return -EINVAL;
        }
        const char *text = json_object_get_string(value);
        if (portspec_parse(text, spec, reason, sizeof(reason)) < 0) {
                snprintf(error, size, "invalid port spec \"%.200s\": %s", text, reason);
                return -EINVAL;
        }
        return 0;
}

static int method_add(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                      size_t size) {
        struct portfwd *pf = userdata;
        if (!pf)
                return no_forwarder(error, size);
        struct port_spec spec;
        char canonical[PORTSPEC_STRING_MAX];
        unsigned id;
        int r;

        r = get_spec(params, &spec, error, size);
        if (r < 0)
                return r;
        r = portfwd_add(pf, &spec, &id, error, size);
        if (r < 0)
                return r;
        r = portspec_format(&spec, canonical, sizeof(canonical));
        if (r < 0)
                return r;
        log_info("published %s (id %u)", canonical, id);
        *ret = json_object_new_object();
        if (!*ret)
                return -ENOMEM;
        json_object_object_add(*ret, "id", json_object_new_int64(id));
        json_object_object_add(*ret, "spec", json_object_new_string(canonical));
        return 0;
}

static const char *address_string(const struct port_address *a, char *buffer, size_t size) {
        if (!inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->in : (const void *)&a->in6,
                       buffer, (socklen_t)size))
                return "?";
        return buffer;
}

struct json_object *ports_api_describe(const struct portfwd_port *port) {
        char canonical[PORTSPEC_STRING_MAX] = "", host[INET6_ADDRSTRLEN], node[INET6_ADDRSTRLEN];
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        (void)portspec_format(&port->spec, canonical, sizeof(canonical));
        json_object_object_add(o, "id", json_object_new_int64(port->id));
        json_object_object_add(o, "spec", json_object_new_string(canonical));
        json_object_object_add(o, "protocol",
                               json_object_new_string(portspec_protocol_name(port->spec.protocol)));
        json_object_object_add(o, "host_address",
                               json_object_new_string(address_string(&port->spec.host, host, sizeof(host))));
        json_object_object_add(o, "host_port", json_object_new_int(port->spec.host_port));
        json_object_object_add(o, "node_address",
                               json_object_new_string(address_string(&port->spec.node, node, sizeof(node))));
        json_object_object_add(o, "node_port", json_object_new_int(port->spec.node_port));
        json_object_object_add(o, "count", json_object_new_int(port->spec.count));
        json_object_object_add(o, "connections", json_object_new_int64((int64_t)port->connections));
        return o;
}

static int method_ls(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                     size_t size) {
        struct portfwd *pf = userdata;
        if (!pf)
                return no_forwarder(error, size);
        struct portfwd_port port;
        (void)params;

        struct json_object *list = json_object_new_array();
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; portfwd_get(pf, i, &port); i++)
                json_object_array_add(list, ports_api_describe(&port));
        *ret = json_object_new_object();
        if (!*ret) {
                json_object_put(list);
                return -ENOMEM;
        }
        json_object_object_add(*ret, "ports", list);
        return 0;
}

static int method_rm(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                     size_t size) {
        struct portfwd *pf = userdata;
        if (!pf)
                return no_forwarder(error, size);
        struct json_object *value;
        int id, r;

        if (params && json_object_object_get_ex(params, "id", &value)) {
                if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) <= 0 ||
                    json_object_get_int64(value) > INT32_MAX) {
                        snprintf(error, size, "\"id\" must be a positive integer");
                        return -EINVAL;
                }
                id = (int)json_object_get_int64(value);
        } else {
                struct port_spec spec;
                r = get_spec(params, &spec, error, size);
                if (r < 0)
                        return r;
                id = portfwd_find(pf, &spec);
                if (id < 0) {
                        snprintf(error, size, "no published port matches \"%s\"; see 'usernode ports ls'",
                                 json_object_get_string(json_object_object_get(params, "spec")));
                        return -ENOENT;
                }
        }
        r = portfwd_remove(pf, (unsigned)id);
        if (r < 0) {
                snprintf(error, size, "no published port has id %d; see 'usernode ports ls'", id);
                return r;
        }
        log_info("unpublished port id %d", id);
        *ret = json_object_new_object();
        if (!*ret)
                return -ENOMEM;
        json_object_object_add(*ret, "id", json_object_new_int(id));
        return 0;
}

int ports_api_register(struct control_api *api, struct portfwd *pf) {
        int r;

        r = control_api_register(api, "ports.add", method_add, pf);
        if (r >= 0)
                r = control_api_register(api, "ports.ls", method_ls, pf);
        if (r >= 0)
                r = control_api_register(api, "ports.rm", method_rm, pf);
        return r;
}
