/* fileio.c: see fileio.h. */
#include "common/fileio.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"

static int mkdir_components(const char *path, mode_t mode, bool include_last) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
                if (slash)
                        *slash = '\0';
                else if (!include_last)
                        return 0;
                if (p[0] != '\0' && mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                if (!slash)
                        return 0;
                *slash = '/';
        }
}

int mkdir_p(const char *path, mode_t mode) {
        return mkdir_components(path, mode, true);
}

char *existing_dir_of(const char *path) {
        char *dir = strdup(path);
        struct stat st;
        while (dir && strlen(dir) > 1 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
                char *slash = strrchr(dir, '/');
                if (slash == dir)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
        return dir;
}

int mkdir_parents(const char *path, mode_t mode) {
        return mkdir_components(path, mode, false);
}

int fd_write_all(int fd, const void *data, size_t size) {
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, (const char *)data + done, size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                done += (size_t)n;
        }
        return 0;
}

int write_string_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        size_t length = strlen(text);
        ssize_t n = write(fd, text, length);
        if (n < 0)
                return negative_errno();
        return (size_t)n == length ? 0 : -EIO;
}
