/* join_files_write.c: writing the join's files into the data dir, each whole or not at all (in
 * the cluster program: the kubeconfig is written with kubeconfig.c). */
#include "launcher/cluster/join_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"

/* PATH.tmp written and renamed over PATH, mode 0644 (a CA is public). */
static int write_file_atomic(const char *path, const char *data, size_t size) {
        _cleanup_free_ char *tmp = NULL;
        int r = 0;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        (void)unlink(tmp);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, data, size);
        if (n < 0 || (size_t)n != size)
                r = n < 0 ? -errno : -EIO;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int join_files_write(const struct join_files *files, const struct cluster_endpoint *cluster,
                     const char *token) {
        int r = mkdir_parents(files->bootstrap_kubeconfig, 0700);
        if (r < 0)
                return log_error_errno(r, "cannot create the directory of %s: %m",
                                       files->bootstrap_kubeconfig);
        r = write_file_atomic(files->ca_file, cluster->ca_pem, cluster->ca_pem_size);
        if (r < 0)
                return log_error_errno(r, "cannot write %s: %m", files->ca_file);
        r = kubeconfig_write_bootstrap(files->bootstrap_kubeconfig, cluster, token);
        if (r < 0) {
                (void)unlink(files->ca_file);
                return log_error_errno(r, "cannot write %s: %m", files->bootstrap_kubeconfig);
        }
        return 0;
}
