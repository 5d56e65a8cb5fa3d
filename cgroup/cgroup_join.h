/* cgroup_join.h: `usernode exec` joining a running node's cgroup, so what it runs counts against
 * the node's limits and goes with the node's cgroup.kill. */
#pragma once

#include <sys/types.h>

/* The leaf, below the node's cgroup namespace root, that `usernode exec` processes join. */
#define CGROUP_EXEC_LEAF "exec"

/* Moves the calling process into the leaf CGROUP_EXEC_LEAF beside the cgroup of the node's init
 * (`init_pid`, a host pid). Writes cgroup.procs itself when the kernel allows (the caller's cgroup
 * and the node's share an ancestor the user owns), else asks the user's systemd to attach it
 * (AttachProcessesToUnit). Best effort: 0, or a negative errno, not logged, when the node has no
 * delegated cgroup (-ENOMEDIUM) or neither way was allowed. */
int cgroup_join_node(pid_t init_pid);
