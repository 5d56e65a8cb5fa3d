/* portspec.c: parsing and printing of port publishing specs (portspec.h). */
#include "netns/portspec.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"

#define FIELDS_MAX 4

static int fail(char *error, size_t size, const char *format, ...) _printf_(3, 4);
static int fail(char *error, size_t size, const char *format, ...) {
        va_list ap;

        if (size > 0) {
                va_start(ap, format);
                vsnprintf(error, size, format, ap); /* truncation only shortens the message */
                va_end(ap);
        }
        return -EINVAL;
}

/* "A" or "A-B", decimal, 1..65535, A <= B. */
static int parse_port_range(const char *text, const char *what, uint16_t *first, uint16_t *count,
                            char *error, size_t size) {
        unsigned long value[2] = {};
        const char *p = text;
        int n = 0;

        for (;;) {
                if (*p < '0' || *p > '9')
                        return fail(error, size, "%s \"%s\" is not a port number or range like 8000-8010",
                                    what, text);
                unsigned long v = 0;
                for (; *p >= '0' && *p <= '9'; p++) {
                        v = v * 10 + (unsigned long)(*p - '0');
                        if (v > 65535)
                                return fail(error, size, "%s \"%s\" is out of range 1-65535", what, text);
                }
                if (v == 0)
                        return fail(error, size, "%s \"%s\" is out of range 1-65535", what, text);
                value[n++] = v;
                if (*p == '\0')
                        break;
                if (*p != '-' || n == 2)
                        return fail(error, size, "%s \"%s\" is not a port number or range like 8000-8010",
                                    what, text);
                p++;
        }
        if (n == 1)
                value[1] = value[0];
        if (value[1] < value[0])
                return fail(error, size, "%s range \"%s\" ends before it starts", what, text);
        *first = (uint16_t)value[0];
        *count = (uint16_t)(value[1] - value[0] + 1);
        return 0;
}

/* "1.2.3.4" or "[v6]". */
static int parse_address(const char *text, const char *what, struct port_address *address, char *error,
                         size_t size) {
        size_t length = strlen(text);

        if (length == 0)
                return fail(error, size, "%s is empty", what);
        if (text[0] == '[') {
                char inner[INET6_ADDRSTRLEN];
                if (length < 3 || text[length - 1] != ']' || length - 2 >= sizeof(inner))
                        return fail(error, size, "%s \"%s\" is not an IPv6 address in brackets like [::1]",
                                    what, text);
                memcpy(inner, text + 1, length - 2);
                inner[length - 2] = '\0';
                if (inet_pton(AF_INET6, inner, &address->in6) != 1)
                        return fail(error, size, "%s \"%s\" is not an IPv6 address in brackets like [::1]",
                                    what, text);
                address->family = AF_INET6;
                return 0;
        }
        if (inet_pton(AF_INET, text, &address->in) != 1)
                return fail(error, size, "%s \"%s\" is not an IPv4 address (write IPv6 in brackets: [::1])",
                            what, text);
        address->family = AF_INET;
        return 0;
}

static bool address_is_any(const struct port_address *a) {
        if (a->family == AF_INET)
                return a->in.s_addr == htonl(INADDR_ANY);
        return IN6_IS_ADDR_UNSPECIFIED(&a->in6);
}

/* Splits text at ':' outside brackets into at most FIELDS_MAX fields, in place. */
static int split_fields(char *text, char *fields[FIELDS_MAX], size_t *n_fields) {
        size_t n = 0;
        bool in_brackets = false;

        fields[n++] = text;
        for (char *p = text; *p; p++) {
                if (*p == '[')
                        in_brackets = true;
                else if (*p == ']')
                        in_brackets = false;
                else if (*p == ':' && !in_brackets) {
                        if (n == FIELDS_MAX)
                                return -E2BIG;
                        *p = '\0';
                        fields[n++] = p + 1;
                }
        }
        *n_fields = n;
        return 0;
}

