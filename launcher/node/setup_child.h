/* setup_child.h: one step of the node's setup run in a short-lived child of the node init.
 *
 * Why (issue 11, memory): the node init is PID 1 for the node's whole life, and every page of
 * code it touches once stays in its RSS until the node ends: the setup's mounts, netlink and
 * nf_tables code (libnftnl), the services' bind mounts and the images import are run once at
 * start and never again. Run in a child, their pages are mapped in the child only and leave with
 * it. What a step does to the node's shared namespaces (mounts, links, addresses, sysctls, the
 * hostname, files) stays; what it would do to the calling process itself (credentials, its
 * cgroup, its root or cwd) would not, so such steps stay in the init. */
#pragma once

/* Forks; the child runs fn(userdata), which returns an exit code (0, EXIT_RUNTIME, EXIT_HOST)
 * and logs its own error, and exits with it. The init waits for it. Returns that exit code, or
 * EXIT_RUNTIME (logged) if the child could not be forked or died of a signal. The child shares
 * the init's fds (the launcher channel among them: it may send fds to the launcher) and its
 * signal mask. */
int setup_child_run(const char *what, int (*fn)(void *userdata), void *userdata);
