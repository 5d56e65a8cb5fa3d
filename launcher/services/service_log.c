/* service_log.c: size-rotated log files of the supervised services. */
#include "launcher/services/service_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/macro.h"

char *service_log_path(const char *dir, const char *name, unsigned n) {
        char *p;
        int r = n == 0 ? asprintf(&p, "%s/%s.log", dir, name) : asprintf(&p, "%s/%s.log.%u", dir, name, n);
        return r < 0 ? NULL : p;
}

static int reopen(struct service_log *log) {
        if (log->fd >= 0)
                close(log->fd);
        log->fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log->fd < 0)
                return -errno;
        struct stat st;
        if (fstat(log->fd, &st) < 0)
                return -errno;
        log->size = (uint64_t)st.st_size;
        return 0;
}

int service_log_open(struct service_log *log, const char *dir, const char *name, uint64_t max_size,
                     unsigned keep) {
        *log = (struct service_log){ .fd = -EBADF, .max_size = max_size, .keep = keep ? keep : 1 };
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        log->path = service_log_path(dir, name, 0);
        if (!log->path)
                return -ENOMEM;
        return reopen(log);
}

static int rotate(struct service_log *log) {
        /* Shift NAME.log.(k-1) -> NAME.log.k from the oldest down; the oldest falls off. */
        for (unsigned n = log->keep - 1; n >= 1; n--) {
                _cleanup_free_ char *from = NULL, *to = NULL;
                size_t len = strlen(log->path);
                if (n == 1)
                        from = strdup(log->path);
                else if (asprintf(&from, "%.*s.%u", (int)len, log->path, n - 1) < 0)
                        from = NULL;
                if (asprintf(&to, "%s.%u", log->path, n) < 0)
                        to = NULL;
                if (!from || !to)
                        return -ENOMEM;
                if (rename(from, to) < 0 && errno != ENOENT)
                        return -errno;
        }
        if (log->keep == 1 && unlink(log->path) < 0 && errno != ENOENT)
                return -errno;
        return reopen(log);
}

static int rotate_if_full(struct service_log *log, size_t length) {
        if (log->max_size > 0 && log->size > 0 && log->size + length > log->max_size)
                return rotate(log);
        return 0;
}

void service_log_set_timestamps(struct service_log *log, bool on) {
        log->timestamps = on;
}

void service_log_stamp(char buf[SERVICE_LOG_STAMP_LEN + 1]) {
        struct timespec now;
        struct tm tm;
        char seconds[32];
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
        unsigned usec = (unsigned)(now.tv_nsec / 1000) % 1000000;
        snprintf(buf, SERVICE_LOG_STAMP_LEN + 1, "%.19s.%06uZ ", seconds, usec);
}

static int write_all(struct service_log *log, const char *data, size_t length) {
        for (size_t done = 0; done < length;) {
                ssize_t n = write(log->fd, data + done, length - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t)n;
                log->size += (uint64_t)n;
        }
        return 0;
}

/* DATA with the stamp before each line that starts in it, in one buffer: one write per chunk. */
static int write_stamped(struct service_log *log, const char *data, size_t length) {
        char stamp[SERVICE_LOG_STAMP_LEN + 1];
        size_t lines = 1;
        for (size_t i = 0; i < length; i++)
                lines += data[i] == '\n';
        _cleanup_free_ char *out = malloc(length + lines * SERVICE_LOG_STAMP_LEN);
        size_t used = 0;
        if (!out)
                return -ENOMEM;
        service_log_stamp(stamp);
        for (size_t i = 0; i < length; i++) {
                if (!log->mid_line) {
                        memcpy(out + used, stamp, SERVICE_LOG_STAMP_LEN);
                        used += SERVICE_LOG_STAMP_LEN;
                        log->mid_line = true;
                }
                out[used++] = data[i];
                if (data[i] == '\n')
                        log->mid_line = false;
        }
        return write_all(log, out, used);
}

int service_log_write(struct service_log *log, const void *data, size_t length) {
        if (log->fd < 0)
                return -EBADF;
        if (log->timestamps)
                return rotate_if_full(log, length) ?: write_stamped(log, data, length);
        return rotate_if_full(log, length) ?: write_all(log, data, length);
}

void service_log_close(struct service_log *log) {
        if (log->fd >= 0)
                close(log->fd);
        free(log->path);
        *log = (struct service_log){ .fd = -EBADF };
}
