/* kubeconfig.h: the two kubeconfigs of a join: the one read (cluster-info's, or a discovery
 * file: a server and its CA) and the one written (the bootstrap kubeconfig kubelet's TLS
 * bootstrap starts from). */
#pragma once

#include <stddef.h>
#include <stdlib.h>

#define KUBECONFIG_MAX (1024 * 1024)

struct cluster_endpoint {
        char *server; /* https://HOST:PORT */
        char *ca_pem; /* the cluster CA bundle, PEM, NUL-terminated */
        size_t ca_pem_size;
};

/* Read the one cluster of the kubeconfig TEXT (YAML or JSON) into RET: its server and its
 * certificate-authority-data. Returns 0, or -EBADMSG with a reason in WHY (static text). */
int kubeconfig_parse_cluster(const char *text, size_t size, struct cluster_endpoint *ret, const char **why);

/* Write a kubeconfig for SERVER, trusting CA_PEM, authenticating with TOKEN ("ID.SECRET"), to
 * PATH with mode 0600 (atomically: a temporary file renamed over it). Returns 0 or -errno. */
int kubeconfig_write_bootstrap(const char *path, const struct cluster_endpoint *cluster, const char *token);

/* Inline: the launcher holds an endpoint too (from the cluster program's discovery), and
 * kubeconfig.c is the cluster program's (libyaml). */
static inline void cluster_endpoint_done(struct cluster_endpoint *e) {
        free(e->server);
        free(e->ca_pem);
        *e = (struct cluster_endpoint){};
}

/* The whole file at PATH, at most KUBECONFIG_MAX bytes, NUL-terminated: a kubeconfig, a CA, a
 * client certificate. Returns 0, -EFBIG, or the errno of open/read. */
int kubeconfig_read_file(const char *path, char **ret, size_t *ret_size);

/* A client of the cluster: its endpoint and its client certificate and key (PEM). */
struct kube_credentials {
        struct cluster_endpoint cluster;
        char *cert_pem, *key_pem;
        size_t cert_size, key_size;
};

/* Read the kubeconfig at PATH (the one kubelet's TLS bootstrap wrote): its one cluster and the
 * client certificate and key of its one user, inline (-data) or as files. Returns 0, -ENOENT when
 * PATH does not exist (yet), or -EBADMSG with WHY. */
int kubeconfig_load_credentials(const char *path, struct kube_credentials *ret, const char **why);
void kube_credentials_done(struct kube_credentials *c);
