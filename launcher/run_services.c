/* run_services.c: checks before the node's services are started. */
#include "launcher/run_services.h"

#include <pwd.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"

int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated) {
        struct service_plan *plan = NULL;
        int r;

        *rs = (struct run_services){};
        r = node_settings_from_config(&rs->settings, config, node, state_dir, config_path);
        if (r < 0)
                return EXIT_USAGE;
        rs->settings.cgroups_delegated = cgroups_delegated;
        /* Every missing program in one message, as `usernode check` reports them. */
        const struct passwd *pw = getpwuid(getuid());
        struct check_context ctx = {
                .config = config,
                .settings = &rs->settings,
                .user = pw ? pw->pw_name : "USER",
                .uid = getuid(),
                .gid = getgid(),
        };
        if (check_run_tools(&ctx) < 0)
                return EXIT_HOST;
        r = host_tools_find(&rs->settings, &rs->tools);
        if (r < 0)
                return EXIT_HOST;
        /* The node init plans (and renders) again when it starts the services; here it is done to
         * reject a bad [service:NAME] or an unrenderable value before any namespace exists. */
        r = node_plan_build(&rs->settings, &rs->tools, &plan);
        service_plan_free(plan);
        return r < 0 ? EXIT_USAGE : 0;
}

void run_services_done(struct run_services *rs) {
        host_tools_done(&rs->tools);
        node_settings_done(&rs->settings);
        node_status_done(&rs->status);
}
