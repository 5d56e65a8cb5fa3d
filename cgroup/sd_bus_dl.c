/* sd_bus_dl.c: libsystemd.so.0 opened for its sd-bus functions, reference counted (see
 * sd_bus_dl.h). */
#include "cgroup/sd_bus_dl.h"

#include <assert.h>
#include <dlfcn.h>

#include "common/log.h"

#define SD_BUS_DL_LIBRARY "libsystemd.so.0"

struct sd_bus_dl sd_bus_dl;

static void *library;
static unsigned users;

/* Every function of the table from `handle`: 0, or -ENOSYS naming the first one missing. */
static int resolve(void *handle, struct sd_bus_dl *table) {
#define SD_BUS_DL_RESOLVE(name)                                                \
        table->name = (__typeof__(table->name))dlsym(handle, "sd_bus_" #name); \
        if (!table->name)                                                      \
                return log_debug_errno(ENOSYS, SD_BUS_DL_LIBRARY " has no sd_bus_" #name " (%s)", dlerror());
        SD_BUS_DL_FUNCTIONS(SD_BUS_DL_RESOLVE)
#undef SD_BUS_DL_RESOLVE
        return 0;
}

int sd_bus_dl_open(void) {
        struct sd_bus_dl table = {};

        if (users > 0) {
                users++;
                return 0;
        }
        /* RTLD_LOCAL: its symbols are for this table only, and nothing else binds to them, so
         * the last dlclose() unmaps it and the libraries it brought. */
        void *handle = dlopen(SD_BUS_DL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        if (!handle)
                return log_debug_errno(ENOPKG, SD_BUS_DL_LIBRARY " cannot be opened: %s", dlerror());
        int r = resolve(handle, &table);
        if (r < 0) {
                dlclose(handle);
                return r;
        }
        library = handle;
        sd_bus_dl = table;
        users = 1;
        return 0;
}

void sd_bus_dl_close(void) {
        assert(users > 0);
        if (--users > 0)
                return;
        sd_bus_dl = (struct sd_bus_dl){};
        dlclose(TAKE_PTR(library));
}

bool sd_bus_dl_is_open(void) {
        return users > 0;
}
