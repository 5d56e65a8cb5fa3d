/* join_files.c: where a join's files are (written by the cluster program, join_files_write.c). */
#include "launcher/cluster/join_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/macro.h"

int join_files_paths(const char *data_dir, struct join_files *ret) {
        *ret = (struct join_files){};
        if (asprintf(&ret->bootstrap_kubeconfig, "%s/cluster/bootstrap-kubeconfig", data_dir) < 0 ||
            asprintf(&ret->ca_file, "%s/cluster/ca.crt", data_dir) < 0 ||
            asprintf(&ret->kubeconfig, "%s/kubelet/kubeconfig", data_dir) < 0 ||
            asprintf(&ret->cert_dir, "%s/kubelet/pki", data_dir) < 0) {
                join_files_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void join_files_done(struct join_files *files) {
        free(files->bootstrap_kubeconfig);
        free(files->ca_file);
        free(files->kubeconfig);
        free(files->cert_dir);
        *files = (struct join_files){};
}
