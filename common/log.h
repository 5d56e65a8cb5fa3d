/* log.h: one line per message on stderr, prefixed with the program name.
 *
 * The `_errno` variants set errno from their first argument so "%m" names the cause, and return
 * that error negated, so a failing step reads `return log_error_errno(r, "...: %m");`. */
#pragma once

#include "common/macro.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
void log_set_prefix(const char *prefix);
/* Errors go to SINK (the formatted message, without prefix) instead of stderr: `--json` prints
 * them as JSON objects. NULL: back to stderr. */
void log_set_error_sink(void (*sink)(const char *message));
/* Every line written to stderr (as written, without the newline) is also given to COPY: the node
 * init keeps its own events in DATA/logs/usernode.log. NULL: no copy. */
void log_set_copy(void (*copy)(const char *line));
enum log_level log_get_level(void);

int log_full_errno(enum log_level level, int error, const char *format, ...) _printf_(3, 4);

#define log_error(...) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
