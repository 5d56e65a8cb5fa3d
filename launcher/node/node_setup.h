/* node_setup.h: what the node's file system and network namespace need before crio and kubelet
 * start (REFERENCE.md, "CRI-O and kubelet as Usernetes gen1 ran them", and known problems 4, 10,
 * 12). Runs in the node init, after the copy-up of /etc, /run and /var/lib. */
#pragma once

#include <stdbool.h>

#include "launcher/services/pod_userns.h"

struct node_setup_dirs {
        const char *state_dir;
        const char *data_dir;
        const char *cni_conf_dir; /* the rendered conflist's directory, bound on /etc/cni/net.d */
        const char *crio_socket; /* where crio listens; /run/crio/crio.sock links to it */
        bool own_network; /* sysctls are only ours to write in the node's own netns */
        const struct pod_userns *kubelet_ids; /* pods > 0: the node gets a "kubelet" user */
};

/* Sysctls, /dev/kmsg, the data dir's bind mounts, private /run/crio and /etc/cni, the socket at
 * its well-known path and /etc/crictl.yaml, and the "kubelet" user (kubelet_user.h). Returns 0 or a negative errno, logged. */
int node_setup_services(const struct node_setup_dirs *dirs);
