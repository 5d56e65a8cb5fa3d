/* node_init.h: PID 1 of the node's namespaces.
 *
 * It finishes the namespaces from the inside (mounts, cgroup namespace), reports READY to the
 * launcher, then runs the node's payload (a command, or the supervised services), reaps every
 * orphan, forwards the launcher's signals and exits with the payload's status. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "netns/network_options.h"

struct node_settings;
struct host_tools;
struct service_plan;

struct node_init_config {
        int channel_fd; /* the init's end of the launcher <-> init channel */
        int dial_fd; /* the init's end of the dial channel (netns/dial.h), or -EBADF */
        pid_t launcher_pid; /* to notice the launcher dying before PR_SET_PDEATHSIG took hold */
        bool own_network; /* the node has its own network namespace */
        bool cgroup_delegated; /* the launcher put us in a delegated cgroup (cgroup/cgroup_node.h) */
        const struct network_options *network; /* --net=slirp: tap0 to create and hand over; else NULL */
        const char *state_dir; /* holds the resolv.conf and hosts the node binds into /etc */
        char **command; /* NULL-terminated argv to run as the payload */
        /* Set instead of command: run the node's services (launcher/node/node_services.h). */
        const struct node_settings *services_settings;
        const struct host_tools *services_tools;
        /* The services' plan the launcher built (run_services.h), the init's own copy since the
         * clone: it takes it over and never renders at start. */
        struct service_plan *services_plan;
};

/* Never returns: exits with the payload's exit status (128+N if it died of signal N, 127 if it
 * could not be executed), or EXIT_RUNTIME when setting the node up failed. */
_Noreturn void node_init_main(const struct node_init_config *config);
