/* macro.h: cleanup attributes and small helpers shared by every module.
 *
 * Resources are released by scope, so an early `return r;` never leaks (see STYLE.md). */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **)p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static inline void strv_freep(char ***strv) {
        if (*strv) {
                for (char **s = *strv; *s; s++)
                        free(*s);
                free(*strv);
        }
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hand a resource out of a cleanup-scoped variable. */
#define TAKE_FD(fd)              \
        ({                       \
                int _fd_ = (fd); \
                (fd) = -EBADF;   \
                _fd_;            \
        })
#define TAKE_PTR(p)                      \
        ({                               \
                __typeof__(p) _p_ = (p); \
                (p) = NULL;              \
                _p_;                     \
        })

/* Negative errno from the last failing libc call; never 0 even if errno was clobbered. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* Exit codes of the usernode command (README.md, "Exit codes"). */
enum {
        EXIT_RUNTIME = 1, /* a step failed while running */
        EXIT_USAGE = 2, /* bad command line or configuration */
        EXIT_HOST = 3, /* the host is not ready (disabled user namespaces, no /dev/net/tun, ...) */
};
