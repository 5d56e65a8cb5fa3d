/* journal_stream.c: sd_journal_stream_fd() from a libsystemd.so.0 opened for it (see
 * journal_stream.h). */
#include "launcher/services/journal_stream.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <systemd/sd-journal.h>

#include "common/log.h"

int journal_stream_open(const char *identifier, int priority) {
        void *library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!library)
                return log_debug_errno(ENOPKG, "libsystemd.so.0 cannot be opened: %s", dlerror());
        __typeof__(sd_journal_stream_fd) *stream_fd =
                (__typeof__(stream_fd))dlsym(library, "sd_journal_stream_fd");
        int fd = stream_fd ? stream_fd(identifier, priority, false)
                           : log_debug_errno(ENOSYS, "libsystemd.so.0 has no sd_journal_stream_fd (%s)",
                                             dlerror());
        /* The socket outlives the library: nothing of it is kept but the fd. */
        dlclose(library);
        return fd;
}
