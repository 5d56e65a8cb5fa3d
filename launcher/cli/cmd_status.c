/* cmd_status.c: `usernode status [--json]` and `usernode stop`, asking the running launcher over
 * its control socket (node.status, ports.ls, node.stop). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/api/control_api.h"
#include "launcher/statedir.h"

struct target {
        const char *node;
        const char *state_dir;
        bool json;
};

const struct option cli_options_status[] = {
        CLI_OPTION_HELP, CLI_OPTION_NODE, CLI_OPTION_STATE_DIR, CLI_OPTION_JSON, {},
};

const struct option cli_options_stop[] = {
        CLI_OPTION_HELP,
        CLI_OPTION_NODE,
        CLI_OPTION_STATE_DIR,
        {},
};

/* 1 after --help, 0 when T is filled, -EINVAL after an error was logged. */
static int parse_target(int argc, char **argv, const char *usage, const struct option *options,
                        struct target *t) {
        struct cli_parse p = CLI_PARSE(argv[0], ":h", options, NULL);
        p.usage = usage;
        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status == 0 ? 1 : -EINVAL;
        *t = (struct target){ .node = p.node, .state_dir = p.state_dir, .json = p.json };
        if (optind < argc) {
                log_error("%s: unexpected argument \"%s\"", argv[0], argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static void format_duration(long long seconds, char *buf, size_t size) {
        if (seconds < 0)
                snprintf(buf, size, "-");
        else if (seconds < 60)
                snprintf(buf, size, "%llds", seconds);
        else if (seconds < 3600)
                snprintf(buf, size, "%lldm%02llds", seconds / 60, seconds % 60);
        else
                snprintf(buf, size, "%lldh%02lldm", seconds / 3600, seconds / 60 % 60);
}

static const char *str_or(json_object *o, const char *key, const char *fallback) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : fallback;
}

static long long int_or(json_object *o, const char *key, long long fallback) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : fallback;
}

static void print_human(json_object *status, json_object *ports) {
        json_object *node = json_object_object_get(status, "node");
        json_object *network = json_object_object_get(node, "network");
        json_object *services = json_object_object_get(status, "services");
        char up[32];

        format_duration(int_or(node, "uptime_seconds", -1), up, sizeof(up));
        bool with_services = strcmp(str_or(node, "payload", "services"), "services") == 0;
        printf("node %s: %s, pid %lld, up %s\n", str_or(node, "name", "?"),
               !with_services                                                     ? "running a command"
               : json_object_get_boolean(json_object_object_get(status, "ready")) ? "ready"
                                                                                  : "starting",
               int_or(node, "pid", 0), up);
        printf("  status:  %s\n", str_or(status, "status", ""));
        printf("  network: %s, MTU %s, CIDR %s, TCP path %s\n", str_or(network, "mode", "?"),
               str_or(network, "mtu", "-"), str_or(network, "cidr", "-"), str_or(network, "tcp_path", "-"));
        if (str_or(network, "tcp_path_detail", NULL))
                printf("           %s\n", str_or(network, "tcp_path_detail", ""));
        printf("  cgroup:  %s\n", str_or(node, "cgroup", "-"));
        json_object *list = ports ? json_object_object_get(ports, "ports") : NULL;
        printf("  ports:  ");
        if (!list || json_object_array_length(list) == 0)
                printf(" none");
        for (size_t i = 0; list && i < json_object_array_length(list); i++)
                printf(" %s", str_or(json_object_array_get_idx(list, i), "spec", "?"));
        printf("\n\n%-16s %-11s %8s %9s %-12s %s\n", "SERVICE", "STATE", "PID", "RESTARTS", "LAST EXIT",
               "UPTIME");
        for (size_t i = 0; services && i < json_object_array_length(services); i++) {
                json_object *s = json_object_array_get_idx(services, i);
                json_object *exit_status = json_object_object_get(s, "last_exit_status");
                char last[32] = "-", pid[16] = "-";
                if (exit_status && json_object_object_get(exit_status, "code"))
                        snprintf(last, sizeof(last), "code %lld", int_or(exit_status, "code", 0));
                else if (exit_status && json_object_object_get(exit_status, "signal"))
                        snprintf(last, sizeof(last), "signal %lld", int_or(exit_status, "signal", 0));
                /* The host's number: what kill, top or perf -p on the host take. */
                if (int_or(s, "host_pid", 0) > 0)
                        snprintf(pid, sizeof(pid), "%lld", int_or(s, "host_pid", 0));
                format_duration(int_or(s, "uptime_seconds", -1), up, sizeof(up));
                printf("%-16s %-11s %8s %9lld %-12s %s\n", str_or(s, "name", "?"), str_or(s, "state", "?"),
                       pid, int_or(s, "restarts", 0), last, up);
        }
}

/* Words of a space-separated list as a JSON array. */
static json_object *word_array(const char *list) {
        json_object *a = json_object_new_array();
        _cleanup_free_ char *copy = strdup(list ?: "");
        char *saveptr = NULL;
        for (char *w = copy ? strtok_r(copy, " ", &saveptr) : NULL; a && w;
             w = strtok_r(NULL, " ", &saveptr))
                json_object_array_add(a, json_object_new_string(w));
        return a;
}

/* The API's answer in the shape docs/JSON.md promises: a version, "ready" only while every
 * service runs (the API's "ready" stays true once kubelet was ready, through a crash loop), and
 * the cgroup as data rather than a sentence. */
static void status_for_json(json_object *status) {
        json_object *node = json_object_object_get(status, "node");
        json_object *services = json_object_object_get(status, "services");
        bool ready = json_object_get_boolean(json_object_object_get(status, "ready"));

        for (size_t i = 0; services && i < json_object_array_length(services); i++)
                ready = ready &&
                        strcmp(str_or(json_object_array_get_idx(services, i), "state", ""), "running") == 0;
        json_object_object_add(status, "version", json_object_new_int(CLI_JSON_VERSION));
        json_object_object_add(status, "ready", json_object_new_boolean(ready));
        if (!node)
                return;
        json_object *cgroup = json_object_new_object();
        json_object_object_add(cgroup, "delegation",
                               json_object_new_string(str_or(node, "cgroup_delegation", "none")));
        json_object_object_add(cgroup, "controllers", word_array(str_or(node, "cgroup_controllers", "")));
        json_object_object_add(cgroup, "description", json_object_new_string(str_or(node, "cgroup", "")));
        json_object_object_del(node, "cgroup_delegation");
        json_object_object_del(node, "cgroup_controllers");
        json_object_object_add(node, "cgroup", cgroup);
}

static int resolve_state_dir(const struct target *t, char **ret) {
        int r = statedir_resolve(t->node, t->state_dir, false, ret);
        if (r < 0)
                return log_error_errno(r, "cannot find the state dir of node \"%s\": %m", t->node);
        return 0;
}

int cmd_status(int argc, char **argv) {
        static const char usage[] =
                "usage: usernode status [--node NAME] [--state-dir DIR] [--json]\n"
                "\n"
                "Shows a running node: its pid, uptime, network (with the TCP path in use), ports,\n"
                "cgroup, and for every service its state, pid (as the host numbers it; --json also\n"
                "has the node's own), restarts, last exit status and uptime.\n";
        _cleanup_free_ char *state_dir = NULL;
        struct target t;
        json_object *status = NULL, *ports = NULL;
        char error[1024];

        cli_json_errors_if_asked(argc, argv);
        int r = parse_target(argc, argv, usage, cli_options_status, &t);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        if (resolve_state_dir(&t, &state_dir) < 0)
                return EXIT_RUNTIME;
        r = control_api_call(state_dir, "node.status", NULL, &status, error, sizeof(error));
        if (r < 0) {
                log_error("%s", error);
                return EXIT_RUNTIME;
        }
        /* Ports are the port forwarder's; a node without it simply has none to show. */
        if (control_api_call(state_dir, "ports.ls", NULL, &ports, error, sizeof(error)) >= 0)
                json_object_object_add(status, "ports",
                                       json_object_get(json_object_object_get(ports, "ports")));
        if (t.json) {
                status_for_json(status);
                printf("%s\n", json_object_to_json_string_ext(
                                       status, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        } else
                print_human(status, ports);
        json_object_put(status);
        json_object_put(ports);
        return 0;
}

/* Longest a stop may take: the services' grace periods in turn, plus a margin. */
#define STOP_WAIT_SEC 300

int cmd_stop(int argc, char **argv) {
        static const char usage[] =
                "usage: usernode stop [--node NAME] [--state-dir DIR]\n"
                "\n"
                "Stops a running node: services in reverse start order (SIGTERM, then SIGKILL\n"
                "after their grace period), then everything else of the node. Returns when the\n"
                "node is gone.\n";
        _cleanup_free_ char *state_dir = NULL;
        struct target t;
        json_object *result = NULL;
        char error[1024];

        int r = parse_target(argc, argv, usage, cli_options_stop, &t);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        if (resolve_state_dir(&t, &state_dir) < 0)
                return EXIT_RUNTIME;
        r = control_api_call(state_dir, "node.stop", NULL, &result, error, sizeof(error));
        json_object_put(result);
        if (r < 0) {
                log_error("%s", error);
                return EXIT_RUNTIME;
        }
        /* The launcher closes its control socket last, when the node is gone. */
        for (int i = 0; i < STOP_WAIT_SEC * 20; i++) {
                result = NULL;
                r = control_api_call(state_dir, "node.status", NULL, &result, error, sizeof(error));
                json_object_put(result);
                if (r == -ECONNREFUSED || r == -ENOENT)
                        return 0;
                struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        log_error("node \"%s\" did not stop within %ds; see 'usernode logs'", t.node, STOP_WAIT_SEC);
        return EXIT_RUNTIME;
}
