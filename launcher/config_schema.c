/* config_schema.c: the keys of usernode's INI file. configs/usernode.ini documents each of them
 * with its default (tests/unit/test_config.c checks that the two agree).
 *
 * One block per section: modules add their keys to their own block. */
#include "launcher/config_schema.h"

#include <string.h>

#include "common/macro.h"
#include "netns/network_options.h"
#include "launcher/ports_setup.h"

static const char *const net_modes[] = { "slirp", "host", "none", NULL };
/* The names of cgroup/cgroup_node.h's enum cgroup_mode. */
static const char *const cgroup_modes[] = { "auto", "systemd", "existing", "none", NULL };

const struct config_key config_schema[] = {
        /* [node] */

        /* [network] */
        { .section = "network",
          .key = "mode",
          .type = CONFIG_ENUM,
          .default_value = "slirp",
          .values = net_modes,
          .help = "slirp (own network, wired out by slirp), host (the host's network), none (loopback "
                  "only)" },
        { .section = "network",
          .key = "mtu",
          .type = CONFIG_INT,
          .default_value = "65520",
          .min = NETWORK_MTU_MIN,
          .max = NETWORK_MTU_MAX,
          .help = "MTU of the node's tap0 and of slirp; 65520 is several times faster than 1500" },
        { .section = "network",
          .key = "cidr",
          .type = CONFIG_CUSTOM,
          .default_value = "10.0.2.0/24",
          .validate = network_option_validate_cidr,
          .allowed = network_option_cidr_allowed,
          .help = "the node's network: gateway .2, DNS forwarder .3, node .100 (or the last address)" },
        { .section = "network",
          .key = "host_loopback",
          .type = CONFIG_BOOL,
          .default_value = "false",
          .help = "let the gateway address reach the host's 127.0.0.1 (services listening on loopback)" },
        { .section = "network",
          .key = "ipv6",
          .type = CONFIG_BOOL,
          .default_value = "false",
          .help = "IPv6 too: node fd00::100/64, gateway fd00::2, DNS fd00::3" },
        { .section = "network",
          .key = "outbound_addr",
          .type = CONFIG_CUSTOM,
          .validate = network_option_validate_outbound_addr,
          .allowed = network_option_outbound_addr_allowed,
          .help = "host address(es) the node's outbound connections leave from (default: any)" },
        { .section = "network",
          .key = "dns",
          .type = CONFIG_CUSTOM,
          .default_value = "slirp",
          .validate = network_option_validate_dns,
          .allowed = network_option_dns_allowed,
          .help = "slirp (the forwarder at .3, answered through the host's resolver) or nameserver "
                  "addresses" },
        { .section = "network",
          .key = "sandbox",
          .type = CONFIG_BOOL,
          .default_value = "true",
          .help = "confine the slirp engine: own namespaces, empty root, no capabilities, seccomp" },

        /* [ports] */
        { .section = "ports",
          .key = "publish",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = ports_publish_list_valid,
          .allowed = "port specs separated by commas or blanks, each [HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP]"
                     "[/tcp|/udp], e.g. 8080:80, 127.0.0.1:10250:10250",
          .help = "node ports published on the host when the node starts (more with --publish, or later "
                  "with 'usernode ports add')" },
        { .section = "ports",
          .key = "udp_idle_timeout",
          .type = CONFIG_INT,
          .default_value = "60",
          .min = 1,
          .max = 86400,
          .help = "seconds after which a UDP flow with no datagram either way is dropped" },

        /* [cgroup] */
        { .section = "cgroup",
          .key = "delegate",
          .type = CONFIG_ENUM,
          .default_value = "auto",
          .values = cgroup_modes,
          .help = "auto (a unit's Delegate=yes cgroup if any, else a scope from the user's systemd), "
                  "systemd, "
                  "existing, none" },
        { .section = "cgroup",
          .key = "require",
          .type = CONFIG_BOOL,
          .default_value = "false",
          .help = "true: no delegated cgroup v2 subtree is an error instead of a degraded mode" },

        /* [crio] */

        /* [kubelet] */

        /* [service:NAME] */
};

const unsigned config_schema_size = ELEMENTSOF(config_schema);

/* "service:crio" matches "service:*". */
static int section_matches(const char *pattern, const char *section) {
        size_t n = strlen(pattern);
        if (n > 0 && pattern[n - 1] == '*')
                return strncmp(pattern, section, n - 1) == 0 && section[n - 1] != '\0';
        return strcmp(pattern, section) == 0;
}

const struct config_key *config_schema_find(const char *section, const char *key) {
        for (unsigned i = 0; i < config_schema_size; i++)
                if (section_matches(config_schema[i].section, section) &&
                    strcmp(config_schema[i].key, key) == 0)
                        return &config_schema[i];
        return NULL;
}

int config_schema_section_known(const char *section) {
        for (unsigned i = 0; i < config_schema_size; i++)
                if (section_matches(config_schema[i].section, section))
                        return 1;
        return 0;
}
