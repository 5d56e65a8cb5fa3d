/* scratch_dir.h: the temporary directory a unit test works in, removed with all it holds.
 *
 * Removal walks the tree with nftw(3) instead of running `rm -rf` through a shell: no quoting
 * of the path, no child process. */
#pragma once

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int scratch_dir_remove_entry(const char *path, const struct stat *st, int type,
                                           struct FTW *ftw) {
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path);
}

/* Removes path and everything below it (children first). Returns 0, also when it is gone
 * already, or -1. */
static inline int scratch_dir_remove(const char *path) {
        return nftw(path, scratch_dir_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0
                                                                                                      : -1;
}
