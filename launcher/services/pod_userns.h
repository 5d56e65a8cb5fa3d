/* pod_userns.h: the ids kubelet hands to pods with their own user namespace (hostUsers: false).
 *
 * kubelet 1.33 (pkg/kubelet/kubelet_pods.go getKubeletMappings, pkg/kubelet/userns) takes them
 * from `getsubids kubelet` and `getsubids -g kubelet` when a user "kubelet" exists: one range,
 * the same for uids and gids, starting at a multiple of idsPerPod and not below it, a multiple of
 * idsPerPod long and holding at least maxPods of them, or kubelet refuses to start. Each pod gets
 * idsPerPod ids of it. Without a "kubelet" user it assumes 65536..2^32, which the node's user
 * namespace does not map.
 *
 * The node's ids are 0 (the user) and 1.. (the user's subordinate ids, all ranges one after the
 * other: launcher/idmap.h). The node keeps its first idsPerPod ids for itself (root, the system
 * users of images run with hostUsers: true); kubelet's slice is the largest aligned one above. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* kubelet's default userNamespaces.idsPerPod, the only value usernode renders. */
#define POD_USERNS_IDS_PER_POD 65536u
/* kubelet's default maxPods, kept when the slice would allow more. */
#define POD_USERNS_DEFAULT_MAX_PODS 110u
/* [kubelet] max_pods: the most an id space of 2^32 can hold, node's own ids aside. */
#define POD_USERNS_MAX_PODS_LIMIT 65535u

/* What the launcher found on the host, kept for reloads. */
struct pod_userns_host {
        uint64_t node_uids, node_gids; /* ids the node's maps cover, 0..N-1 */
        bool getsubids; /* on PATH: kubelet reads its slice with it */
        const char *user; /* the host user, for the usermod command in messages */
        uint64_t free_start; /* where a new subordinate range could start (idmap_free_subid_start) */
};

struct pod_userns {
        uint32_t start; /* first id of kubelet's slice, in the node's id space; 0 when pods == 0 */
        uint32_t count; /* pods * POD_USERNS_IDS_PER_POD */
        uint32_t pods; /* how many pods the slice holds */
};

/* The slice in a node whose uid map covers ids 0..node_uids-1 and gid map 0..node_gids-1
 * (contiguous, as idmap_build() makes them). kubelet wants one range for both: the smaller map
 * decides. */
void pod_userns_slice(uint64_t node_uids, uint64_t node_gids, struct pod_userns *ret);

/* How many ids the node's maps must grow by so that the slice holds `pods` (0: it does). */
uint64_t pod_userns_ids_missing(uint64_t node_ids, uint32_t pods);

/* kubelet's maxPods. configured == 0 ("auto"): what the slice holds, at most kubelet's default
 * 110; with an empty slice 110, and pods cannot have their own user namespace. configured > 0:
 * that, if the slice holds it. Returns 0, or -ERANGE when it does not. */
int pod_userns_max_pods(const struct pod_userns *slice, uint32_t configured, uint32_t *ret);

/* "auto" or 1..POD_USERNS_MAX_PODS_LIMIT, for the schema; *ret 0 for auto. Returns 0 or -EINVAL. */
int pod_userns_parse_max_pods(const char *value, uint32_t *ret);
int pod_userns_validate_max_pods(const char *value);

/* The usermod command that adds `add` ids (rounded up to POD_USERNS_IDS_PER_POD) to the user's
 * subordinate uids and gids from host->free_start on, as a new string, or NULL (-ENOMEM). */
char *pod_userns_usermod_command(const struct pod_userns_host *host, uint64_t add);

struct node_settings;
/* From `host` and s->max_pods: s->pod_userns (the slice kubelet gets, empty
 * when pods cannot have their own user namespace) and s->kubelet_max_pods, logging what a user
 * should know. Returns 0, -ERANGE when [kubelet] max_pods does not fit the node's ids, -ENOENT
 * when it is set and getsubids is missing (both logged with what to do: exit EXIT_HOST). */
int pod_userns_decide(struct node_settings *s, const struct pod_userns_host *host);
