/* embedded_files.h: the files of configs/ that the binary carries, so a node can be rendered
 * without the source tree (the templates and the default INI file). */
#pragma once

#include <stddef.h>

/* The contents of configs/NAME, NUL-terminated, or NULL when no such file is embedded. *size
 * (may be NULL) gets the length without the terminator. */
const char *embedded_file(const char *name, size_t *size);
