/* network_options.c: defaults, value parsers and the address layout of the node's network. */
#include "netns/network_options.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"

const char *const network_option_keys[] = {
        "mtu", "cidr", "host_loopback", "ipv6", "outbound_addr", "dns", "sandbox", "tcp_path", NULL,
};

void network_options_init_default(struct network_options *options) {
        *options = (struct network_options){
                .mtu = NETWORK_MTU_DEFAULT,
                .network = { htonl(0x0a000200) }, /* 10.0.2.0/24 */
                .prefix_len = 24,
                .host_loopback = false,
                .ipv6 = false,
                .sandbox = true,
                .tcp_kernel = true,
        };
}

static int parse_bool(const char *value, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off",
                                                                                       "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(value, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_mtu(const char *value, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long mtu = strtoul(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || mtu < NETWORK_MTU_MIN ||
            mtu > NETWORK_MTU_MAX)
                return -EINVAL;
        *ret = (uint32_t)mtu;
        return 0;
}

bool network_ipv4_range_usable(uint32_t network, unsigned prefix_len) {
        /* 0.0.0.0/8 ("this network"), 127.0.0.0/8 (loopback: the kernel answers it locally, so
         * the gateway and DNS would be unreachable), 224.0.0.0/3 (multicast and reserved). */
        static const struct {
                uint32_t network;
                unsigned prefix_len;
        } unusable[] = { { 0x00000000, 8 }, { 0x7f000000, 8 }, { 0xe0000000, 3 } };
        uint64_t first = network, last = first + (UINT64_C(1) << (32 - prefix_len)) - 1;
        for (size_t i = 0; i < ELEMENTSOF(unusable); i++) {
                uint64_t u_first = unusable[i].network;
                uint64_t u_last = u_first + (UINT64_C(1) << (32 - unusable[i].prefix_len)) - 1;
                if (first <= u_last && u_first <= last)
                        return false;
        }
        return true;
}

static int parse_cidr(const char *value, struct in_addr *ret_network, unsigned *ret_prefix_len) {
        char address[INET_ADDRSTRLEN];
        const char *slash = strchr(value, '/');
        struct in_addr network;
        char *end;

        if (!slash || (size_t)(slash - value) >= sizeof(address))
                return -EINVAL;
        memcpy(address, value, (size_t)(slash - value));
        address[slash - value] = '\0';
        if (inet_pton(AF_INET, address, &network) != 1)
                return -EINVAL;
        if (slash[1] < '0' || slash[1] > '9')
                return -EINVAL;
        errno = 0;
        unsigned long prefix_len = strtoul(slash + 1, &end, 10);
        if (errno != 0 || *end != '\0' || prefix_len < 1 || prefix_len > NETWORK_PREFIX_MAX)
                return -EINVAL;
        /* Host bits set means the user meant something else than what we would use. */
        if (ntohl(network.s_addr) & (UINT32_MAX >> prefix_len))
                return -EINVAL;
        if (!network_ipv4_range_usable(ntohl(network.s_addr), (unsigned)prefix_len))
                return -EINVAL;
        *ret_network = network;
        *ret_prefix_len = (unsigned)prefix_len;
        return 0;
}

