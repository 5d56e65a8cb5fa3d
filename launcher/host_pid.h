/* host_pid.h: a process of the node's pid namespace, named by the pid the host sees.
 *
 * The node init reports its services' pids as its own pid namespace numbers them; `kill`, `top`
 * or `perf -p` on the host want the host's number for the same process. */
#pragma once

#include <sys/types.h>

/* The host pid of the process that is node_pid in the pid namespace of init_pid (a host pid).
 * Returns it, or -ESRCH when no process of the caller's can be matched (it exited, or /proc
 * does not show it). */
pid_t host_pid_of(pid_t init_pid, pid_t node_pid);
