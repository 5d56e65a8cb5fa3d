/* fileio.h: the few file operations every module needs: directories on a path, whole writes. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* PATH if it is a directory, else the nearest directory above it that exists ("/" at the
 * end): where a directory not made yet would go. A new string, or NULL when out of memory. */
char *existing_dir_of(const char *path);

/* mkdir -p: every component of PATH, the last included, with MODE where created. */
int mkdir_p(const char *path, mode_t mode);

/* Every component of PATH but the last (the directories a file at PATH needs). */
int mkdir_parents(const char *path, mode_t mode);

/* All SIZE bytes of DATA to FD, however many write(2)s that takes (EINTR retried). Returns 0, a
 * negative errno, or -EIO when the fd takes no more. */
int fd_write_all(int fd, const void *data, size_t size);

/* Write TEXT to the existing file PATH in one write(2), as /proc and /sys files expect. A short
 * write is an error (-EIO). */
int write_string_file(const char *path, const char *text);
