/* service_log.h: a service's output in DATA/logs/NAME.log, rotated by size.
 *
 * NAME.log is renamed to NAME.log.1 (and .1 to .2 ...) when a write would make it exceed
 * max_size; `keep` files are kept in all, the current one included. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct service_log {
        char *path;
        int fd;
        uint64_t size;
        uint64_t max_size;
        unsigned keep;
};

/* Open (append, create) dir/NAME.log. Returns 0 or a negative errno. */
int service_log_open(struct service_log *log, const char *dir, const char *name, uint64_t max_size,
                     unsigned keep);
/* Append data, rotating first when needed. Returns 0 or a negative errno. */
int service_log_write(struct service_log *log, const void *data, size_t length);
void service_log_close(struct service_log *log);

/* Path of the n-th file of a log (0: the current one). Returns NULL on allocation failure. */
char *service_log_path(const char *dir, const char *name, unsigned n);
