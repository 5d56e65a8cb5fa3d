/* cmd_ports.c: `usernode ports add|ls|rm`, talking to the running launcher over api.sock. */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/api/control_api.h"
#include "launcher/statedir.h"
#include "netns/portspec.h"

struct ports_target {
        const char *node; /* --node, "default" */
        const char *state_dir; /* --state-dir, or NULL for the node's default */
        bool json; /* --json, for ls */
};

static void print_help(void) {
        printf("usage: usernode ports COMMAND [--node NAME] [--state-dir DIR] [ARGS]\n"
               "\n"
               "Publishes ports of a running node on the host.\n"
               "\n"
               "Commands:\n"
               "  add SPEC...       publish; SPEC is [HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP][/tcp|/udp],\n"
               "                    e.g. 8080:80, 127.0.0.1:10250:10250, [::1]:5353:53/udp, "
               "8000-8010:8000-8010\n"
               "  ls [--json]       list published ports\n"
               "  rm SPEC|ID...     unpublish; open connections finish normally\n"
               "\n"
               "Options:\n"
               "  --node NAME       the node (default \"default\")\n"
               "  --state-dir DIR   its state dir, if 'usernode run' was given one\n"
               "  --json            ls: print the list as JSON (docs/JSON.md)\n"
               "  -h, --help        show this help\n"
               "\n"
               "Options may stand anywhere after 'ports'; '--' ends them.\n");
}

/* A method's errno as an exit code: bad input is a usage error, the rest a runtime failure. */
static int exit_code(int r) {
        return r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
}

static int call(const struct ports_target *target, const char *method, struct json_object *params,
                struct json_object **ret) {
        _cleanup_free_ char *state_dir = NULL;
        char error[1024];
        int r;

        r = statedir_resolve(target->node, target->state_dir, false, &state_dir);
        if (r < 0)
                return r;
        r = control_api_call(state_dir, method, params, ret, error, sizeof(error));
        if (r < 0)
                log_error("%s", error);
        return r;
}

static int parse_spec_arg(const char *text, struct port_spec *spec) {
        char reason[256];

        if (portspec_parse(text, spec, reason, sizeof(reason)) < 0) {
                log_error("invalid port spec \"%s\": %s", text, reason);
                return -EINVAL;
        }
        return 0;
}

static int ports_add(const struct ports_target *target, int argc, char **argv) {
        struct port_spec spec;
        int r;

        if (argc < 1) {
                log_error("ports add: no SPEC given; e.g. 'usernode ports add 8080:80'");
                return EXIT_USAGE;
        }
        /* All specs are checked before any is sent, so a typo publishes nothing. */
        for (int i = 0; i < argc; i++)
                if (parse_spec_arg(argv[i], &spec) < 0)
                        return EXIT_USAGE;
        for (int i = 0; i < argc; i++) {
                struct json_object *params = json_object_new_object(), *result = NULL, *value;
                if (!params)
                        return log_error_errno(ENOMEM, "out of memory"), EXIT_RUNTIME;
                json_object_object_add(params, "spec", json_object_new_string(argv[i]));
                r = call(target, "ports.add", params, &result);
                json_object_put(params);
                if (r < 0)
                        return exit_code(r);
                if (json_object_object_get_ex(result, "spec", &value))
                        printf("%s\n", json_object_get_string(value));
                json_object_put(result);
        }
        return 0;
}

/* A joined node's launcher knows which ports it publishes for the cluster's Services
 * (launcher/cluster/service_ports.h): each such port gets its "source". Any other launcher has no
 * such method, and its ports none. */
static void ports_add_sources(const struct ports_target *target, struct json_object *ports) {
        _cleanup_free_ char *state_dir = NULL;
        struct json_object *result = NULL, *list;
        char error[256];
        if (statedir_resolve(target->node, target->state_dir, false, &state_dir) < 0 ||
            control_api_call(state_dir, "cluster.ports.ls", NULL, &result, error, sizeof(error)) < 0)
                return;
        if (json_object_object_get_ex(result, "ports", &list))
                for (size_t i = 0; i < json_object_array_length(ports); i++) {
                        struct json_object *p = json_object_array_get_idx(ports, i);
                        int64_t id = json_object_get_int64(json_object_object_get(p, "id"));
                        for (size_t k = 0; k < json_object_array_length(list); k++) {
                                struct json_object *s = json_object_array_get_idx(list, k);
                                if (json_object_get_int64(json_object_object_get(s, "id")) == id)
                                        json_object_object_add(
                                                p, "source",
                                                json_object_get(json_object_object_get(s, "source")));
                        }
                }
        json_object_put(result);
}

