/* run_options.c: the command line of `usernode run`. */
#include "launcher/cli/run_options.h"

#include <getopt.h>
#include <string.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/statedir.h"
#include "netns/portspec.h"

/* A flag that sets a configuration key; applied after the file, so flags win. */
struct override {
        const char *section, *key, *value, *flag;
};

#define OVERRIDES_MAX 64

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
               "  --net MODE         slirp (own network, default), host (the host's network),\n"
               "                     none (loopback only)\n"
               "  --mtu N, --cidr NET, --host-loopback[=BOOL], --ipv6[=BOOL], --outbound-addr ADDR,\n"
               "  --dns slirp|ADDR,..., --net-sandbox=BOOL, --tcp-path kernel|slirp\n"
               "                     [network] options (see 'usernode config --default')\n"
               "  -p, --publish SPEC publish a node port on the host (repeatable):\n"
               "                     [HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP][/tcp|/udp], e.g. 8080:80\n"
               "  --join https://HOST:PORT --token ID.SECRET --discovery-token-ca-cert-hash sha256:HEX\n"
               "                     join that cluster as 'kubeadm join' does ([cluster] keys; or\n"
               "                     --discovery-file FILE, a kubeconfig with the server and its CA)\n"
               "  -h, --help         show this help\n");
}

/* Defaults, then the file, then the flags. */
static int load_config(struct run_options *o, const struct override *overrides, size_t n_overrides) {
        _cleanup_free_ char *default_path = NULL;
        int r;

        r = config_new(&o->config);
        if (r < 0)
                return r;
        if (o->config_path)
                r = config_load_file(o->config, o->config_path, true);
        else if (config_default_path(o->node, &default_path) == 0)
                r = config_load_file(o->config, default_path, false);
        if (r < 0)
                return -EINVAL;
        for (size_t i = 0; i < n_overrides; i++) {
                r = config_set(o->config, overrides[i].section, overrides[i].key, overrides[i].value,
                               overrides[i].flag);
                if (r < 0)
                        return -EINVAL;
        }
        return net_mode_from_name(config_get(o->config, "network", "mode"), &o->net);
}

/* --publish: checked now, so a typo stops `run` before anything is created. */
static int run_options_add_publish(struct run_options *o, char *spec_text) {
        struct port_spec spec;
        char reason[256];
        size_t n = 0;

        if (portspec_parse(spec_text, &spec, reason, sizeof(reason)) < 0) {
                log_error("--publish \"%s\": %s", spec_text, reason);
                return -EINVAL;
        }
        while (o->publish && o->publish[n])
                n++;
        char **grown = realloc(o->publish, (n + 2) * sizeof(char *));
        if (!grown)
                return log_error_errno(ENOMEM, "out of memory");
        grown[n] = spec_text;
        grown[n + 1] = NULL;
        o->publish = grown;
        return 0;
}

enum { OPT_NODE = 0x100, OPT_STATE_DIR, OPT_CONFIG, OPT_NET, OPT_NETWORK_KEY, OPT_CLUSTER_KEY };

const struct option cli_options_run[] = {
        { "help", no_argument, NULL, 'h' },
        { "node", required_argument, NULL, OPT_NODE },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "net", required_argument, NULL, OPT_NET },
        /* [network] keys, each mapped to its key by network_flag_keys. */
        { "mtu", required_argument, NULL, OPT_NETWORK_KEY },
        { "cidr", required_argument, NULL, OPT_NETWORK_KEY },
        { "host-loopback", optional_argument, NULL, OPT_NETWORK_KEY },
        { "ipv6", optional_argument, NULL, OPT_NETWORK_KEY },
        { "outbound-addr", required_argument, NULL, OPT_NETWORK_KEY },
        { "dns", required_argument, NULL, OPT_NETWORK_KEY },
        { "net-sandbox", required_argument, NULL, OPT_NETWORK_KEY },
        { "tcp-path", required_argument, NULL, OPT_NETWORK_KEY },
        { "publish", required_argument, NULL, 'p' },
        /* [cluster] keys, named as kubeadm join names them. */
        { "join", required_argument, NULL, OPT_CLUSTER_KEY },
        { "token", required_argument, NULL, OPT_CLUSTER_KEY },
        { "discovery-token-ca-cert-hash", required_argument, NULL, OPT_CLUSTER_KEY },
        { "discovery-file", required_argument, NULL, OPT_CLUSTER_KEY },
        {},
};

int run_options_parse(int argc, char **argv, struct run_options *ret) {
        const struct option *options = cli_options_run;
        /* The [network] key of each OPT_NETWORK_KEY flag. */
        static const char *const network_flag_keys[][2] = {
                { "--mtu", "mtu" },
                { "--cidr", "cidr" },
                { "--host-loopback", "host_loopback" },
                { "--ipv6", "ipv6" },
                { "--outbound-addr", "outbound_addr" },
                { "--dns", "dns" },
                { "--net-sandbox", "sandbox" },
                { "--tcp-path", "tcp_path" },
        };
        static const char *const cluster_flag_keys[][2] = {
                { "--join", "server" },
                { "--token", "token" },
                { "--discovery-token-ca-cert-hash", "ca_cert_hash" },
                { "--discovery-file", "discovery_file" },
        };
        int index = -1;
        struct override overrides[OVERRIDES_MAX];
        size_t n_overrides = 0;
        int c;

        *ret = (struct run_options){ .node = "default" };
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:hp:", options, &index)) >= 0) {
                if (n_overrides == OVERRIDES_MAX) {
                        log_error("run: too many options");
                        return -EINVAL;
                }
                switch (c) {
                case 'h':
                        print_run_help();
                        return 1;
                case OPT_NODE:
                        if (!cli_node_name_ok("run", optarg))
                                return -EINVAL;
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
                        overrides[n_overrides++] = (struct override){ "network", "mode", optarg, "--net" };
                        break;
                case 'p':
                        if (run_options_add_publish(ret, optarg) < 0)
                                return -EINVAL;
                        break;
                case OPT_NETWORK_KEY:
                        for (size_t i = 0; i < ELEMENTSOF(network_flag_keys); i++)
                                if (strcmp(options[index].name, network_flag_keys[i][0] + 2) == 0)
                                        /* A bare --host-loopback or --ipv6 turns it on. */
                                        overrides[n_overrides++] =
                                                (struct override){ "network", network_flag_keys[i][1],
                                                                   optarg ? optarg : "true",
                                                                   network_flag_keys[i][0] };
                        break;
                case OPT_CLUSTER_KEY:
                        for (size_t i = 0; i < ELEMENTSOF(cluster_flag_keys); i++)
                                if (strcmp(options[index].name, cluster_flag_keys[i][0] + 2) == 0)
                                        overrides[n_overrides++] =
                                                (struct override){ "cluster", cluster_flag_keys[i][1],
                                                                   optarg, cluster_flag_keys[i][0] };
                        break;
                default:
                        cli_option_error("run", c, argv);
                        return -EINVAL;
                }
        }

        /* As with rootlesskit, "--" is optional: options after the command are the command's. */
        if (optind < argc)
                ret->command = argv + optind;

        return load_config(ret, overrides, n_overrides);
}

void run_options_done(struct run_options *options) {
        config_free(options->config);
        options->config = NULL;
        free(options->publish);
        options->publish = NULL;
}
