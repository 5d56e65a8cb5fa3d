/* config_schema.c: the keys of usernode's INI file. configs/usernode.ini documents each of them
 * with its default (tests/unit/test_config.c checks that the two agree).
 *
 * One block per section: modules add their keys to their own block. */
#include "launcher/config/config_schema.h"

#include <string.h>

#include "common/macro.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/pod_userns.h"
#include "netns/network_options.h"
#include "launcher/cluster/cluster_join.h"
#include "launcher/ports_setup.h"

static const char *const net_modes[] = { "slirp", "host", "none", NULL };
static const char *const restart_policies[] = { "always", "on-failure", "never", NULL };
static const char *const local_storage_modes[] = { "auto", "true", "false", NULL };

#define DURATION "a duration like 500ms, 30s or 2min"
#define DURATION_KEY(sect, name, def, text)                                                         \
        {                                                                                           \
                .section = sect, .key = name, .type = CONFIG_CUSTOM, .default_value = def,          \
                .validate = node_config_validate_duration, .allowed = "use " DURATION, .help = text \
        }
#define POSITIVE_DURATION_KEY(sect, name, def, text)                                       \
        {                                                                                  \
                .section = sect, .key = name, .type = CONFIG_CUSTOM, .default_value = def, \
                .validate = node_config_validate_positive_duration,                        \
                .allowed = "use " DURATION " (more than zero)", .help = text               \
        }
