/* run_services.c: checks before the node's services are started. */
#include "launcher/run_services.h"

#include "common/log.h"
#include "launcher/services/node_plan.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/oci_runtime.h"

int run_services_prepare(struct run_services *rs, const struct config *config, const char *node,
                         const char *state_dir, const char *config_path, bool cgroups_delegated) {
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
        /* With a delegated subtree the pods' cgroups are the node's own: the wrapper puts each
         * container back into its pod's cgroup, which _CRIO_ROOTLESS=1 takes it out of. */
        if (cgroups_delegated &&
            oci_runtime_wrapper_install(state_dir, rs->tools.runtime_path, &rs->tools.runtime_wrapper) < 0)
                return EXIT_RUNTIME;
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
