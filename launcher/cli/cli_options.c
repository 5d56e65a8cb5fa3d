/* cli_options.c: one line for each option getopt refused, naming it as the user wrote it. */
#include "launcher/cli/cli_options.h"

#include <ctype.h>
#include <stdio.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/statedir.h"

int cli_option_error(const char *command, int c, char *const *argv) {
        const char *arg = optind > 0 ? argv[optind - 1] : NULL;
        char name[64];

        /* A long option is named as written, without "=VALUE". optopt of a long option is its
         * `val`, which need not be a character (printing it with %c gave "-\x04"). */
        if (arg && strncmp(arg, "--", 2) == 0 && arg[2])
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
        else if (optopt > 0 && optopt < 0x80 && isgraph(optopt))
                snprintf(name, sizeof(name), "-%c", optopt);
        else
                snprintf(name, sizeof(name), "%s", arg ? arg : "?");
        if (!command)
                log_error("%s %s; see 'usernode help'", c == ':' ? "a value is needed by" : "unknown option",
                          name);
        else if (c == ':')
                log_error("%s: %s needs a value; see 'usernode %s --help'", command, name, command);
        else
                log_error("%s: unknown option %s; see 'usernode %s --help'", command, name, command);
        return EXIT_USAGE;
}

static void print_json_error(const char *message) {
        struct json_object *root = json_object_new_object(), *error = json_object_new_object();
        if (!root || !error) {
                json_object_put(root);
                json_object_put(error);
                dprintf(STDERR_FILENO, "usernode: error: %s\n", message);
                return;
        }
        json_object_object_add(error, "message", json_object_new_string(message));
        json_object_object_add(root, "version", json_object_new_int(CLI_JSON_VERSION));
        json_object_object_add(root, "error", error);
        /* One write, so the object is never split. */
        dprintf(STDOUT_FILENO, "%s\n",
                json_object_to_json_string_ext(root,
                                               JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
}

void cli_json_errors(void) {
        log_set_error_sink(print_json_error);
}

void cli_json_errors_if_asked(int argc, char *const *argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--json") == 0) {
                        cli_json_errors();
                        return;
                }
}

bool cli_node_name_ok(const char *command, const char *name) {
        if (statedir_node_name_valid(name))
                return true;
        log_error("%s: invalid node name \"%s\": use 1-63 letters, digits, '_', '.' or '-', starting "
                  "with a letter or digit",
                  command, name);
        return false;
}

int cli_getopt(struct cli_parse *p, int argc, char **argv) {
        if (!p->node)
                p->node = "default";
        opterr = 0;
        for (;;) {
                int c = getopt_long(argc, argv, p->optstring, p->options, NULL);
                switch (c) {
                case 'h':
                        if (p->help)
                                p->help();
                        else
                                fputs(p->usage, stdout);
                        p->exit_status = 0;
                        return CLI_GETOPT_EXIT;
                case CLI_OPT_NODE:
                        if (!cli_node_name_ok(p->command, optarg)) {
                                p->exit_status = EXIT_USAGE;
                                return CLI_GETOPT_EXIT;
                        }
                        p->node = optarg;
                        break;
                case CLI_OPT_CONFIG:
                        p->config_path = optarg;
                        break;
                case CLI_OPT_STATE_DIR:
                        p->state_dir = optarg;
                        break;
                case CLI_OPT_JSON:
                        p->json = true;
                        break;
                case ':':
                case '?':
                        p->exit_status = cli_option_error(p->command, c, argv);
                        return CLI_GETOPT_EXIT;
                default:
                        return c < 0 ? CLI_GETOPT_DONE : c;
                }
        }
}
