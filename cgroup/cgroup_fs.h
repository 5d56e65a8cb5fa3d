/* cgroup_fs.h: reading and writing the cgroup v2 file system: where it is mounted, which cgroup
 * a process is in, whether a cgroup is delegated to us, controllers, moving and killing processes.
 *
 * Discovery reads its inputs from paths in struct cgroup_host, so the unit tests run it against a
 * fake tree (a made-up mountinfo and /proc/self/cgroup, directories standing in for cgroups). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

enum cgroup_layout {
        CGROUP_LAYOUT_NONE, /* no cgroup file system at all */
        CGROUP_LAYOUT_LEGACY, /* cgroup v1 only */
        CGROUP_LAYOUT_HYBRID, /* v1 controllers, cgroup2 only at /sys/fs/cgroup/unified */
        CGROUP_LAYOUT_UNIFIED, /* cgroup2 holds the controllers */
};

/* Where discovery reads from; cgroup_host_real() gives the live system's paths. */
struct cgroup_host {
        const char *mountinfo; /* /proc/self/mountinfo */
        const char *self_cgroup; /* /proc/self/cgroup */
        uid_t uid; /* whose delegation we look for */
};

struct cgroup_host cgroup_host_real(void);

struct cgroup_discovery {
        enum cgroup_layout layout;
        char *mount; /* the cgroup2 mount point (unified layout only) */
        char *own; /* absolute path of the process's own cgroup under `mount` */
        bool own_writable; /* `own` is ours: owned by uid, cgroup.procs and subtree_control writable */
        char *controllers; /* space-separated contents of own/cgroup.controllers */
};

void cgroup_discovery_done(struct cgroup_discovery *d);

/* Parses mountinfo for the layout and the cgroup2 mount point. */
int cgroup_fs_find_mount(const char *mountinfo, enum cgroup_layout *ret_layout, char **ret_mount);

/* Parses a /proc/PID/cgroup file for the unified ("0::") path, e.g. "/user.slice/x.scope". */
int cgroup_fs_own_path(const char *self_cgroup, char **ret);

/* All of discovery: layout, mount, own cgroup, whether it is delegated, its controllers.
 * Returns 0 also when the layout is not unified (then only `layout` is set). */
int cgroup_discover(const struct cgroup_host *host, struct cgroup_discovery *ret);

/* A cgroup directory is ours when it and its cgroup.procs and cgroup.subtree_control belong to
 * `uid` and are writable by their owner: that is how a delegation is handed over (chown). */
bool cgroup_fs_is_owned(const char *path, uid_t uid);

/* Whether the space-separated `list` holds `word`. */
bool cgroup_list_contains(const char *list, const char *word);

/* The words of `wanted` missing from `list`, space-separated ("" when none). */
int cgroup_list_missing(const char *list, const char *wanted, char **ret);

/* Reads a small cgroup file (cgroup.controllers, cgroup.events...), trailing newline removed. */
int cgroup_fs_read(const char *dir, const char *file, char **ret);

/* Writes `value` to dir/file in one write(2), as cgroupfs wants. */
int cgroup_fs_write(const char *dir, const char *file, const char *value);

/* Moves a process (0: the caller) into the cgroup `dir`. */
int cgroup_fs_move(const char *dir, pid_t pid);

/* Moves every process of `from` into `to` (a child of it), until `from` is empty. */
int cgroup_fs_move_all(const char *from, const char *to);

/* Enables each controller of the space-separated `controllers` in dir/cgroup.subtree_control, one
 * at a time so one refusal does not lose the others. Returns the list actually enabled. */
int cgroup_fs_enable(const char *dir, const char *controllers, char **ret_enabled);

/* Whether the subtree at `dir` still holds a process (cgroup.events "populated 1"). */
int cgroup_fs_is_populated(const char *dir);

/* Kills every process in the subtree at `dir` and waits until it is empty, at most `timeout_ms`. */
int cgroup_fs_kill(const char *dir, unsigned timeout_ms);

/* Removes the subtree at `dir`, children first. A missing `dir` is not an error. */
int cgroup_fs_remove(const char *dir);

/* "a" + "/" + "b" with no doubled slash; NULL when out of memory. */
char *cgroup_path_join(const char *a, const char *b);
