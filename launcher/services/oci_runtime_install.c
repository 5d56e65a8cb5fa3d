/* oci_runtime_install.c: STATE/oci-runtime/, where crio.conf's runtime_path points: the small
 * wrapper binary written out of usernode (it is embedded, so an installed usernode needs nothing
 * beside it) and the `runtime` symlink to the real runtime. */
#include "launcher/services/oci_runtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/config/embedded_programs.h"

static size_t wrapper_size(void) {
        /* cppcheck-suppress comparePointers ; the two labels delimit one .incbin */
        return (size_t)(oci_wrapper_blob_end - oci_wrapper_blob_start);
}

/* Points the symlink dir/name at target, replacing what was there in one rename. */
static int symlink_replace(const char *dir, const char *name, const char *target) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        (void)unlink(tmp);
        if (symlink(target, tmp) < 0)
                return negative_errno();
        if (rename(tmp, path) < 0) {
                int r = negative_errno();
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

/* Whether path is a regular file holding exactly the embedded wrapper. Compared a piece at a
 * time, through a buffer on the stack: none of the wrapper's size (most of a MiB) is allocated. */
static bool wrapper_current(const char *path, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        char buf[16384];
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != size ||
            (st.st_mode & 07777) != 0700)
                return false;
        for (size_t off = 0; off < size;) {
                size_t want = size - off < sizeof(buf) ? size - off : sizeof(buf);
                ssize_t n = read(fd, buf, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || memcmp(buf, oci_wrapper_blob_start + off, (size_t)n) != 0)
                        return false;
                off += (size_t)n;
        }
        return true;
}

/* Writes the embedded wrapper to dir/name (0700: only the node's root, i.e. the user, runs it) as
 * a new file renamed over the old one: a runtime call still executing the old one keeps it. */
static int wrapper_write(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        size_t size = wrapper_size();

        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        if (wrapper_current(path, size))
                return 0;
        (void)unlink(tmp);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0700);
        if (fd < 0)
                return negative_errno();
        int r = fd_write_all(fd, oci_wrapper_blob_start, size);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        if (close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0) {
                int r = negative_errno();
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

int oci_runtime_wrapper_install(const char *state_dir, const char *runtime_path, char **ret) {
        _cleanup_free_ char *dir = NULL, *wrapper = NULL;
        int r;

        if (runtime_path[0] != '/')
                return log_error_errno(EINVAL, "OCI runtime \"%s\": need an absolute path", runtime_path);
        if (asprintf(&dir, "%s/%s", state_dir, OCI_RUNTIME_DIR) < 0 ||
            asprintf(&wrapper, "%s/%s", dir, OCI_RUNTIME_WRAPPER_NAME) < 0)
                return log_error_errno(ENOMEM, "%m");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "cannot create %s: %m", dir);
        /* An older usernode left a symlink to itself here: rename() replaces it as well. */
        r = wrapper_write(dir, OCI_RUNTIME_WRAPPER_NAME);
        /* The compare (at every start and reload) and the write read the whole wrapper: its pages
         * need not stay in the launcher's or the node init's memory. */
        embedded_programs_release();
        if (r >= 0)
                r = symlink_replace(dir, "runtime", runtime_path);
        if (r < 0)
                return log_error_errno(r, "cannot install the OCI runtime wrapper in %s: %m", dir);
        *ret = TAKE_PTR(wrapper);
        return 0;
}