#define RESTART_KEY(sect, def)                                                                    \
        {                                                                                         \
                .section = sect, .key = "restart", .type = CONFIG_ENUM, .default_value = def,     \
                .values = restart_policies, .help = "restart policy: always, on-failure or never" \
        }
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
        { .section = "network",
          .key = "tcp_path",
          .type = CONFIG_CUSTOM,
          .default_value = "kernel",
          .validate = network_option_validate_tcp_path,
          .allowed = network_option_tcp_path_allowed,
          .help = "outbound TCP through slirp's TCP stack, or terminated by the node's kernel and "
                  "spliced to host sockets by the engine (several times faster; needs nf_tables)" },

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

        /* [cluster] */
        { .section = "cluster",
          .key = "server",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = cluster_join_validate_server,
          .allowed = "use the API server's address, https://HOST:PORT",
          .help = "join the cluster of this API server (--join); empty: standalone" },
        { .section = "cluster",
          .key = "token",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = cluster_join_validate_token,
          .allowed =
                  "use a bootstrap token ID.SECRET: 6 and 16 of a-z, 0-9, as 'kubeadm token create' prints",
          .help = "bootstrap token for discovery and the TLS bootstrap (--token)" },
        { .section = "cluster",
          .key = "ca_cert_hash",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = cluster_join_validate_ca_cert_hash,
          .allowed = "use sha256: and 64 hex digits, several separated by commas",
          .help = "public-key hashes of the cluster CA (--discovery-token-ca-cert-hash)" },
        { .section = "cluster",
          .key = "ca_file",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "trust the server with this CA file instead of a hash" },
        { .section = "cluster",
          .key = "discovery_file",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "a kubeconfig naming the server and its CA, instead of server and hash "
                  "(--discovery-file)" },
        { .section = "cluster",
          .key = "discovery_timeout",
          .type = CONFIG_INT,
          .default_value = "300",
          .min = 0,
          .max = 86400,
          .help = "seconds discovery keeps trying a server that does not answer yet (kubeadm's "
                  "5 minutes); 0: one attempt" },
        { .section = "cluster",
          .key = "node_name",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = cluster_join_validate_node_name,
          .allowed = "use a DNS-1123 name: lowercase letters, digits, '-' and '.'",
          .help = "the node's name in the cluster; empty: the hostname (HOSTNAME-NODE for nodes other "
                  "than default)" },
        { .section = "cluster",
          .key = "node_ip",
          .type = CONFIG_CUSTOM,
          .default_value = "",
          .validate = cluster_join_validate_node_ip,
          .allowed = "use one IP address of this host",
          .help = "where the API server reaches the node (10250 is published there); empty: the "
                  "source address of the host's route to the server" },
        { .section = "cluster",
          .key = "cluster_dns",
          .type = CONFIG_CUSTOM,
          .default_value = "10.96.0.10",
          .validate = cluster_join_validate_addresses,
          .allowed = "use IP addresses separated by commas",
          .help = "the cluster DNS service's address(es), kubelet's clusterDNS" },
        { .section = "cluster",
          .key = "cluster_domain",
          .type = CONFIG_CUSTOM,
          .default_value = "cluster.local",
          .validate = cluster_join_validate_domain,
          .allowed = "use a DNS domain like cluster.local",
          .help = "the cluster's DNS domain, kubelet's clusterDomain" },

        /* [crio] */
        { .section = "crio",
          .key = "path",
          .type = CONFIG_STRING,
          .default_value = "crio",
          .help = "the crio binary: a name looked up on PATH, or an absolute path (1.28 or newer)" },
        { .section = "crio",
          .key = "runtime",
          .type = CONFIG_STRING,
          .default_value = "auto",
          .help = "OCI runtime: auto (crun if installed, else runc), crun, runc, or a path" },
        { .section = "crio",
          .key = "pause_image",
          .type = CONFIG_STRING,
          .default_value = "registry.k8s.io/pause:3.9",
          .help = "the pods' infra container image" },
        { .section = "crio",
          .key = "search_registries",
          .type = CONFIG_STRING,
          .default_value = "docker.io",
          .help = "registries tried for short image names, space separated" },
        { .section = "crio",
          .key = "insecure_registries",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "registries reached without TLS verification, space separated" },
        POSITIVE_DURATION_KEY("crio", "ready_timeout", "60s",
                              "how long crio may take until its socket accepts connections"),
        RESTART_KEY("crio", "always"),
        DURATION_KEY("crio", "stop_timeout", "30s", "grace period between SIGTERM and SIGKILL on stop"),
        DURATION_KEY("crio", "pod_grace_max", "30s",
                     "node stop: before crio, every container gets SIGTERM and its pod's "
                     "terminationGracePeriodSeconds, at most this long"),

        /* [kubelet] */
        { .section = "kubelet",
          .key = "path",
          .type = CONFIG_STRING,
          .default_value = "kubelet",
          .help = "the kubelet binary: a name looked up on PATH, or an absolute path (1.28 or newer)" },
        { .section = "kubelet",
          .key = "kubeconfig",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "join a cluster with this kubeconfig; empty: standalone, static pods only" },
        { .section = "kubelet",
          .key = "static_pod_path",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "static pod manifests; empty: DATA/static-pods" },
        { .section = "kubelet",
          .key = "dropin_dir",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "KubeletConfiguration drop-ins, used when it exists; empty: "
                  "$XDG_CONFIG_HOME/usernode/NODE.kubelet.d" },
        { .section = "kubelet",
          .key = "healthz_port",
          .type = CONFIG_INT,
          .default_value = "10248",
          .min = 1,
          .max = 65535,
          .help = "kubelet is ready when http://127.0.0.1:PORT/healthz answers" },
        { .section = "kubelet",
          .key = "max_pods",
          .type = CONFIG_CUSTOM,
          .default_value = "auto",
          .validate = pod_userns_validate_max_pods,
          .allowed = "use auto or a number of pods from 1 to 65535",
          .help = "kubelet's maxPods; auto: what the subordinate ids hold for pods with their own "
                  "user namespace, at most 110" },
        { .section = "kubelet",
          .key = "local_storage_isolation",
          .type = CONFIG_ENUM,
          .default_value = "auto",
          .values = local_storage_modes,
          .help = "kubelet's localStorageCapacityIsolation (ephemeral-storage capacity, requests and "
                  "limits, eviction for disk pressure); auto: on when the node's data directory is "
                  "on a file system kubelet can measure (ext4, xfs, btrfs, tmpfs, overlay, nfs)" },
        POSITIVE_DURATION_KEY("kubelet", "ready_timeout", "120s",
                              "how long kubelet may take until healthz answers"),
        RESTART_KEY("kubelet", "always"),
        DURATION_KEY("kubelet", "stop_timeout", "30s", "grace period between SIGTERM and SIGKILL on stop"),

        /* [kube-proxy] */
        { .section = "kube-proxy",
          .key = "enabled",
          .type = CONFIG_BOOL,
          .default_value = "false",
          .help = "run kube-proxy (iptables mode) after kubelet, with the node's credentials" },
        { .section = "kube-proxy",
          .key = "path",
          .type = CONFIG_STRING,
          .default_value = "kube-proxy",
          .help = "the kube-proxy binary: a name looked up on PATH, or an absolute path" },
        { .section = "kube-proxy",
          .key = "kubeconfig",
          .type = CONFIG_STRING,
          .default_value = "",
          .help = "its kubeconfig; empty: the node's own (DATA/kubelet/kubeconfig after a join)" },
        { .section = "kube-proxy",
          .key = "healthz_port",
          .type = CONFIG_INT,
          .default_value = "10256",
          .min = 1,
          .max = 65535,
          .help = "kube-proxy is ready when http://127.0.0.1:PORT/healthz answers" },
        RESTART_KEY("kube-proxy", "always"),
        DURATION_KEY("kube-proxy", "stop_timeout", "10s",
                     "grace period between SIGTERM and SIGKILL on stop"),

        /* [cni] */
        { .section = "cni",
          .key = "bridge",
          .type = CONFIG_STRING,
          .default_value = "cni0",
          .help = "the pods' bridge" },
        { .section = "cni",
          .key = "subnet",
          .type = CONFIG_CUSTOM,
          .default_value = "10.88.0.0/16",
          .validate = node_config_validate_subnet,
          .allowed = "use an IPv4 network from /8 to /30 outside 0.0.0.0/8, 127.0.0.0/8 and 224.0.0.0/3, "
                     "like 10.88.0.0/16",
          .help = "the pods' addresses (host-local IPAM)" },
        { .section = "cni",
          .key = "ip_masq",
          .type = CONFIG_BOOL,
          .default_value = "true",
          .help = "masquerade the pods' traffic leaving the node (one nf_tables rule in the node)" },

        /* [supervisor] */
        POSITIVE_DURATION_KEY("supervisor", "restart_delay_min", "1s",
                              "first restart delay; it doubles on each failure"),
        POSITIVE_DURATION_KEY("supervisor", "restart_delay_max", "60s", "longest restart delay"),
        POSITIVE_DURATION_KEY("supervisor", "restart_reset_after", "2min",
                              "a service up this long starts its backoff over"),
        { .section = "supervisor",
          .key = "log_max_size",
          .type = CONFIG_CUSTOM,
          .default_value = "10M",
          .validate = node_config_validate_size,
          .allowed = "use a size like 10M, 512K or a number of bytes",
          .help = "DATA/logs/NAME.log is rotated at this size" },
        { .section = "supervisor",
          .key = "log_keep",
          .type = CONFIG_INT,
          .default_value = "3",
          .min = 1,
          .max = 100,
          .help = "log files kept per service, the current one included" },

        /* [service:NAME] */
        { .section = "service:*",
          .key = "command",
          .type = CONFIG_CUSTOM,
          .validate = node_config_validate_words,
          .allowed = "use a program and its arguments, quoted as in a shell (nothing is expanded: for "
                     "$VAR or globs write sh -c '...'), with every quote closed",
          .help = "the program and its arguments" },
        { .section = "service:*",
          .key = "environment",
          .type = CONFIG_CUSTOM,
          .validate = node_config_validate_environment,
          .allowed = "use KEY=VALUE words",
          .help = "KEY=VALUE words added to its environment" },
        { .section = "service:*",
          .key = "after",
          .type = CONFIG_STRING,
          .help = "services that must be ready first, space separated; empty: kubelet" },
        { .section = "service:*",
          .key = "restart",
          .type = CONFIG_ENUM,
          .default_value = "on-failure",
          .values = restart_policies,
          .help = "restart policy: always, on-failure or never" },
        DURATION_KEY("service:*", "stop_timeout", "10s", "grace period between SIGTERM and SIGKILL on stop"),
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
        /* Sections `usernode config --default` prints before any key of theirs exists. */
        static const char *const without_keys[] = { "node" };
        for (size_t i = 0; i < ELEMENTSOF(without_keys); i++)
                if (strcmp(without_keys[i], section) == 0)
                        return 1;
        for (unsigned i = 0; i < config_schema_size; i++)
                if (section_matches(config_schema[i].section, section))
                        return 1;
        return 0;
}
