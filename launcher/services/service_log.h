/* service_log.h: a service's output in DATA/logs/NAME.log, rotated by size.
 *
 * NAME.log is renamed to NAME.log.1 (and .1 to .2 ...) when a write would make it exceed
 * max_size; `keep` files are kept in all, the current one included. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-12-01T10:20:00.123456Z ": UTC, so the text sorts as the time does (`logs --since`). */
#define SERVICE_LOG_STAMP_LEN 28

struct service_log {
        char *path;
        int fd;
        uint64_t size;
        uint64_t max_size;
        unsigned keep;
        bool timestamps; /* each line starts with the time it was read */
        bool mid_line; /* the last write ended without a newline */
};

/* Open (append, create) dir/NAME.log. Returns 0 or a negative errno. */
int service_log_open(struct service_log *log, const char *dir, const char *name, uint64_t max_size,
                     unsigned keep);
/* Stamp every line written from now on (service_log_open() leaves the data as it is). */
void service_log_set_timestamps(struct service_log *log, bool on);
/* The stamp of the time now, SERVICE_LOG_STAMP_LEN bytes and a NUL, into buf. */
void service_log_stamp(char buf[SERVICE_LOG_STAMP_LEN + 1]);
/* Append data, rotating first when needed; with timestamps, each line that starts in DATA gets
 * the stamp first. Returns 0 or a negative errno. */
int service_log_write(struct service_log *log, const void *data, size_t length);
void service_log_close(struct service_log *log);

/* Path of the n-th file of a log (0: the current one). Returns NULL on allocation failure. */
char *service_log_path(const char *dir, const char *name, unsigned n);
