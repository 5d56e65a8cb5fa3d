/* supervise: the node's supervisor without namespaces, for tests of its policy.
 *
 *   supervise NODE STATE_DIR [INI_FILE]
 *
 * Builds the plan exactly as `usernode run` does (configuration, host tools on PATH, render;
 * the data dir is $XDG_DATA_HOME/usernode/NODE)
 * and runs it on a loop of its own; prints "ready" and "service NAME STATE PID RESTARTS" lines
 * on stdout. SIGTERM stops, SIGHUP reloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/services/host_tools.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/service.h"
#include "launcher/services/supervisor.h"

struct ctx {
        const char *node, *state, *ini;
};

static int build(const struct ctx *c, struct service_plan **ret) {
        struct node_settings s;
        struct host_tools t = {};
        int r = node_settings_load(&s, c->node, c->state, c->ini);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        s.cgroups_delegated = false; /* on the host: never touch the host's cgroups */
        r = host_tools_find(&s, &t);
        if (r >= 0)
                r = node_plan_build(&s, &t, ret);
        host_tools_done(&t);
        node_settings_done(&s);
        return r;
}

static void on_changed(const struct service_status *st, void *userdata) {
        (void)userdata;
        printf("service %s %s %d %u\n", st->name, service_state_to_string(st->state), (int)st->pid,
               st->restarts);
        fflush(stdout);
}

static void on_ready(void *userdata) {
        (void)userdata;
        printf("ready\n");
        fflush(stdout);
}

static int on_reload(struct service_plan **ret, void *userdata) {
        return build(userdata, ret);
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: supervise NODE STATE_DIR [INI_FILE]\n");
                return 2;
        }
        struct ctx c = { argv[1], argv[2], argc > 3 ? argv[3] : NULL };
        if (getenv("SUPERVISE_DEBUG")) /* the readiness probes' lines, for tests that count them */
                log_set_level(LOG_LEVEL_DEBUG);
        struct service_plan *plan = NULL;
        int r = build(&c, &plan);
        if (r < 0)
                return r == -ENOENT || r == -EPROTONOSUPPORT ? EXIT_HOST : EXIT_USAGE;
        const struct supervisor_callbacks cb = {
                .service_changed = on_changed,
                .ready = on_ready,
                .reload = on_reload,
        };
        r = supervisor_run(plan, &cb, &c);
        return r < 0 ? EXIT_RUNTIME : 0;
}
