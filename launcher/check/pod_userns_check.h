/* pod_userns_check.h: can pods with their own user namespace (hostUsers: false) run in a node of
 * this user on this host, how many, and what to change: for `usernode check`.
 *
 * The same facts `usernode run` decides from (launcher/services/pod_userns.h): the user's
 * subordinate ids as the node would map them, getsubids on PATH, [kubelet] max_pods, plus the
 * kernel (idmapped mounts of tmpfs, which kubelet's projected, secret and memory emptyDir volumes
 * are, need Linux 6.3) and the map helpers. Read-only: nothing is created. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "launcher/config/config.h"
#include "launcher/services/pod_userns.h"

/* Linux version whose tmpfs allows idmapped mounts (FS_ALLOW_IDMAP). */
#define POD_USERNS_KERNEL_MAJOR 6
#define POD_USERNS_KERNEL_MINOR 3

struct pod_userns_check {
        char *user;
        struct pod_userns_host host; /* the node's maps as `usernode run` would write them */
        uint64_t node_uids, node_gids; /* ids those maps would cover */
        struct pod_userns slice; /* kubelet's slice of them */
        uint32_t pods_by_count; /* what the ids would hold if the maps were one line each */
        char *why_fewer; /* why the slice holds fewer (pod_userns_why_fewer), or NULL */
        uint32_t max_pods_configured; /* [kubelet] max_pods; 0: auto */
        uint32_t max_pods; /* what kubelet would get; 0 when the run would stop */
        bool map_helpers; /* newuidmap and newgidmap on PATH */
        bool getsubids; /* on PATH */
        unsigned kernel_major, kernel_minor;
        bool kernel_ok; /* >= POD_USERNS_KERNEL_MAJOR.MINOR */
        uint64_t ids_missing; /* for max_pods_configured, else for 110 pods */
        char *usermod; /* the command adding ids_missing; NULL when nothing is missing */
        bool possible; /* at least one pod can have its own user namespace (kernel included) */
        bool run_stops; /* `usernode run` would stop: max_pods set beyond what the ids hold */
};

/* Gather the facts for the current user; `config` (may be NULL: defaults) gives [kubelet]
 * max_pods. Returns 0 or -ENOMEM; a fact that cannot be read is reported as missing. */
int pod_userns_check_run(const struct config *config, struct pod_userns_check *ret);
void pod_userns_check_done(struct pod_userns_check *c);
