/* ports_setup.c: publishing the configured ports when the node starts. */
#include "launcher/ports_setup.h"

#include <string.h>

#include "common/log.h"
#include "launcher/config/config.h"
#include "launcher/api/ports_api.h"

#define LIST_SEPARATORS ", \t"

/* Calls fn on each spec of a publish list; stops at the first negative return. */
static int publish_list_foreach(const char *value, int (*fn)(const char *spec, void *userdata),
                                void *userdata) {
        _cleanup_free_ char *copy = strdup(value ? value : "");
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *spec = strtok_r(copy, LIST_SEPARATORS, &save); spec;
             spec = strtok_r(NULL, LIST_SEPARATORS, &save)) {
                int r = fn(spec, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_one(const char *text, void *userdata) {
        struct port_spec spec;
        char reason[256];
        (void)userdata;

        return portspec_parse(text, &spec, reason, sizeof(reason));
}

int ports_publish_list_valid(const char *value) {
        return publish_list_foreach(value, check_one, NULL) < 0 ? -EINVAL : 0;
}

static int publish_one(const char *text, void *userdata) {
        struct portfwd *pf = userdata;
        struct port_spec spec;
        char error[1024], canonical[PORTSPEC_STRING_MAX];
        unsigned id;
        int r;

        /* Checked when the configuration and the flags were read; this cannot fail. */
        if (portspec_parse(text, &spec, error, sizeof(error)) < 0) {
                log_error("invalid port spec \"%s\": %s", text, error);
                return -EINVAL;
        }
        r = portfwd_add(pf, &spec, &id, error, sizeof(error));
        if (r < 0) {
                log_error("cannot publish %s: %s", text, error);
                return r;
        }
        if (portspec_format(&spec, canonical, sizeof(canonical)) == 0)
                log_debug("published %s (id %u)", canonical, id);
        return 0;
}

int ports_publish(struct portfwd *pf, const char *spec) {
        return publish_one(spec, pf);
}

int ports_setup(event_loop *event, int dial_fd, const struct run_options *options, struct control_api *api,
                struct portfwd **ret) {
        const char *configured = config_get(options->config, "ports", "publish");
        bool any = (configured && strspn(configured, LIST_SEPARATORS) < strlen(configured)) ||
                   (options->publish && options->publish[0]);
        struct portfwd *pf = NULL;
        int r;

        *ret = NULL;
        if (dial_fd < 0) {
                if (any)
                        log_warning("--net=host: the node's ports are the host's own; nothing to publish");
                r = ports_api_register(api, NULL);
                return r < 0 ? log_error_errno(r,
                                               "cannot register the ports methods of the control socket: %m")
                             : 0;
        }

        r = portfwd_new(event, dial_fd, &pf);
        if (r < 0)
                return log_error_errno(r, "cannot start the port forwarder: %m");
        portfwd_set_udp_idle_timeout(
                pf, (uint64_t)config_get_int(options->config, "ports", "udp_idle_timeout") * 1000000ULL);
        r = ports_api_register(api, pf);
        if (r < 0) {
                portfwd_free(pf);
                return log_error_errno(r, "cannot register the ports methods of the control socket: %m");
        }
        *ret = pf; /* from here the caller frees it, with the methods that point to it */

        r = publish_list_foreach(configured, publish_one, pf);
        for (char **p = options->publish; r >= 0 && p && *p; p++)
                r = publish_one(*p, pf);
        return r;
}