int portspec_parse(const char *text, struct port_spec *spec, char *error, size_t size) {
        char buffer[PORTSPEC_STRING_MAX * 2];
        char *fields[FIELDS_MAX];
        size_t n_fields;
        uint16_t node_count;
        int r;

        assert(text);
        assert(spec);

        *spec = (struct port_spec){ .protocol = IPPROTO_TCP };
        spec->host.family = AF_INET; /* 0.0.0.0 */
        spec->node.family = AF_INET;
        spec->node.in.s_addr = htonl(INADDR_LOOPBACK);

        size_t length = strlen(text);
        if (length >= sizeof(buffer))
                return fail(error, size, "spec is too long");
        memcpy(buffer, text, length + 1);

        char *slash = strrchr(buffer, '/');
        if (slash) {
                *slash = '\0';
                if (strcmp(slash + 1, "tcp") == 0)
                        spec->protocol = IPPROTO_TCP;
                else if (strcmp(slash + 1, "udp") == 0)
                        spec->protocol = IPPROTO_UDP;
                else
                        return fail(error, size, "protocol \"%s\" is not tcp or udp", slash + 1);
        }

        if (split_fields(buffer, fields, &n_fields) < 0 || n_fields < 2)
                return fail(error, size, "expected [HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP][/tcp|/udp]");

        size_t port_field = n_fields == 2 ? 0 : 1;
        if (n_fields >= 3) {
                r = parse_address(fields[0], "host address", &spec->host, error, size);
                if (r < 0)
                        return r;
        }
        r = parse_port_range(fields[port_field], "host port", &spec->host_port, &spec->count, error, size);
        if (r < 0)
                return r;
        r = parse_port_range(fields[port_field + 1], "node port", &spec->node_port, &node_count, error,
                             size);
        if (r < 0)
                return r;
        if (node_count != spec->count)
                return fail(error, size,
                            "host range has %u ports but node range has %u; give both the same length",
                            spec->count, node_count);
        if (n_fields == 4) {
                r = parse_address(fields[3], "node address", &spec->node, error, size);
                if (r < 0)
                        return r;
                if (address_is_any(&spec->node))
                        return fail(error, size, "node address \"%s\" is not an address to connect to",
                                    fields[3]);
        }
        return 0;
}

static int format_address(const struct port_address *a, char *buffer, size_t size) {
        char text[INET6_ADDRSTRLEN];
        int n;

        if (!inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->in : (const void *)&a->in6, text,
                       sizeof(text)))
                return negative_errno();
        n = snprintf(buffer, size, a->family == AF_INET6 ? "[%s]" : "%s", text);
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

static int format_ports(uint16_t first, uint16_t count, char *buffer, size_t size) {
        int n = count == 1 ? snprintf(buffer, size, "%u", first)
                           : snprintf(buffer, size, "%u-%u", first, (unsigned)first + count - 1);
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

int portspec_format(const struct port_spec *spec, char *buffer, size_t size) {
        char host[INET6_ADDRSTRLEN + 2], node[INET6_ADDRSTRLEN + 3] = "", host_ports[16], node_ports[16];
        int n, r;

        r = format_address(&spec->host, host, sizeof(host));
        if (r < 0)
                return r;
        if (!(spec->node.family == AF_INET && spec->node.in.s_addr == htonl(INADDR_LOOPBACK))) {
                node[0] = ':';
                r = format_address(&spec->node, node + 1, sizeof(node) - 1);
                if (r < 0)
                        return r;
        }
        if (format_ports(spec->host_port, spec->count, host_ports, sizeof(host_ports)) < 0 ||
            format_ports(spec->node_port, spec->count, node_ports, sizeof(node_ports)) < 0)
                return -ENOBUFS;
        n = snprintf(buffer, size, "%s:%s:%s%s/%s", host, host_ports, node_ports, node,
                     portspec_protocol_name(spec->protocol));
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

bool portspec_overlaps(const struct port_spec *a, const struct port_spec *b) {
        if (a->protocol != b->protocol)
                return false;
        if ((unsigned)a->host_port + a->count <= b->host_port ||
            (unsigned)b->host_port + b->count <= a->host_port)
                return false;
        /* The kernel refuses 0.0.0.0:P next to 127.0.0.1:P (without SO_REUSEPORT); so do we, and
         * IPv4 against IPv6 only when one is a wildcard (an IPv6 wildcard socket is dual-stack
         * unless IPV6_V6ONLY, which we set, so only same-family wildcards clash). */
        if (a->host.family != b->host.family)
                return false;
        if (address_is_any(&a->host) || address_is_any(&b->host))
                return true;
        return a->host.family == AF_INET ? a->host.in.s_addr == b->host.in.s_addr
                                         : IN6_ARE_ADDR_EQUAL(&a->host.in6, &b->host.in6);
}

static size_t make_sockaddr(const struct port_address *a, uint16_t port, struct sockaddr_storage *out) {
        memset(out, 0, sizeof(*out));
        if (a->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)out;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                sin->sin_addr = a->in;
                return sizeof(*sin);
        }
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        sin6->sin6_addr = a->in6;
        return sizeof(*sin6);
}

size_t portspec_host_sockaddr(const struct port_spec *spec, unsigned i, struct sockaddr_storage *out) {
        assert(i < spec->count);
        return make_sockaddr(&spec->host, (uint16_t)(spec->host_port + i), out);
}

size_t portspec_node_sockaddr(const struct port_spec *spec, unsigned i, struct sockaddr_storage *out) {
        assert(i < spec->count);
        return make_sockaddr(&spec->node, (uint16_t)(spec->node_port + i), out);
}

const char *portspec_protocol_name(int protocol) {
        return protocol == IPPROTO_UDP ? "udp" : "tcp";
}