static int ports_ls(const struct ports_target *target, int argc, char **argv) {
        struct json_object *result = NULL, *ports;
        bool json = target->json;
        int r;

        if (argc > 0) {
                log_error("ports ls: unexpected argument \"%s\"; usage: usernode ports ls [--json]",
                          argv[0]);
                return EXIT_USAGE;
        }

        r = call(target, "ports.ls", NULL, &result);
        if (r < 0)
                return exit_code(r);
        if (!json_object_object_get_ex(result, "ports", &ports) ||
            !json_object_is_type(ports, json_type_array)) {
                json_object_put(result);
                log_error("ports ls: the node sent an answer without a port list");
                return EXIT_RUNTIME;
        }
        ports_add_sources(target, ports);
        if (json) {
                /* {"version": 1, "ports": [...]}: docs/JSON.md */
                json_object_object_add(result, "version", json_object_new_int(CLI_JSON_VERSION));
                printf("%s\n", json_object_to_json_string_ext(
                                       result, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE |
                                                       JSON_C_TO_STRING_SPACED));
        } else {
                printf("%-4s %-44s %s\n", "ID", "SPEC", "OPEN");
                for (size_t i = 0; i < json_object_array_length(ports); i++) {
                        struct json_object *p = json_object_array_get_idx(ports, i);
                        struct json_object *source = json_object_object_get(p, "source");
                        printf("%-4s %-44s %s%s%s\n",
                               json_object_get_string(json_object_object_get(p, "id")),
                               json_object_get_string(json_object_object_get(p, "spec")),
                               json_object_get_string(json_object_object_get(p, "connections")),
                               source ? "  " : "", source ? json_object_get_string(source) : "");
                }
        }
        json_object_put(result);
        return 0;
}

static bool is_id(const char *text) {
        if (!*text || strlen(text) > 9)
                return false;
        for (const char *p = text; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

static int ports_rm(const struct ports_target *target, int argc, char **argv) {
        struct port_spec spec;
        int r;

        if (argc < 1) {
                log_error("ports rm: no SPEC or ID given; see 'usernode ports ls'");
                return EXIT_USAGE;
        }
        for (int i = 0; i < argc; i++)
                if (!is_id(argv[i]) && parse_spec_arg(argv[i], &spec) < 0)
                        return EXIT_USAGE;
        for (int i = 0; i < argc; i++) {
                struct json_object *params = json_object_new_object(), *result = NULL;
                if (!params)
                        return log_error_errno(ENOMEM, "out of memory"), EXIT_RUNTIME;
                if (is_id(argv[i]))
                        json_object_object_add(params, "id", json_object_new_int(atoi(argv[i])));
                else
                        json_object_object_add(params, "spec", json_object_new_string(argv[i]));
                r = call(target, "ports.rm", params, &result);
                json_object_put(params);
                json_object_put(result);
                if (r < 0)
                        return exit_code(r);
        }
        return 0;
}

const struct option cli_options_ports[] = {
        CLI_OPTION_HELP, CLI_OPTION_NODE, CLI_OPTION_STATE_DIR, CLI_OPTION_JSON, {},
};

int cmd_ports(int argc, char **argv) {
        /* No '+': options anywhere after `ports` (`ports add --node X 8080:80`), as podman and
         * kubectl take them; the verb and its SPECs are what remains, in order. */
        struct cli_parse p = CLI_PARSE("ports", ":h", cli_options_ports, print_help);

        cli_json_errors_if_asked(argc, argv);
        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        struct ports_target target = { .node = p.node, .state_dir = p.state_dir, .json = p.json };
        if (optind >= argc) {
                log_error("ports: no command given (add, ls, rm); see 'usernode ports --help'");
                return EXIT_USAGE;
        }
        const char *verb = argv[optind];
        int rest = argc - optind - 1;
        char **rest_argv = argv + optind + 1;
        if (target.json && strcmp(verb, "ls") != 0) {
                log_error("ports %s: --json is for 'ports ls'", verb);
                return EXIT_USAGE;
        }
        if (strcmp(verb, "add") == 0)
                return ports_add(&target, rest, rest_argv);
        if (strcmp(verb, "ls") == 0)
                return ports_ls(&target, rest, rest_argv);
        if (strcmp(verb, "rm") == 0)
                return ports_rm(&target, rest, rest_argv);
        log_error("ports: unknown command \"%s\" (add, ls, rm)", verb);
        return EXIT_USAGE;
}
