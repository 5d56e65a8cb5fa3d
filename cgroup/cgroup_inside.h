/* cgroup_inside.h: the node's cgroup tree as the node init sees it, from inside its cgroup
 * namespace (rooted at the launcher's G/node, see cgroup_node.h).
 *
 * The namespace root may hold no process once controllers are enabled for its children, so
 * everything runs in a leaf: the init in /init, each service in a leaf of its own, and kubelet
 * gets a subtree for its pods (its cgroupRoot). */
#pragma once

#include <sys/types.h>

#define CGROUP_INSIDE_MOUNT "/sys/fs/cgroup"

/* Where kubelet puts its pods (its cgroupRoot): a subtree of its own beside the services' leaves,
 * so that no process ever sits in an inner cgroup. Create it with cgroup_inside_create_leaf(). */
#define CGROUP_INSIDE_PODS_ROOT "kubepods"

/* Called by the node init after unshare(CLONE_NEWCGROUP) and its mounts: mounts cgroup2 fresh on
 * /sys/fs/cgroup (so the node sees only its own subtree), moves itself to the leaf /init,
 * enables every available controller at the root and creates CGROUP_INSIDE_PODS_ROOT. Returns 0
 * or a negative errno, logged. */
int cgroup_inside_setup(void);

/* Creates the cgroup /NAME (one or more path components, e.g. "services/crio" or "kubepods")
 * below the node root; an existing one is fine. Returns 0 or a negative errno, logged. */
int cgroup_inside_create_leaf(const char *name);

/* Moves `pid` (a pid of the node's pid namespace, 0 for the caller) into /NAME. */
int cgroup_inside_move(const char *name, pid_t pid);
