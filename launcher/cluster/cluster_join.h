/* cluster_join.h: what `usernode run --join` was asked for ([cluster] keys, flags applied), and
 * the discovery that turns it into a trusted cluster endpoint before anything of the node exists.
 *
 * Three ways to trust the server, as with kubeadm join: the CA's public-key hash
 * (--discovery-token-ca-cert-hash; cluster-info is read unverified, then its signature and the
 * hash are checked, then read again over verified TLS), a CA file ([cluster] ca_file), or a
 * discovery file (a kubeconfig holding the server and its CA). A ready kubeconfig ([kubelet]
 * kubeconfig) needs no discovery at all. */
#pragma once

#include <stdbool.h>

#include "launcher/cluster/bootstrap_token.h"
#include "launcher/cluster/ca_pin.h"
#include "launcher/cluster/kubeconfig.h"
#include "launcher/config/config.h"

struct cluster_join {
        bool joining; /* [cluster] server or discovery_file set */
        const char *server; /* [cluster] server (--join), NULL with a discovery file */
        const char *discovery_file;
        const char *ca_file;
        const char *ca_cert_hash; /* the pins as configured, NULL without */
        struct ca_pins pins; /* n == 0: trust comes from ca_file or discovery_file */
        struct bootstrap_token token;
        unsigned discovery_timeout; /* seconds to keep trying a server not reachable yet */
        char token_text[BOOTSTRAP_TOKEN_ID_LEN + 1 + BOOTSTRAP_TOKEN_SECRET_LEN + 1];
        /* A node that joined before keeps its client certificate and the CA it trusted then: with
         * this set (DATA/cluster/ca.crt, when kubelet's kubeconfig exists) an expired token is a
         * warning, as long as cluster-info still holds this very CA (and it matches the pins). */
        char *joined_ca_file;
};

/* The join asked for in CONFIG (strings point into it). Returns 0 (RET->joining false when no
 * join was asked for), or -EINVAL after logging a usage error (a missing token or trust anchor,
 * two ways at once). */
int cluster_join_from_config(const struct config *config, struct cluster_join *ret);

/* Discovery: reach the server, check that cluster-info is signed with the token and that the CA
 * is the trusted one. RET: the server and CA for the bootstrap kubeconfig. Returns 0; -EINVAL
 * (a file named in the configuration is unreadable or malformed: a usage error); or another
 * negative errno when the cluster is not reachable or not trusted. One line logged either way. */
int cluster_discover(const struct cluster_join *join, struct cluster_endpoint *ret);

void cluster_join_done(struct cluster_join *join);

/* Whether TEXT is an API server address usernode accepts: https://HOST[:PORT] with nothing
 * after but an optional "/". For the schema: 0 or -EINVAL. */
int cluster_server_validate(const char *text);

/* Schema validators of [cluster] keys: 0 or -EINVAL. */
int cluster_join_validate_server(const char *value);
int cluster_join_validate_token(const char *value);
int cluster_join_validate_ca_cert_hash(const char *value);
int cluster_join_validate_addresses(const char *value);
/* The same, or empty ([cluster] node_ip: the source of the route to the server then). */
int cluster_join_validate_node_ip(const char *value);
int cluster_join_validate_domain(const char *value);
/* The same, or empty ([cluster] node_name: the hostname then). */
int cluster_join_validate_node_name(const char *value);
