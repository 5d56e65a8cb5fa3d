/* cmd_check.c: `usernode check [--node NAME] [--config FILE] [--json]`: every requirement of a
 * node, each with pass/warn/fail and its fix; exit 0 when a node can run, 3 when not. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/statedir.h"

/* The version of the JSON output's shape (docs/JSON.md). */
#define CHECK_JSON_VERSION CLI_JSON_VERSION

static void print_help(void) {
        printf("usage: usernode check [--node NAME] [--config FILE] [--json]\n"
               "\n"
               "Checks everything a node needs on this host and says, for what is missing, how to fix\n"
               "it. Exit status 0 when a node can run (warnings: it runs with less), 3 when not.\n"
               "\n"
               "  --node NAME    the node whose configuration is checked (default: default)\n"
               "  --config FILE  its INI file (default: $XDG_CONFIG_HOME/usernode/NAME.ini)\n"
               "  --json         the results as JSON (docs/JSON.md)\n"
               "  -h, --help     show this help\n");
}

static void print_text(const struct check_result *results, size_t n) {
        static const char *const label[] = {
                [CHECK_PASS] = "pass", [CHECK_WARN] = "WARN", [CHECK_FAIL] = "FAIL"
        };
        for (size_t i = 0; i < n; i++) {
                printf("%-4s  %-22s %s\n", label[results[i].state], check_all_def(i)->title,
                       results[i].detail);
                if (results[i].state != CHECK_PASS && results[i].fix[0])
                        printf("      %-22s fix: %s\n", "", results[i].fix);
        }
}

static int print_json(const char *node, const struct check_result *results, size_t n, bool can_run) {
        struct json_object *root = json_object_new_object(), *checks = json_object_new_array();
        if (!root || !checks)
                return -ENOMEM;
        json_object_object_add(root, "version", json_object_new_int(CHECK_JSON_VERSION));
        json_object_object_add(root, "node", json_object_new_string(node));
        json_object_object_add(root, "can_run", json_object_new_boolean(can_run));
        for (size_t i = 0; i < n; i++) {
                struct json_object *c = json_object_new_object();
                json_object_object_add(c, "id", json_object_new_string(check_all_def(i)->id));
                json_object_object_add(c, "title", json_object_new_string(check_all_def(i)->title));
                json_object_object_add(c, "state",
                                       json_object_new_string(check_state_to_string(results[i].state)));
                json_object_object_add(c, "detail", json_object_new_string(results[i].detail));
                json_object_object_add(c, "fix",
                                       results[i].fix[0] ? json_object_new_string(results[i].fix) : NULL);
                json_object_array_add(checks, c);
        }
        json_object_object_add(root, "checks", checks);
        printf("%s\n",
               json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}

static int run_checks(const char *node, const char *config_path, bool json) {
        _cleanup_free_ char *default_path = NULL, *state_dir = NULL;
        struct config *config = NULL;
        struct node_settings s;
        const struct passwd *pw = getpwuid(getuid());
        int r = config_new(&config);

        if (r >= 0 && config_path)
                r = config_load_file(config, config_path, true);
        else if (r >= 0 && config_default_path(node, &default_path) >= 0)
                r = config_load_file(config, default_path, false);
        if (r >= 0 && statedir_resolve(node, NULL, false, &state_dir) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = node_settings_from_config(&s, config, node, state_dir, config_path);
        if (r < 0) {
                config_free(config);
                return EXIT_USAGE;
        }
        struct check_context ctx = {
                .config = config,
                .settings = &s,
                .user = pw ? pw->pw_name : "USER",
                .uid = getuid(),
                .gid = getgid(),
        };
        size_t n = check_all_count();
        _cleanup_free_ struct check_result *results = calloc(n, sizeof(*results));
        bool can_run = true;
        if (results) {
                check_all(&ctx, results);
                for (size_t i = 0; i < n; i++)
                        can_run = can_run && results[i].state != CHECK_FAIL;
                if (json)
                        r = print_json(node, results, n, can_run);
                else
                        print_text(results, n);
        }
        node_settings_done(&s);
        config_free(config);
        if (!results || r < 0)
                return log_error_errno(ENOMEM, "check: %m"), EXIT_RUNTIME;
        return can_run ? 0 : EXIT_HOST;
}

const struct option cli_options_check[] = {
        CLI_OPTION_HELP, CLI_OPTION_NODE, CLI_OPTION_CONFIG, CLI_OPTION_JSON, {},
};

int cmd_check(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("check", ":h", cli_options_check, print_help);

        cli_json_errors_if_asked(argc, argv);
        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        if (optind < argc) {
                log_error("check: unexpected argument \"%s\"; see 'usernode check --help'", argv[optind]);
                return EXIT_USAGE;
        }
        return run_checks(p.node, p.config_path, p.json);
}
