/* run_options.c: the command line of `usernode run`. */
#include "launcher/run_options.h"

#include <getopt.h>
#include <string.h>

#include "common/log.h"
#include "launcher/statedir.h"

static const char *const net_mode_names[] = {
        [NET_MODE_HOST] = "host",
        [NET_MODE_NONE] = "none",
        [NET_MODE_SLIRP] = "slirp",
};

const char *net_mode_name(enum net_mode mode) {
        return net_mode_names[mode];
}

int net_mode_from_name(const char *name, enum net_mode *ret) {
        for (size_t i = 0; i < ELEMENTSOF(net_mode_names); i++)
                if (strcmp(name, net_mode_names[i]) == 0) {
                        *ret = (enum net_mode)i;
                        return 0;
                }
        return -EINVAL;
}

static void print_run_help(void) {
        printf("usage: usernode run [OPTIONS] [-- CMD [ARG...]]\n"
               "\n"
               "Creates the node's namespaces (user with your subordinate ids, mount, pid, uts, ipc,\n"
               "cgroup, network) and runs CMD inside as PID 2, exiting with its status.\n"
               "\n"
               "  --node NAME        node name (default \"default\"); one running node per name\n"
               "  --state-dir DIR    state dir (default $XDG_RUNTIME_DIR/usernode/NAME)\n"
               "  --config FILE      configuration (default $XDG_CONFIG_HOME/usernode/NAME.ini)\n"
               "  --net MODE         host (the host's network), none (loopback only)\n"
               "  -h, --help         show this help\n");
}

int run_options_parse(int argc, char **argv, struct run_options *ret) {
        enum { OPT_NODE = 0x100, OPT_STATE_DIR, OPT_CONFIG, OPT_NET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "node", required_argument, NULL, OPT_NODE },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "net", required_argument, NULL, OPT_NET },
                {},
        };
        int c;

        *ret = (struct run_options){ .node = "default", .net = NET_MODE_HOST };
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        print_run_help();
                        return 1;
                case OPT_NODE:
                        if (!statedir_node_name_valid(optarg)) {
                                log_error("invalid node name \"%s\": use 1-63 letters, digits, '_', '.' or "
                                          "'-', starting with a letter or digit",
                                          optarg);
                                return -EINVAL;
                        }
                        ret->node = optarg;
                        break;
                case OPT_STATE_DIR:
                        if (optarg[0] != '/') {
                                log_error("--state-dir \"%s\" must be an absolute path", optarg);
                                return -EINVAL;
                        }
                        ret->state_dir = optarg;
                        break;
                case OPT_CONFIG:
                        ret->config_path = optarg;
                        break;
                case OPT_NET:
                        if (net_mode_from_name(optarg, &ret->net) < 0) {
                                log_error("invalid --net \"%s\": use host or none", optarg);
                                return -EINVAL;
                        }
                        break;
                case '?':
                default:
                        if (optopt)
                                log_error("run: unknown option -%c; see 'usernode run --help'", optopt);
                        else
                                log_error("run: unknown option %s; see 'usernode run --help'",
                                          argv[optind - 1]);
                        return -EINVAL;
                }

        /* As with rootlesskit, "--" is optional: options after the command are the command's. */
        if (optind < argc)
                ret->command = argv + optind;
        return 0;
}
