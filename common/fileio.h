/* fileio.h: the few file operations every module needs: directories on a path, a short write. */
#pragma once

#include <sys/types.h>

/* mkdir -p: every component of PATH, the last included, with MODE where created. */
int mkdir_p(const char *path, mode_t mode);

/* Every component of PATH but the last (the directories a file at PATH needs). */
int mkdir_parents(const char *path, mode_t mode);

/* Write TEXT to the existing file PATH in one write(2), as /proc and /sys files expect. A short
 * write is an error (-EIO). */
int write_string_file(const char *path, const char *text);
