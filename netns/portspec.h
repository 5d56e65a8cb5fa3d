/* portspec.h: the port publishing spec, `[HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP][/tcp|/udp]`.
 *
 * HOST_IP is where the launcher listens on the host (default 0.0.0.0); NODE_IP, the optional
 * fourth field, is the address the dial helper connects to inside the node (default 127.0.0.1).
 * IPv6 addresses are written in brackets (`[::1]:8080:80`). A port may be a range `8000-8010`;
 * host and node ranges then have the same length. The protocol defaults to tcp. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTSPEC_STRING_MAX 128 /* longer than any valid canonical spec */

struct port_address {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        };
};

struct port_spec {
        struct port_address host;
        struct port_address node;
        uint16_t host_port; /* first host port */
        uint16_t node_port; /* first node port */
        uint16_t count; /* ports in the range, >= 1 */
        int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* Parses text into *spec. Returns 0, or -EINVAL with a one-line reason in error (which the
 * caller prints after the spec; it never ends with a newline). */
int portspec_parse(const char *text, struct port_spec *spec, char *error, size_t error_size);

/* Writes the canonical form (every field explicit, e.g. "0.0.0.0:8080:80/tcp"; the node address
 * only when it is not 127.0.0.1). Returns 0 or -ENOBUFS. */
int portspec_format(const struct port_spec *spec, char *buffer, size_t size);

/* Both specs listen on the same protocol and share a host port on overlapping addresses. */
bool portspec_overlaps(const struct port_spec *a, const struct port_spec *b);

/* Socket address for host (or node) port i of the range, i < count. Returns the length. */
size_t portspec_host_sockaddr(const struct port_spec *spec, unsigned i, struct sockaddr_storage *out);
size_t portspec_node_sockaddr(const struct port_spec *spec, unsigned i, struct sockaddr_storage *out);

const char *portspec_protocol_name(int protocol);
