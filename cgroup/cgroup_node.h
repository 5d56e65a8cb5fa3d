/* cgroup_node.h: the node's delegated cgroup v2 subtree, as the launcher sees it.
 *
 * Layout, with G the delegated group (the launcher's own cgroup when a unit with Delegate=yes
 * already gave it one, else a transient scope usernode-NAME.scope asked from the user's systemd):
 *
 *   G/                every available controller enabled in cgroup.subtree_control
 *   G/launcher        leaf: the launcher (and whatever else sat in G), so G holds no process
 *   G/node            the node init's cgroup namespace root; the init moves itself to /init
 *                     inside (cgroup_inside.h) and enables the controllers there itself
 *
 * Hosts without cgroup v2 delegation run in a reported degraded mode: prepare() fills
 * degraded_reason and every later call is a no-op, unless the options require cgroups. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

enum cgroup_mode {
        CGROUP_MODE_AUTO, /* existing delegation if any, else systemd, else degraded */
        CGROUP_MODE_SYSTEMD, /* always a transient scope from the user's systemd */
        CGROUP_MODE_EXISTING, /* only the launcher's own cgroup, if it is delegated */
        CGROUP_MODE_NONE, /* no cgroup handling at all (degraded on purpose) */
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -EINVAL,
};

/* `[cgroup]` of the node's configuration. */
struct cgroup_options {
        enum cgroup_mode mode; /* delegate = auto | systemd | existing | none */
        bool require; /* require = true: no delegation is an error, not a degraded mode */
        /* Degraded mode logged at debug level only: a one-off command, not a node whose status says it. */
        bool quiet;
};

enum cgroup_delegation {
        CGROUP_DELEGATION_NONE, /* degraded: the node runs without resource control */
        CGROUP_DELEGATION_EXISTING, /* the launcher's own cgroup (a unit with Delegate=yes) */
        CGROUP_DELEGATION_SYSTEMD, /* a transient scope we asked systemd for */
};

struct cgroup_node {
        enum cgroup_delegation delegation;
        char *degraded_reason; /* why there is no delegation, e.g. "cgroup v2 is not mounted: ..." */
        char *group; /* absolute path of G in the host's cgroup2 mount */
        char *node_path; /* absolute path of G/node */
        char *scope; /* the transient unit's name, when we created one */
        char *controllers; /* space-separated controllers enabled for the node */
        char *missing; /* space-separated wanted controllers that are not delegated */
        char *description; /* one line for `usernode status`, from cgroup_node_describe() */
        char *mount; /* the cgroup2 mount, while the scope is asked for */
        struct scope_request *scope_request; /* the scope asked for, from begin() to finish() */
};

#define CGROUP_NODE_NULL ((struct cgroup_node){ .delegation = CGROUP_DELEGATION_NONE })

/* Controllers kubelet and CRI-O want; those missing are named with the fix (a drop-in). */
#define CGROUP_WANTED_CONTROLLERS "cpu cpuset io memory pids"

/* The text of the drop-in that makes systemd delegate the wanted controllers to users. */
#define CGROUP_DROPIN_DIR "/etc/systemd/system/user@.service.d"
#define CGROUP_DROPIN_PATH CGROUP_DROPIN_DIR "/delegate.conf"
#define CGROUP_DROPIN_TEXT "[Service]\nDelegate=" CGROUP_WANTED_CONTROLLERS "\n"

const char *cgroup_mode_to_string(enum cgroup_mode mode);
enum cgroup_mode cgroup_mode_from_string(const char *s);

/* Called by the launcher before the node init is cloned, in two steps so that the launcher's
 * own work runs while systemd starts the scope. begin() finds the cgroup2 mount and the
 * launcher's own cgroup, decides the delegation (options->mode; ret->delegation says which from
 * here on) and, when it is a transient scope, asks systemd for it without waiting. finish() waits
 * for the scope, moves the launcher to G/launcher, creates G/node and enables every available
 * controller. Without delegation begin() fills ret->degraded_reason, logs a warning and returns
 * 0 (finish() then does nothing), or returns -EOPNOTSUPP (logged) when options->require is set.
 * Other failures: negative errno, logged. `ret` is filled on every return of begin() and must be
 * released with cgroup_node_done(), finished or not. */
int cgroup_node_begin(const struct cgroup_options *options, const char *node_name, struct cgroup_node *ret);
int cgroup_node_finish(const struct cgroup_options *options, struct cgroup_node *node);

/* begin() and finish() at once, with nothing between (tests/helpers/cgroup_node_probe.c). */
int cgroup_node_prepare(const struct cgroup_options *options, const char *node_name,
                        struct cgroup_node *ret);

/* Whether prepare() with OPTIONS would delegate cgroups to the node, found the way prepare()
 * finds it but without creating or moving anything: what `config --render` renders for.
 * Returns 0 or -ENOMEM. */
int cgroup_node_predict(const struct cgroup_options *options, bool *ret_delegated);

/* Moves the node init (host pid) into G/node. Must happen before the init unshares its cgroup
 * namespace, i.e. before the launcher sends NODE_MSG_MAPS_WRITTEN. No-op when degraded. */
int cgroup_node_attach(struct cgroup_node *node, pid_t init_pid);

/* Kills every process in G/node and its children (cgroup.kill on kernels >= 5.14, else SIGKILL
 * to each pid in cgroup.procs until empty) and waits, bounded, until the subtree is empty. */
int cgroup_node_kill(struct cgroup_node *node);

/* Removes G/node and everything below it (the processes must be gone: cgroup_node_kill()). */
int cgroup_node_remove(struct cgroup_node *node);

/* One line for `usernode status`: "cgroups: <path> (...)" or "cgroups: none (why)". */
const char *cgroup_node_describe(const struct cgroup_node *node);

/* Frees what the struct holds and resets it to CGROUP_NODE_NULL. */
void cgroup_node_done(struct cgroup_node *node);
