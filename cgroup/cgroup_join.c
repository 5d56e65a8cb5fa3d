/* cgroup_join.c: `usernode exec` into the node's cgroup (see cgroup_join.h). */
#include "cgroup/cgroup_join.h"

#include <string.h>
#include <sys/stat.h>

#include "cgroup/cgroup_fs.h"
#include "cgroup/delegate_systemd.h"
#include "cgroup/sd_bus_dl.h"
#include "common/log.h"

/* The systemd unit holding `pid`, and its cgroup (relative to the cgroup2 root). */
static int unit_of_pid(sd_bus *bus, pid_t pid, char **ret_id, char **ret_cgroup) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path, *dot, *interface;
        _cleanup_free_ char *id = NULL;
        int r;

        r = sd_bus_dl.call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "GetUnitByPID", &error, &reply, "u",
                                  (uint32_t)pid);
        if (r < 0)
                goto finish;
        r = sd_bus_dl.message_read(reply, "o", &path);
        if (r < 0)
                goto finish;
        r = sd_bus_dl.get_property_string(bus, "org.freedesktop.systemd1", path,
                                          "org.freedesktop.systemd1.Unit", "Id", &error, &id);
        if (r < 0)
                goto finish;
        dot = strrchr(id, '.');
        interface = dot && strcmp(dot, ".service") == 0 ? "org.freedesktop.systemd1.Service"
                                                        : "org.freedesktop.systemd1.Scope";
        r = sd_bus_dl.get_property_string(bus, "org.freedesktop.systemd1", path, interface, "ControlGroup",
                                          &error, ret_cgroup);
        if (r < 0)
                goto finish;
        *ret_id = TAKE_PTR(id);
finish:
        if (r < 0)
                log_debug_errno(r, "cgroups: no systemd unit for pid %d: %s", (int)pid,
                                error.message ? error.message : "%m");
        sd_bus_dl.error_free(&error);
        sd_bus_dl.message_unref(reply);
        return r;
}

/* Ask the user's systemd to move us to `leaf` (relative to the cgroup2 root) inside the unit that
 * holds `init_pid`: it may, where we may not (it asks the system manager in turn). */
static int attach_via_systemd(pid_t init_pid, const char *leaf) {
        _cleanup_(delegate_systemd_disconnectp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *unit_cgroup = NULL;
        size_t n;
        int r;

        r = delegate_systemd_connect(&bus);
        if (r < 0)
                return r;
        r = unit_of_pid(bus, init_pid, &id, &unit_cgroup);
        if (r < 0)
                goto finish;
        n = strlen(unit_cgroup);
        if (strncmp(leaf, unit_cgroup, n) != 0 || leaf[n] != '/') {
                r = -EXDEV; /* the node is not inside the unit systemd names: nothing to ask for */
                goto finish;
        }
        r = sd_bus_dl.call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "AttachProcessesToUnit", &error, NULL,
                                  "ssau", id, leaf + n, 1, (uint32_t)getpid());
        if (r < 0)
                log_debug_errno(r, "cgroups: systemd did not attach us to %s%s: %s", id, leaf + n,
                                error.message ? error.message : "%m");
finish:
        sd_bus_dl.error_free(&error);
        return r;
}

int cgroup_join_node(pid_t init_pid) {
        _cleanup_free_ char *mount = NULL, *init = NULL, *leaf = NULL, *abs = NULL;
        enum cgroup_layout layout;
        char proc[64];
        int r;

        r = cgroup_fs_find_mount("/proc/self/mountinfo", &layout, &mount);
        if (r < 0)
                return r;
        if (layout != CGROUP_LAYOUT_UNIFIED)
                return -ENOMEDIUM;

        /* The init of a delegated node sits in <node>/init (cgroup_inside.h); elsewhere it has none. */
        snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)init_pid);
        r = cgroup_fs_own_path(proc, &init);
        if (r < 0)
                return r;
        char *slash = strrchr(init, '/');
        if (!slash || strcmp(slash, "/init") != 0)
                return -ENOMEDIUM;
        *slash = 0;
        if (asprintf(&leaf, "%s/" CGROUP_EXEC_LEAF, init) < 0) {
                leaf = NULL;
                return -ENOMEM;
        }
        abs = cgroup_path_join(mount, leaf);
        if (!abs)
                return -ENOMEM;
        if (mkdir(abs, 0755) < 0 && errno != EEXIST)
                return negative_errno();

        r = cgroup_fs_move(abs, 0);
        if (r != -EACCES && r != -EPERM)
                return r;
        /* A login session's cgroup and the node's meet only in root's user-UID.slice. */
        return attach_via_systemd(init_pid, leaf);
}
