/* cgroup_inside.c: the node init's side of the cgroup tree (see cgroup_inside.h). */
#include "cgroup/cgroup_inside.h"

#include <assert.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "cgroup/cgroup_fs.h"
#include "common/fileio.h"
#include "common/log.h"

/* A leaf name from the supervisor's configuration: no "..", no empty components. */
static bool leaf_name_valid(const char *name) {
        if (!name || !*name || *name == '/' || strlen(name) > 255)
                return false;
        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
                if (*p == '/' && !*++p)
                        return false; /* a trailing slash: an empty last component */
        }
        return true;
}

static int mount_cgroup2(void) {
        const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

        if (mount("cgroup2", CGROUP_INSIDE_MOUNT, "cgroup2", flags, NULL) >= 0)
                return 0;
        /* EBUSY: the host's cgroup2 (the same superblock) is mounted right there, as when /sys is the
         * host's; the kernel refuses to stack a superblock on itself, so put a tmpfs in between. */
        if (errno != EBUSY)
                return negative_errno();
        if (mount("tmpfs", CGROUP_INSIDE_MOUNT, "tmpfs", flags, "mode=0755,size=16k") < 0 ||
            mount("cgroup2", CGROUP_INSIDE_MOUNT, "cgroup2", flags, NULL) < 0)
                return negative_errno();
        return 0;
}

int cgroup_inside_setup(void) {
        _cleanup_free_ char *available = NULL;
        int r;

        /* A fresh cgroup2 mount inside our cgroup namespace shows G/node as "/", nothing above it. */
        r = mount_cgroup2();
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot mount cgroup2 on %s inside the node: %m",
                                       CGROUP_INSIDE_MOUNT);

        r = cgroup_inside_create_leaf("init");
        if (r < 0)
                return r;
        r = cgroup_inside_move("init", 0);
        if (r < 0)
                return r;

        r = cgroup_fs_read(CGROUP_INSIDE_MOUNT, "cgroup.controllers", &available);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot read %s/cgroup.controllers: %m",
                                       CGROUP_INSIDE_MOUNT);
        /* Refusals are logged one by one inside; the node still runs with what could be enabled. */
        r = cgroup_fs_enable(CGROUP_INSIDE_MOUNT, available, NULL);
        if (r < 0)
                return r;
        /* kubelet refuses a cgroupRoot that does not exist; it enables controllers below it itself. */
        return cgroup_inside_create_leaf(CGROUP_INSIDE_PODS_ROOT);
}

/* CGROUP_INSIDE_MOUNT/NAME for a usable leaf NAME: 0, -EINVAL (logged) or -ENOMEM. */
static int inside_leaf_path(const char *name, char **ret) {
        if (!leaf_name_valid(name))
                return log_error_errno(EINVAL, "cgroups: \"%s\" is not a usable cgroup name",
                                       name ? name : "");
        *ret = cgroup_path_join(CGROUP_INSIDE_MOUNT, name);
        return *ret ? 0 : -ENOMEM;
}

/* Enables in each inner cgroup on the way to `path` (below the root, which setup did) every
 * controller it has: a leaf sees only what its parent enabled, and CRI-O drops every pod limit
 * whose controller its own leaf services/crio lacks ("rootless: cgroup v2 cpu controller is not
 * delegated"). Inner cgroups here hold no process, so the kernel allows it. */
static int enable_along(const char *path) {
        _cleanup_free_ char *inner = strdup(path);
        if (!inner)
                return -ENOMEM;
        size_t root_len = strlen(CGROUP_INSIDE_MOUNT);
        for (char *slash = strchr(inner + root_len + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                _cleanup_free_ char *available = NULL;
                *slash = '\0';
                int r = cgroup_fs_read(inner, "cgroup.controllers", &available);
                if (r >= 0 && available[0])
                        r = cgroup_fs_enable(inner, available, NULL);
                if (r < 0)
                        return log_error_errno(r, "cgroups: cannot enable the controllers of %s: %m", inner);
                *slash = '/';
        }
        return 0;
}

int cgroup_inside_create_leaf(const char *name) {
        _cleanup_free_ char *path = NULL;
        int r = inside_leaf_path(name, &path);
        if (r < 0)
                return r;
        /* Each component, so "services/crio" works on its own. */
        r = mkdir_p(path, 0755);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot create %s: %m", path);
        return enable_along(path);
}

int cgroup_inside_move(const char *name, pid_t pid) {
        _cleanup_free_ char *path = NULL;
        int r = inside_leaf_path(name, &path);
        if (r < 0)
                return r;
        r = cgroup_fs_move(path, pid);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot move pid %d to %s: %m", (int)pid, path);
        return 0;
}
