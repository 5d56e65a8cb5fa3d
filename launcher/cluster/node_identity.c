/* node_identity.c: the node's name and address in the cluster.
 *
 * Every node of a user would otherwise register under the host's name; kubelet lowercases the
 * hostname too, and refuses names that are not DNS-1123 subdomains. The node IP is the address
 * the API server can reach the host at: the one the host's own route to the server leaves from. */
#include "launcher/cluster/node_identity.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "launcher/cluster/cluster_join.h"

int node_identity_name(const char *node, const char *configured, char **ret) {
        char host[256] = "";
        _cleanup_free_ char *name = NULL;

        if (configured && configured[0])
                name = strdup(configured);
        else {
                if (gethostname(host, sizeof(host) - 1) < 0)
                        return log_error_errno(errno, "cannot read the hostname: %m");
                for (char *p = host; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                if (strcmp(node, "default") == 0)
                        name = strdup(host);
                else if (asprintf(&name, "%s-%s", host, node) < 0)
                        name = NULL;
        }
        if (!name)
                return log_error_errno(ENOMEM, "cannot name the node: %m");
        if (cluster_join_validate_domain(name) < 0) {
                log_error("the node's name in the cluster would be \"%s\", not a DNS-1123 name (lowercase "
                          "letters, digits, '-' and '.'): set [cluster] node_name",
                          name);
                return -EINVAL;
        }
        *ret = TAKE_PTR(name);
        return 0;
}

static void curl_url_cleanupp(CURLU **u) {
        if (*u)
                curl_url_cleanup(*u);
}

static void freeaddrinfop(struct addrinfo **a) {
        if (*a)
                freeaddrinfo(*a);
}

/* [cluster] node_ip must be an address of this host: 10250 and the NodePorts are published there. */
static int node_identity_check_local(const char *ip, char ret[NODE_IP_MAX]) {
        struct sockaddr_storage sa = {};
        socklen_t len;
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
        if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                len = sizeof(*in);
        } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                len = sizeof(*in6);
        } else {
                log_error("[cluster] node_ip = %s: not an IP address", ip);
                return -EINVAL;
        }
        _cleanup_close_ int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "cannot check the node IP %s: %m", ip);
        if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
                int e = errno;
                log_error(
                        "[cluster] node_ip = %s is not an address of this host (%s): the API server reaches "
                        "the node there; name one of this host's addresses",
                        ip, strerror(e));
                return -EINVAL;
        }
        snprintf(ret, NODE_IP_MAX, "%s", ip);
        return 0;
}

int node_identity_ip(const char *server, const char *configured, char ret[NODE_IP_MAX]) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        _cleanup_(freeaddrinfop) struct addrinfo *ai = NULL;
        char *host = NULL, *port = NULL;
        struct sockaddr_storage local;
        socklen_t len = sizeof(local);

        if (configured && configured[0])
                return node_identity_check_local(configured, ret);
        if (!u || curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                curl_free(host);
                curl_free(port);
                return log_error_errno(EINVAL, "cannot read the host of %s", server);
        }
        /* curl keeps an IPv6 literal in brackets. */
        size_t n = strlen(host);
        if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
                memmove(host, host + 1, n - 2);
                host[n - 2] = '\0';
        }
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM };
        int g = getaddrinfo(host, port, &hints, &ai);
        curl_free(port);
        if (g != 0) {
                log_error("cannot resolve %s: %s; set [cluster] node_ip", host, gai_strerror(g));
                curl_free(host);
                return -EHOSTUNREACH;
        }
        _cleanup_close_ int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
                int e = errno;
                curl_free(host);
                return log_error_errno(
                        e, "cannot find the host's address towards %s: %m; set [cluster] node_ip", server);
        }
        curl_free(host);
        const void *addr = local.ss_family == AF_INET
                                   ? (const void *)&((struct sockaddr_in *)&local)->sin_addr
                                   : (const void *)&((struct sockaddr_in6 *)&local)->sin6_addr;
        const void *peer = ai->ai_family == AF_INET
                                   ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                   : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (!inet_ntop(local.ss_family, addr, ret, NODE_IP_MAX))
                return log_error_errno(errno, "cannot format the node's address: %m");
        /* The server runs on this host: its address, made local inside the node, would hide it. */
        if (memcmp(addr, peer, local.ss_family == AF_INET ? 4 : 16) == 0) {
                log_error(
                        "the API server %s is on this host's own address %s, which the node cannot take as "
                        "its node IP: set [cluster] node_ip to another address of this host",
                        server, ret);
                return -EINVAL;
        }
        return 0;
}
