/* idmap_libsubid.c: the subordinate id ranges from libsubid, asked in a short-lived child.
 *
 * libsubid.so.4 brings ten libraries (libaudit, libselinux, libsemanage, PAM, libpcre2...), and
 * as Debian builds them BIND_NOW, loading them touches about 1 MiB of relocations and symbol
 * tables: in the launcher for its whole life (and in its fork the node init, what that touches),
 * for a lookup done once at start. So a child opens the library, asks it, writes the ranges
 * on a pipe and exits; the parent takes at most IDMAP_LIBSUBID_RANGES_MAX of them and checks each.
 * Linked with -lsubid, a host without the library could not run usernode at all; opened, its
 * absence is one more reason to read /etc/subuid. */
#include "launcher/idmap_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <shadow/subid.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/exit_status.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"

/* The child's exit statuses: 0 when it answered. */
enum { CHILD_NO_LIBRARY = 10, CHILD_LOOKUP_FAILED = 11, CHILD_WRITE_FAILED = 12 };

/* Non-empty and within the 32 bits of an id, its end included (as the file parser takes them). */
static bool range_valid(uint64_t start, uint64_t count) {
        return count > 0 && start <= UINT32_MAX && count <= UINT32_MAX - start;
}

/* libsubid answers by owner string; entries may name the user or the numeric uid. */
static _noreturn_ void libsubid_child(int fd, enum id_kind kind, const char *const owners[2]) {
        const char *symbol = kind == ID_KIND_UID ? "subid_get_uid_ranges" : "subid_get_gid_ranges";
        _Static_assert(__builtin_types_compatible_p(__typeof__(subid_get_uid_ranges),
                                                    __typeof__(subid_get_gid_ranges)),
                       "one signature for both");
        __typeof__(&subid_get_uid_ranges) get_ranges;

        void *library = dlopen("libsubid.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!library) {
                log_debug("libsubid is not loaded (%s): reading %s", dlerror(), idmap_subid_file(kind));
                _exit(CHILD_NO_LIBRARY);
        }
        get_ranges = (__typeof__(get_ranges))dlsym(library, symbol);
        if (!get_ranges) {
                log_debug("libsubid has no %s: reading %s", symbol, idmap_subid_file(kind));
                _exit(CHILD_NO_LIBRARY);
        }
        for (size_t i = 0; i < 2; i++) {
                struct subid_range *found = NULL;
                int count = get_ranges(owners[i], &found);
                if (count < 0)
                        _exit(CHILD_LOOKUP_FAILED);
                for (int k = 0; k < count; k++) {
                        if (!range_valid(found[k].start, found[k].count))
                                continue;
                        struct id_range r = { (uint32_t)found[k].start, (uint32_t)found[k].count };
                        if (fd_write_all(fd, &r, sizeof(r)) < 0)
                                _exit(CHILD_WRITE_FAILED);
                }
                free(found);
        }
        _exit(0);
}

/* One record: 1, or 0 at end of file, -EBADMSG when the answer ends inside one. */
static int read_record(int fd, struct id_range *r) {
        size_t got = 0;
        while (got < sizeof(*r)) {
                ssize_t k = read(fd, (char *)r + got, sizeof(*r) - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return got == 0 ? 0 : -EBADMSG;
                got += (size_t)k;
        }
        return 1;
}

int idmap_libsubid_read(int fd, struct id_range **ret_ranges) {
        _cleanup_free_ struct id_range *ranges = NULL;
        struct id_range r;
        size_t n = 0;
        int k;

        while ((k = read_record(fd, &r)) > 0) {
                if (!range_valid(r.start, r.count))
                        return -EBADMSG;
                if (n == IDMAP_LIBSUBID_RANGES_MAX)
                        return -E2BIG;
                k = idmap_append_range(&ranges, &n, r);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        *ret_ranges = TAKE_PTR(ranges);
        return (int)n;
}

int idmap_libsubid_lookup(enum id_kind kind, const char *user, const char *id_text,
                          struct id_range **ret_ranges) {
        const char *const owners[2] = { user, id_text };
        _cleanup_free_ struct id_range *ranges = NULL;
        int fds[2], status, n;

        /* The callers run before the launcher starts any thread, so the child may call what it
         * likes (dlopen, malloc) before it exits. */
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t child = fork();
        if (child < 0) {
                n = negative_errno();
                close(fds[0]);
                close(fds[1]);
                return n;
        }
        if (child == 0) {
                close(fds[0]);
                libsubid_child(fds[1], kind, owners);
        }
        close(fds[1]);
        n = idmap_libsubid_read(fds[0], &ranges);
        close(fds[0]);
        if (n < 0)
                kill(child, SIGKILL); /* an answer we refuse: the rest of it is not needed */
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (n < 0)
                return log_debug_errno(n, "libsubid's answer is unusable (%m): reading %s",
                                       idmap_subid_file(kind));
        int code = exit_code_of(status);
        if (code != 0) {
                if (code != CHILD_NO_LIBRARY) /* that one said why itself */
                        log_debug("libsubid could not answer (exit status %d): reading %s", code,
                                  idmap_subid_file(kind));
                return -EIO;
        }
        log_debug("libsubid: %d subordinate %s range%s for \"%s\" or %s", n,
                  kind == ID_KIND_UID ? "uid" : "gid", n == 1 ? "" : "s", user, id_text);
        *ret_ranges = TAKE_PTR(ranges);
        return n;
}
