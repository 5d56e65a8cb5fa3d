/* log.c: the program's only writer to stderr. */
#include "common/log.h"

#include <stdarg.h>
#include <string.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static const char *line_prefix = "usernode";
static void (*error_sink)(const char *message);
static void (*line_copy)(const char *line);

void log_set_copy(void (*copy)(const char *line)) {
        line_copy = copy;
}

void log_set_error_sink(void (*sink)(const char *message)) {
        error_sink = sink;
}

void log_set_level(enum log_level level) {
        max_level = level;
}

enum log_level log_get_level(void) {
        return max_level;
}

void log_set_prefix(const char *prefix) {
        line_prefix = prefix;
}

int log_full_errno(enum log_level level, int error, const char *format, ...) {
        static const char *const level_names[] = {
                [LOG_LEVEL_ERROR] = "error: ",
                [LOG_LEVEL_WARNING] = "warning: ",
                [LOG_LEVEL_INFO] = "",
                [LOG_LEVEL_DEBUG] = "debug: ",
        };
        int saved = errno;
        error = error < 0 ? -error : error;

        if (level <= max_level) {
                char line[2048];
                va_list ap;

                errno = error; /* for %m */
                va_start(ap, format);
                vsnprintf(line, sizeof(line), format, ap);
                va_end(ap);
                /* One write per line so lines from the launcher and the node init never interleave. */
                if (level == LOG_LEVEL_ERROR && error_sink)
                        error_sink(line);
                else
                        dprintf(STDERR_FILENO, "%s: %s%s\n", line_prefix, level_names[level], line);
                if (line_copy) {
                        char copy[2100];
                        snprintf(copy, sizeof(copy), "%s%s", level_names[level], line);
                        line_copy(copy);
                }
        }
        errno = saved;
        return error > 0 ? -error : -EIO;
}