/* "ADDR" or "ADDR4,ADDR6": the host addresses slirp's outbound sockets bind to. */
static int parse_outbound(const char *value, struct network_options *options) {
        struct network_options o = *options;
        char *saveptr = NULL;

        o.has_outbound_addr = o.has_outbound_addr6 = false;
        /* Empty, as `usernode config --default` prints it: any address, the default. */
        if (value[0] == '\0') {
                *options = o;
                return 0;
        }
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        for (char *item = strtok_r(copy, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
                if (!o.has_outbound_addr && inet_pton(AF_INET, item, &o.outbound_addr) == 1)
                        o.has_outbound_addr = true;
                else if (!o.has_outbound_addr6 && inet_pton(AF_INET6, item, &o.outbound_addr6) == 1)
                        o.has_outbound_addr6 = true;
                else
                        return -EINVAL;
        }
        if (!o.has_outbound_addr && !o.has_outbound_addr6)
                return -EINVAL;
        *options = o;
        return 0;
}

/* "slirp" (the engine's forwarder) or up to three nameserver addresses separated by commas. */
static int parse_dns(const char *value, struct network_options *options) {
        struct network_options o = *options;
        char *saveptr = NULL;

        o.n_dns = 0;
        if (strcmp(value, "slirp") == 0) {
                *options = o;
                return 0;
        }
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        for (char *item = strtok_r(copy, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
                if (o.n_dns >= NETWORK_DNS_MAX)
                        return -EINVAL;
                if (inet_pton(AF_INET, item, &o.dns[o.n_dns].in) == 1)
                        o.dns[o.n_dns].family = AF_INET;
                else if (inet_pton(AF_INET6, item, &o.dns[o.n_dns].in6) == 1)
                        o.dns[o.n_dns].family = AF_INET6;
                else
                        return -EINVAL;
                o.n_dns++;
        }
        if (o.n_dns == 0)
                return -EINVAL;
        *options = o;
        return 0;
}

const char network_option_cidr_allowed[] =
        "an IPv4 network with host bits zero and a prefix from /1 to /30, outside 0.0.0.0/8, "
        "127.0.0.0/8 (loopback) and 224.0.0.0/3 (multicast, reserved), e.g. 10.0.2.0/24";
const char network_option_outbound_addr_allowed[] =
        "a host IPv4 or IPv6 address, or one of each separated by a comma; empty: any";
const char network_option_dns_allowed[] = "\"slirp\" or up to 3 nameserver addresses separated by commas";

static int validate_key(const char *key, const char *value) {
        struct network_options scratch;
        network_options_init_default(&scratch);
        return network_options_set(&scratch, key, value, NULL) < 0 ? -EINVAL : 0;
}

int network_option_validate_cidr(const char *value) {
        return validate_key("cidr", value);
}

int network_option_validate_outbound_addr(const char *value) {
        return validate_key("outbound_addr", value);
}

int network_option_validate_dns(const char *value) {
        return validate_key("dns", value);
}

int network_options_set(struct network_options *options, const char *key, const char *value,
                        const char **ret_allowed) {
        static const char bool_allowed[] = "true or false (also yes/no, on/off, 1/0)";
        const char *allowed;
        int r;

        if (strcmp(key, "mtu") == 0) {
                allowed = "an integer from 1280 to 65520";
                r = parse_mtu(value, &options->mtu);
        } else if (strcmp(key, "cidr") == 0) {
                allowed = network_option_cidr_allowed;
                r = parse_cidr(value, &options->network, &options->prefix_len);
        } else if (strcmp(key, "host_loopback") == 0) {
                allowed = bool_allowed;
                r = parse_bool(value, &options->host_loopback);
        } else if (strcmp(key, "ipv6") == 0) {
                allowed = bool_allowed;
                r = parse_bool(value, &options->ipv6);
        } else if (strcmp(key, "sandbox") == 0) {
                allowed = bool_allowed;
                r = parse_bool(value, &options->sandbox);
        } else if (strcmp(key, "tcp_path") == 0) {
                allowed = network_option_tcp_path_allowed;
                r = network_option_validate_tcp_path(value);
                if (r == 0)
                        options->tcp_kernel = strcmp(value, "kernel") == 0;
        } else if (strcmp(key, "outbound_addr") == 0) {
                allowed = network_option_outbound_addr_allowed;
                r = parse_outbound(value, options);
        } else if (strcmp(key, "dns") == 0) {
                allowed = network_option_dns_allowed;
                r = parse_dns(value, options);
        } else
                return -ENOENT;

        if (r == -EINVAL && ret_allowed)
                *ret_allowed = allowed;
        return r;
}

const char network_option_tcp_path_allowed[] = "kernel or slirp";

int network_option_validate_tcp_path(const char *value) {
        return strcmp(value, "kernel") == 0 || strcmp(value, "slirp") == 0 ? 0 : -EINVAL;
}

void network_options_layout(const struct network_options *options, struct network_layout *ret) {
        uint32_t net = ntohl(options->network.s_addr);
        uint32_t host_bits = UINT32_MAX >> options->prefix_len;
        uint32_t broadcast = net | host_bits;
        uint32_t guest;

        /* slirp4netns' layout: gateway .2, DNS .3, node .100; smaller networks put the node on
         * their last usable address, or .1 in a /30 whose last usable one is the gateway. */
        if (host_bits > 100)
                guest = net + 100;
        else if (broadcast - 1 > net + 3)
                guest = broadcast - 1;
        else
                guest = net + 1;

        *ret = (struct network_layout){
                .netmask = { htonl(~host_bits) },
                .guest = { htonl(guest) },
                .gateway = { htonl(net + 2) },
                .nameserver = { htonl(net + 3) },
                .prefix6_len = 64,
        };
        /* fd00::/64 with the same host parts as IPv4 (slirp4netns uses the same numbers). */
        ret->prefix6.s6_addr[0] = 0xfd;
        ret->guest6 = ret->gateway6 = ret->nameserver6 = ret->prefix6;
        ret->guest6.s6_addr[15] = 0x00;
        ret->guest6.s6_addr[14] = 0x01; /* fd00::100 */
        ret->gateway6.s6_addr[15] = 2;
        ret->nameserver6.s6_addr[15] = 3;
}

/* slirp binds its outbound sockets to the address: one the host does not have would make every
 * connection of the node fail, so say so now. */
static int check_outbound(int family, const void *address, const char *text) {
        struct sockaddr_storage sa = { .ss_family = (sa_family_t)family };
        _cleanup_close_ int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return 0; /* no such family on this host: slirp will say so per connection */
        if (family == AF_INET)
                memcpy(&((struct sockaddr_in *)&sa)->sin_addr, address, sizeof(struct in_addr));
        else
                memcpy(&((struct sockaddr_in6 *)&sa)->sin6_addr, address, sizeof(struct in6_addr));
        if (bind(fd, (struct sockaddr *)&sa,
                 family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0)
                return log_error_errno(errno,
                                       "[network] outbound_addr: %s is not usable on this host (%m); use an "
                                       "address of one of the host's interfaces (ip -brief address)",
                                       text);
        return 0;
}

int network_options_check(const struct network_options *options) {
        char text[INET6_ADDRSTRLEN];

        if (options->has_outbound_addr &&
            check_outbound(AF_INET, &options->outbound_addr,
                           inet_ntop(AF_INET, &options->outbound_addr, text, sizeof(text))) < 0)
                return -EINVAL;
        if (options->has_outbound_addr6 &&
            check_outbound(AF_INET6, &options->outbound_addr6,
                           inet_ntop(AF_INET6, &options->outbound_addr6, text, sizeof(text))) < 0)
                return -EINVAL;
        if (options->prefix_len >= NETWORK_PREFIX_MAX && options->n_dns == 0) {
                char network[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &options->network, network, sizeof(network));
                log_error(
                        "[network] cidr = %s/%u leaves no address for the DNS forwarder; use /29 or larger, "
                        "or set [network] dns to a nameserver address",
                        network, options->prefix_len);
                return -EINVAL;
        }
        return 0;
}

int network_render_resolv_conf(const struct network_options *options, char **ret) {
        struct network_layout layout;
        char *text = NULL;
        size_t size = 0;
        char address[INET6_ADDRSTRLEN];

        FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        network_options_layout(options, &layout);
        fputs("# written by usernode: the node's nameservers ([network] dns)\n", f);
        if (options->n_dns == 0)
                fprintf(f, "nameserver %s\n",
                        inet_ntop(AF_INET, &layout.nameserver, address, sizeof(address)));
        for (size_t i = 0; i < options->n_dns; i++)
                fprintf(f, "nameserver %s\n",
                        inet_ntop(options->dns[i].family, &options->dns[i].in6, address, sizeof(address)));
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

int network_render_hosts(const struct network_options *options, const char *hostname, char **ret) {
        struct network_layout layout;
        char address[INET_ADDRSTRLEN];
        char *text = NULL;

        network_options_layout(options, &layout);
        inet_ntop(AF_INET, &layout.guest, address, sizeof(address));
        if (asprintf(&text,
                     "# written by usernode\n"
                     "127.0.0.1\tlocalhost\n"
                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "%s\t%s\n",
                     address, hostname) < 0)
                return -ENOMEM;
        *ret = text;
        return 0;
}
