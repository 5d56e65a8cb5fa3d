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
 * other: launcher/idmap.h), one map line per range that does not continue the one before on the
 * host. The kernel (kernel/user_namespace.c map_id_range_down) writes a pod's map line only when
 * its idsPerPod ids lie within ONE line of the node's map: a pod's aligned block straddling two
 * lines fails with EPERM in pinns. So the usable blocks are the aligned idsPerPod blocks of node
 * ids, above the node's own first idsPerPod (root, the system users of images run with
 * hostUsers: true), that lie wholly inside one line of the uid map and one of the gid map; kubelet
 * takes one range, so its slice is the longest run of consecutive usable blocks (the lowest of
 * equal ones). With one range, or ranges adjacent on the host, that is every block above the
 * node's own; with scattered ranges each line boundary inside a block costs that block, and only
 * the longest run counts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* kubelet's default userNamespaces.idsPerPod, the only value usernode renders. */
#define POD_USERNS_IDS_PER_POD 65536u
/* kubelet's default maxPods, kept when the slice would allow more. */
#define POD_USERNS_DEFAULT_MAX_PODS 110u
/* [kubelet] max_pods: the most an id space of 2^32 can hold, node's own ids aside. */
#define POD_USERNS_MAX_PODS_LIMIT 65535u

/* The kernel's limit of lines in a map (as launcher/idmap.h's IDMAP_EXTENTS_MAX). */
#define POD_USERNS_MAP_LINES_MAX 340

/* One of the node's maps (uid or gid) as the launcher wrote it: INNER OUTER COUNT lines, inner
 * ids from 0 up without a hole (idmap_build). */
struct pod_userns_map {
        struct pod_userns_map_line {
                uint32_t inner, outer, count;
        } lines[POD_USERNS_MAP_LINES_MAX];
        size_t n;
};

/* Ids the map covers (the sum of its lines). */
uint64_t pod_userns_map_size(const struct pod_userns_map *m);

/* What the launcher found on the host, kept for reloads. */
struct pod_userns_host {
        struct pod_userns_map uids, gids; /* the node's maps */
        bool getsubids; /* on PATH: kubelet reads its slice with it */
        const char *user; /* the host user, for the usermod command in messages */
        uint64_t free_start; /* where a new subordinate range could start (idmap_free_subid_start) */
};

struct pod_userns {
        uint32_t start; /* first id of kubelet's slice, in the node's id space; 0 when pods == 0 */
        uint32_t count; /* pods * POD_USERNS_IDS_PER_POD */
        uint32_t pods; /* how many pods the slice holds */
};

/* The slice of the node with these maps: the longest run of aligned blocks above the node's
 * own that each lie within one line of `uids` and one of `gids` (kubelet wants one range for
 * both). */
void pod_userns_slice(const struct pod_userns_map *uids, const struct pod_userns_map *gids,
                      struct pod_userns *ret);

/* Does every aligned block of `slice` lie within one line of `map`? (Also true of an empty
 * slice.) What the node checks against its own /proc/self/uid_map before it makes the user. */
bool pod_userns_slice_fits(const struct pod_userns_map *map, const struct pod_userns *slice);

/* How many pods the node's ids would hold if their lines were one: (ids - 65536) / 65536 of the
 * smaller map, at most POD_USERNS_MAX_PODS_LIMIT. More than the slice's pods when line
 * boundaries split blocks or runs (scattered subordinate ranges). */
uint32_t pod_userns_pods_by_count(const struct pod_userns_host *host);

/* How many ids (a multiple of POD_USERNS_IDS_PER_POD) the usermod command of
 * pod_userns_usermod_command() must add from host->free_start so that the slice holds `pods`
 * (0: it does already). A range there joins the node's last map line when it continues it on the
 * host, else it is a line of its own, whose blocks must make the run. */
uint64_t pod_userns_ids_missing(const struct pod_userns_host *host, uint32_t pods);

/* Why the slice holds fewer pods than the ids would (pod_userns_pods_by_count), as a new string
 * for messages, or NULL when it does not (or -ENOMEM). */
char *pod_userns_why_fewer(const struct pod_userns_host *host, const struct pod_userns *slice);

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
