/* join_files.h: what a join leaves in the node's data dir, DATA/cluster/: the bootstrap
 * kubeconfig (0600: it holds the token) and the cluster CA (kubelet's clientCAFile, so the API
 * server's calls to 10250 are authenticated). kubelet's own kubeconfig and certificates, which
 * its TLS bootstrap writes, are in DATA/kubelet/ so a restarted node keeps its identity. */
#pragma once

#include "launcher/cluster/kubeconfig.h"

struct join_files {
        char *bootstrap_kubeconfig; /* DATA/cluster/bootstrap-kubeconfig */
        char *ca_file; /* DATA/cluster/ca.crt */
        char *kubeconfig; /* DATA/kubelet/kubeconfig: written by kubelet after the bootstrap */
        char *cert_dir; /* DATA/kubelet/pki */
};

/* The paths under DATA_DIR. Returns 0 or -ENOMEM. */
int join_files_paths(const char *data_dir, struct join_files *ret);

/* Write the bootstrap kubeconfig for CLUSTER with TOKEN and the CA. Returns 0, or a negative
 * errno after logging, with nothing written. */
int join_files_write(const struct join_files *files, const struct cluster_endpoint *cluster,
                     const char *token);

void join_files_done(struct join_files *files);
