/* cluster_record.c: the records between the launcher and the cluster program (cluster_exec.h):
 * NUL-terminated fields in a memfd, read whole from its start. */
#include "launcher/cluster/cluster_exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/macro.h"

int cluster_record_write(int fd, const char *const *values, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *v = values[i] ? values[i] : "";
                int r = fd_write_all(fd, v, strlen(v) + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cluster_record_read(int fd, char **buf, size_t *size, const char **values, size_t n) {
        size_t have = 0, cap = 4096;
        char *b = malloc(cap);

        *buf = NULL;
        *size = 0;
        if (!b)
                return -ENOMEM;
        for (;;) {
                if (have == cap) {
                        char *nb = cap >= CLUSTER_RECORD_MAX ? NULL : malloc(cap * 2);
                        if (!nb) {
                                cluster_record_free(b, have);
                                return cap >= CLUSTER_RECORD_MAX ? -EFBIG : -ENOMEM;
                        }
                        /* Copied rather than realloc'd: no stray copy of the token in freed memory. */
                        memcpy(nb, b, have);
                        cluster_record_free(b, have);
                        b = nb;
                        cap *= 2;
                }
                ssize_t k = pread(fd, b + have, cap - have, (off_t)have);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        cluster_record_free(b, have);
                        return r;
                }
                if (k == 0)
                        break;
                have += (size_t)k;
        }
        size_t field = 0, at = 0;
        for (; field < n && at < have; field++) {
                char *end = memchr(b + at, '\0', have - at);
                if (!end)
                        break;
                values[field] = b + at;
                at = (size_t)(end - b) + 1;
        }
        if (field != n || at != have) {
                cluster_record_free(b, have);
                return -EBADMSG;
        }
        *buf = b;
        *size = have;
        return 0;
}

void cluster_record_free(char *buf, size_t size) {
        if (buf)
                explicit_bzero(buf, size);
        free(buf);
}
