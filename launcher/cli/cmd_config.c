/* cmd_config.c: `usernode config --default | --render`: the configuration as usernode sees it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cgroup/cgroup_node.h"
#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/services/host_tools.h"
#include "launcher/services/local_storage.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/render.h"

static void print_help(void) {
        printf("usage: usernode config --default\n"
               "       usernode config --render [--node NAME] [--config FILE] [--state-dir DIR]\n"
               "\n"
               "  --default      print the default configuration file (every key, commented, with its\n"
               "                 default)\n"
               "  --render       print the files a node would run with: crio.conf, kubelet config,\n"
               "                 CNI conflist, registries.conf, signature policy\n"
               "  --node NAME    the node (default: default)\n"
               "  --config FILE  the INI file (default: $XDG_CONFIG_HOME/usernode/NAME.ini)\n"
               "  --state-dir DIR  the node's state dir (default: $XDG_RUNTIME_DIR/usernode/NAME)\n");
}

static int default_state_dir(const char *node, char **ret) {
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        if (!runtime || runtime[0] != '/')
                return asprintf(ret, "/tmp/usernode-%u/%s", (unsigned)getuid(), node) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s/usernode/%s", runtime, node) < 0 ? -ENOMEM : 0;
}

/* Like host_tools_find(), but a missing helper is rendered under its bare name with a warning:
 * --render shows what would be written even on a host that cannot run the node yet. */
static void tools_for_render(const struct node_settings *s, struct host_tools *t) {
        static const char *const names[] = { "conmon", "pinns" };
        char **fields[] = { &t->conmon, &t->pinns };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (find_executable(names[i], fields[i]) < 0) {
                        log_warning("%s not found on PATH; rendering its bare name", names[i]);
                        *fields[i] = strdup(names[i]);
                }
        const char *runtime = strcmp(s->crio_runtime, "auto") == 0 ? "crun" : s->crio_runtime;
        if (find_executable(runtime, &t->runtime_path) < 0 &&
            !(strcmp(s->crio_runtime, "auto") == 0 &&
              find_executable(runtime = "runc", &t->runtime_path) >= 0)) {
                log_warning("no OCI runtime (%s) found on PATH; rendering its bare name", runtime);
                t->runtime_path = strdup(runtime);
        }
        const char *base = strrchr(runtime, '/');
        t->runtime_name = strdup(base ? base + 1 : runtime);
        if (host_tools_detect_storage(s, t) < 0)
                log_warning("rendering native overlay storage, which this host cannot run");
        (void)host_tools_find_cni(t);
}

/* The configuration as `run` loads it: the file given, or the node's default file if any. */
static int load_config(const char *node, const char *config_path, struct config **ret) {
        _cleanup_free_ char *default_path = NULL;
        int r = config_new(ret);
        if (r < 0)
                return log_error_errno(r, "%m");
        if (config_path)
                return config_load_file(*ret, config_path, true);
        if (config_default_path(node, &default_path) >= 0)
                return config_load_file(*ret, default_path, false);
        return 0;
}

/* Whether `run` would give the node delegated cgroups, decided the way run decides it. */
static int cgroups_for_render(const struct config *config, bool *ret) {
        struct cgroup_options options = {
                .mode = cgroup_mode_from_string(config_get(config, "cgroup", "delegate")),
                .require = config_get_bool(config, "cgroup", "require"),
        };
        int r = cgroup_node_predict(&options, ret);
        if (r < 0)
                return log_error_errno(r, "cannot tell whether cgroups are delegated: %m");
        return 0;
}

static int render_to_stdout(const char *node, const char *config_path, const char *state_dir_arg) {
        _cleanup_free_ char *state_dir = NULL;
        struct config *config = NULL;
        struct node_settings s;
        struct host_tools t = {};
        struct render_set set = {};
        bool delegated = false;

        if (state_dir_arg)
                state_dir = strdup(state_dir_arg);
        else if (default_state_dir(node, &state_dir) < 0)
                state_dir = NULL;
        if (!state_dir)
                return log_error_errno(ENOMEM, "%m"), EXIT_RUNTIME;
        int r = load_config(node, config_path, &config);
        if (r >= 0)
                r = node_settings_from_config(&s, config, node, state_dir, config_path);
        if (r < 0) {
                config_free(config);
                return EXIT_USAGE;
        }
        r = cgroups_for_render(config, &delegated);
        config_free(config);
        if (r < 0) {
                node_settings_done(&s);
                return EXIT_RUNTIME;
        }
        s.cgroups_delegated = delegated;
        local_storage_decide(&s);
        tools_for_render(&s, &t);
        r = render_all(&s, &t, &set);
        if (r >= 0)
                for (size_t i = 0; i < _RENDERED_MAX; i++)
                        printf("%s# ==> %s/%s <==\n%s", i ? "\n" : "", state_dir,
                               rendered_file_path((enum rendered_file)i), set.text[i]);
        render_set_done(&set);
        host_tools_done(&t);
        node_settings_done(&s);
        return r < 0 ? EXIT_USAGE : 0;
}

const struct option cli_options_config[] = {
        CLI_OPTION_HELP,
        { "default", no_argument, NULL, 'D' },
        { "render", no_argument, NULL, 'R' },
        CLI_OPTION_NODE,
        CLI_OPTION_CONFIG,
        CLI_OPTION_STATE_DIR,
        {},
};

int cmd_config(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("config", ":h", cli_options_config, print_help);
        int mode = 0, c;

        while ((c = cli_getopt(&p, argc, argv)) >= 0)
                mode = c; /* --default or --render */
        if (c == CLI_GETOPT_EXIT)
                return p.exit_status;
        if (optind < argc || mode == 0) {
                log_error("config: give --default or --render; see 'usernode config --help'");
                return EXIT_USAGE;
        }
        if (mode == 'D') {
                fputs(config_default_ini(), stdout);
                return 0;
        }
        return render_to_stdout(p.node, p.config_path, p.state_dir);
}
