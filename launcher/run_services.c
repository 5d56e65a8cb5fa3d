/* run_services.c: checks before the node's services are started. */
#include "launcher/run_services.h"

#include "common/log.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/pod_userns.h"

int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated,
                         const struct pod_userns_host *pod_host) {
        struct service_plan *plan = NULL;
        int r;

        *rs = (struct run_services){};
        r = node_settings_from_config(&rs->settings, config, node, state_dir, config_path);
        if (r < 0)
                return EXIT_USAGE;
        rs->settings.cgroups_delegated = cgroups_delegated;
        r = host_tools_find(&rs->settings, &rs->tools);
        if (r < 0)
                return EXIT_HOST;
        /* Before rendering: maxPods depends on the node's ids. */
        r = pod_userns_decide(&rs->settings, pod_host);
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
