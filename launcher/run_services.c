/* run_services.c: checks before the node's services are started. */
#include "launcher/run_services.h"

#include "common/log.h"
#include "launcher/node_settings_ini.h"
#include "launcher/render.h"

int run_services_prepare(struct run_services *rs, const char *node, const char *state_dir, const char *config_path) {
        struct render_set files = {};
        int r;

        *rs = (struct run_services){};
        r = node_settings_load(&rs->settings, node, state_dir, config_path);
        if (r < 0)
                return EXIT_USAGE;
        r = host_tools_find(&rs->settings, &rs->tools);
        if (r < 0)
                return EXIT_HOST;
        /* Rendered for real by the node init; here only to reject what cannot be rendered. */
        r = render_all(&rs->settings, &rs->tools, &files);
        render_set_done(&files);
        return r < 0 ? EXIT_USAGE : 0;
}

void run_services_done(struct run_services *rs) {
        host_tools_done(&rs->tools);
        node_settings_done(&rs->settings);
        node_status_done(&rs->status);
}
