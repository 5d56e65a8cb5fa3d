/* cluster_join.c: the [cluster] keys of a join, checked together: each alone is checked by the
 * schema when set; here what only makes sense as a whole (a token and one way to trust). */
#include "launcher/cluster/cluster_join.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* How to compute the hash, for the messages that ask for it. */
#define HASH_HOWTO                                                                                  \
        "'kubeadm token create --print-join-command' prints it, or on the control plane: "          \
        "openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | " \
        "sha256sum"

/* Checked here, not with curl's URL parser: the schema runs in the launcher, which maps no
 * libcurl (launcher/cluster/cluster_exec.h), and running the cluster program for every config
 * load would cost an exec where a few lines do. Strict rather than complete: HOST is a name or
 * IPv4 address of letters, digits, '-', '.' and '_', or a bracketed IPv6 address; PORT 1-65535.
 * What this accepts curl's parser accepts too, with the same host and port (test_cluster.c
 * checks it against curl); what only curl would take (percent-encoding, IDN, zone ids) no
 * `kubeadm join` command holds. */
int cluster_server_validate(const char *text) {
        static const char host_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._";
        const char *p = text + strlen("https://");

        if (strlen(text) > 2048 || strncmp(text, "https://", strlen("https://")) != 0)
                return -EINVAL;
        if (*p == '[') {
                const char *close = strchr(p, ']');
                char addr[INET6_ADDRSTRLEN];
                struct in6_addr a;
                if (!close || close == p + 1 || (size_t)(close - p - 1) >= sizeof(addr))
                        return -EINVAL;
                memcpy(addr, p + 1, (size_t)(close - p - 1));
                addr[close - p - 1] = '\0';
                if (inet_pton(AF_INET6, addr, &a) != 1)
                        return -EINVAL;
                p = close + 1;
        } else {
                size_t n = strspn(p, host_chars);
                if (n == 0 || n > 253 || p[0] == '.' || p[0] == '-')
                        return -EINVAL;
                p += n;
        }
        if (*p == ':') {
                size_t n = strspn(++p, "0123456789");
                if (n == 0 || n > 5)
                        return -EINVAL;
                unsigned long port = strtoul(p, NULL, 10);
                if (port == 0 || port > 65535)
                        return -EINVAL;
                p += n;
        }
        if (*p == '/')
                p++;
        return *p == '\0' ? 0 : -EINVAL;
}

int cluster_join_validate_server(const char *value) {
        return value[0] == '\0' ? 0 : cluster_server_validate(value);
}

int cluster_join_validate_token(const char *value) {
        return value[0] == '\0' ? 0 : bootstrap_token_validate(value);
}

int cluster_join_validate_ca_cert_hash(const char *value) {
        return ca_pins_validate(value);
}

int cluster_join_validate_node_ip(const char *value) {
        return value[0] == '\0' ? 0 : cluster_join_validate_addresses(value);
}

int cluster_join_validate_addresses(const char *value) {
        size_t count = 0;
        for (const char *p = value + strspn(value, ", "); *p; p += strspn(p, ", ")) {
                char addr[INET6_ADDRSTRLEN];
                unsigned char buf[sizeof(struct in6_addr)];
                size_t n = strcspn(p, ", ");
                if (n >= sizeof(addr))
                        return -EINVAL;
                memcpy(addr, p, n);
                addr[n] = '\0';
                if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
                        return -EINVAL;
                count++;
                p += n;
        }
        return count > 0 && count <= 3 ? 0 : -EINVAL;
}

/* DNS-1123 subdomain: dot-separated labels of a-z, 0-9 and '-', at most 253 characters. */
int cluster_join_validate_node_name(const char *value) {
        return value[0] == '\0' ? 0 : cluster_join_validate_domain(value);
}

int cluster_join_validate_domain(const char *value) {
        size_t len = strlen(value), label = 0;
        if (len == 0 || len > 253)
                return -EINVAL;
        for (size_t i = 0; i <= len; i++) {
                char c = value[i];
                if (c == '.' || c == '\0') {
                        if (label == 0 || value[i - 1] == '-')
                                return -EINVAL;
                        label = 0;
                } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
                        if (++label > 63)
                                return -EINVAL;
                } else
                        return -EINVAL;
        }
        return 0;
}

static const char *nonempty(const char *s) {
        return s && s[0] ? s : NULL;
}

int cluster_join_from_config(const struct config *config, struct cluster_join *ret) {
        const char *token = nonempty(config_get(config, "cluster", "token"));
        const char *hashes = nonempty(config_get(config, "cluster", "ca_cert_hash"));
        const char *kubeconfig = nonempty(config_get(config, "kubelet", "kubeconfig"));

        *ret = (struct cluster_join){
                .server = nonempty(config_get(config, "cluster", "server")),
                .discovery_file = nonempty(config_get(config, "cluster", "discovery_file")),
                .ca_file = nonempty(config_get(config, "cluster", "ca_file")),
                .discovery_timeout = (unsigned)config_get_int(config, "cluster", "discovery_timeout"),
        };
        ret->joining = ret->server || ret->discovery_file;
        if (!ret->joining) {
                if (token || hashes || ret->ca_file) {
                        log_error("a token or CA to join with, but no cluster: add --join https://HOST:6443 "
                                  "([cluster] server) or --discovery-file FILE");
                        return -EINVAL;
                }
                return 0;
        }
        if (kubeconfig) {
                log_error("[kubelet] kubeconfig %s and a join at once: a ready kubeconfig needs no "
                          "discovery; drop one of them",
                          kubeconfig);
                return -EINVAL;
        }
        if (ret->server && ret->discovery_file) {
                log_error("--join and --discovery-file at once: the discovery file names the server; "
                          "give one of them");
                return -EINVAL;
        }
        if (!token) {
                log_error(
                        "joining needs a bootstrap token: add --token ID.SECRET ([cluster] token); "
                        "'kubeadm token create' or 'kubectl create secret' on the control plane makes one");
                return -EINVAL;
        }
        if (ret->server && !hashes && !ret->ca_file) {
                log_error("--join %s needs a way to trust the server: add --discovery-token-ca-cert-hash "
                          "sha256:HEX ([cluster] ca_cert_hash; " HASH_HOWTO ") or [cluster] ca_file",
                          ret->server);
                return -EINVAL;
        }
        if ((hashes && ret->ca_file) || (ret->discovery_file && (hashes || ret->ca_file))) {
                log_error("more than one way to trust the cluster (CA hash, CA file, discovery file): "
                          "give one of them");
                return -EINVAL;
        }
        /* The schema checked both already; parsed here into what discovery uses. */
        if (bootstrap_token_parse(token, &ret->token) < 0 ||
            (hashes && ca_pins_parse(hashes, &ret->pins) < 0))
                return log_error_errno(EINVAL, "[cluster] token or ca_cert_hash: %m");
        memcpy(ret->token_text, token, strlen(token) + 1);
        ret->ca_cert_hash = hashes;
        return 0;
}

void cluster_join_done(struct cluster_join *join) {
        free(join->joined_ca_file);
        join->joined_ca_file = NULL;
        bootstrap_token_clear(&join->token);
        explicit_bzero(join->token_text, sizeof(join->token_text));
}
