/* network_options.h: the `[network]` options of a node, their defaults, parsing and checks.
 *
 * One table of keys serves the config file and the run flags alike: a value is parsed by
 * network_options_set(), which on a bad value says what is allowed, and the launcher prefixes
 * where the value came from (file:line, or the flag). The addresses of the node, the gateway and
 * the DNS forwarder are derived from the CIDR, as slirp4netns does. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETWORK_MTU_MIN 1280 /* the IPv6 minimum */
#define NETWORK_MTU_MAX 65520
#define NETWORK_MTU_DEFAULT 65520 /* the single biggest throughput lever of slirp */
#define NETWORK_PREFIX_MAX 30 /* room for the node and the gateway */
#define NETWORK_DNS_MAX 3 /* resolv.conf reads at most three nameservers */

struct network_options {
        uint32_t mtu;
        struct in_addr network; /* cidr, network part */
        unsigned prefix_len;
        bool host_loopback; /* the gateway address reaches the host's 127.0.0.1 */
        bool ipv6;
        bool has_outbound_addr, has_outbound_addr6;
        struct in_addr outbound_addr;
        struct in6_addr outbound_addr6;
        /* Nameservers written to the node's resolv.conf; none means slirp's forwarder (.3). */
        size_t n_dns;
        struct {
                int family;
                union {
                        struct in_addr in;
                        struct in6_addr in6;
                };
        } dns[NETWORK_DNS_MAX];
        bool sandbox; /* sandbox the slirp engine */
        /* Outbound TCP terminated by the node's own kernel and pumped by the engine between
         * sockets (netns/tcp_redirect.h), not through slirp's TCP stack. */
        bool tcp_kernel;
};

/* Addresses derived from the options: what the node, slirp and resolv.conf use. */
struct network_layout {
        struct in_addr netmask, guest, gateway, nameserver;
        struct in6_addr prefix6, guest6, gateway6, nameserver6;
        unsigned prefix6_len;
};

/* The names of the keys, NULL-terminated, for the config schema. */
extern const char *const network_option_keys[];

void network_options_init_default(struct network_options *options);

/* Parse `value` for `key` into `options`. Returns 0; -ENOENT for an unknown key; -EINVAL for a
 * bad value, with *ret_allowed pointing at a static text saying what is allowed. */
int network_options_set(struct network_options *options, const char *key, const char *value,
                        const char **ret_allowed);

/* Checks that need all the options together. Returns 0, or -EINVAL and logs one line naming the
 * keys involved and how to fix them. */
int network_options_check(const struct network_options *options);

void network_options_layout(const struct network_options *options, struct network_layout *ret);

/* The node's resolv.conf and hosts, as text. `hostname` names the node in hosts. Return 0 or
 * -ENOMEM; the caller frees *ret. */
int network_render_resolv_conf(const struct network_options *options, char **ret);
int network_render_hosts(const struct network_options *options, const char *hostname, char **ret);

/* For the config schema (CONFIG_CUSTOM): 0 when `value` is a valid value of the key, else
 * -EINVAL; network_option_allowed(key) says what is. */
int network_option_validate_cidr(const char *value);
/* Whether NETWORK/PREFIX_LEN (host byte order) can carry traffic: false when it overlaps
 * 0.0.0.0/8, loopback 127.0.0.0/8 or 224.0.0.0/3. Used for the pods' subnet too. */
bool network_ipv4_range_usable(uint32_t network, unsigned prefix_len);
int network_option_validate_outbound_addr(const char *value);
int network_option_validate_dns(const char *value);
int network_option_validate_tcp_path(const char *value);
extern const char network_option_tcp_path_allowed[];
extern const char network_option_cidr_allowed[], network_option_outbound_addr_allowed[],
        network_option_dns_allowed[];
