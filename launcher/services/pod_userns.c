/* pod_userns.c: kubelet's slice of the node's ids for pods with their own user namespace. */
#include "launcher/services/pod_userns.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/services/node_settings.h"

void pod_userns_slice(uint64_t node_uids, uint64_t node_gids, struct pod_userns *ret) {
        uint64_t ids = node_uids < node_gids ? node_uids : node_gids;

        *ret = (struct pod_userns){};
        /* Ids 0..IDS_PER_POD-1 are the node's own; kubelet also refuses a start below idsPerPod. */
        if (ids < 2 * (uint64_t)POD_USERNS_IDS_PER_POD)
                return;
        uint64_t pods = (ids - POD_USERNS_IDS_PER_POD) / POD_USERNS_IDS_PER_POD;
        /* A map never reaches 2^32 ids (idmap_build stops short), so count fits in 32 bits. */
        if (pods > POD_USERNS_MAX_PODS_LIMIT)
                pods = POD_USERNS_MAX_PODS_LIMIT;
        ret->start = POD_USERNS_IDS_PER_POD;
        ret->pods = (uint32_t)pods;
        ret->count = (uint32_t)(pods * POD_USERNS_IDS_PER_POD);
}

uint64_t pod_userns_ids_missing(uint64_t node_ids, uint32_t pods) {
        uint64_t needed = ((uint64_t)pods + 1) * POD_USERNS_IDS_PER_POD;
        return node_ids >= needed ? 0 : needed - node_ids;
}

int pod_userns_max_pods(const struct pod_userns *slice, uint32_t configured, uint32_t *ret) {
        if (configured == 0) {
                *ret = slice->pods == 0 || slice->pods > POD_USERNS_DEFAULT_MAX_PODS
                               ? POD_USERNS_DEFAULT_MAX_PODS
                               : slice->pods;
                return 0;
        }
        if (slice->pods < configured)
                return -ERANGE;
        *ret = configured;
        return 0;
}

int pod_userns_parse_max_pods(const char *value, uint32_t *ret) {
        char *end;
        if (strcmp(value, "auto") == 0) {
                *ret = 0;
                return 0;
        }
        if (value[0] < '1' || value[0] > '9')
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno != 0 || *end != '\0' || v > POD_USERNS_MAX_PODS_LIMIT)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

int pod_userns_validate_max_pods(const char *value) {
        uint32_t n;
        return pod_userns_parse_max_pods(value, &n);
}

static uint64_t round_up_to_pod(uint64_t ids) {
        return (ids + POD_USERNS_IDS_PER_POD - 1) / POD_USERNS_IDS_PER_POD * POD_USERNS_IDS_PER_POD;
}

char *pod_userns_usermod_command(const struct pod_userns_host *host, uint64_t add) {
        uint64_t first = host->free_start, last = host->free_start + round_up_to_pod(add) - 1;
        char *text;
        if (asprintf(&text,
                     "sudo usermod --add-subuids %" PRIu64 "-%" PRIu64 " --add-subgids %" PRIu64 "-%" PRIu64
                     " %s",
                     first, last, first, last, host->user ?: "$USER") < 0)
                return NULL;
        return text;
}

int pod_userns_decide(struct node_settings *s, const struct pod_userns_host *host) {
        uint64_t node_ids = host->node_uids < host->node_gids ? host->node_uids : host->node_gids;
        struct pod_userns slice;
        int r;

        s->pod_host = *host;
        pod_userns_slice(host->node_uids, host->node_gids, &slice);
        if (s->max_pods > 0 && !host->getsubids) {
                log_error("[kubelet] max_pods = %" PRIu32
                          ": kubelet reads the ids of pods with their own user "
                          "namespace with getsubids, which is not on PATH; install it with: sudo apt-get "
                          "install uidmap (or set max_pods = auto)",
                          s->max_pods);
                return -ENOENT;
        }
        const struct pod_userns none = {};
        r = pod_userns_max_pods(host->getsubids ? &slice : &none, s->max_pods, &s->kubelet_max_pods);
        if (r < 0) {
                uint64_t missing = pod_userns_ids_missing(node_ids, s->max_pods);
                _cleanup_free_ char *usermod = pod_userns_usermod_command(host, missing);
                log_error("[kubelet] max_pods = %" PRIu32 ": pods with their own user namespace (hostUsers: "
                          "false) need %" PRIu64 " ids in the node (%u of its own, %u per pod) but the "
                          "subordinate uids and gids of \"%s\" give it %" PRIu64 ": add %" PRIu64
                          " of both, e.g. with: %s (or set max_pods = auto: %" PRIu32 " pods)",
                          s->max_pods, node_ids + missing, POD_USERNS_IDS_PER_POD, POD_USERNS_IDS_PER_POD,
                          host->user ?: "", node_ids, missing, usermod ?: "usermod", slice.pods);
                return r;
        }

        if (slice.pods == 0 || !host->getsubids) {
                /* kubelet would fall back to ids the node does not map: no "kubelet" user at all. */
                _cleanup_free_ char *usermod = pod_userns_usermod_command(
                        host, pod_userns_ids_missing(node_ids, POD_USERNS_DEFAULT_MAX_PODS));
                if (!host->getsubids)
                        log_info("pods with hostUsers: false cannot run in this node: getsubids is not on "
                                 "PATH (sudo apt-get install uidmap)");
                else
                        log_info("pods with hostUsers: false cannot run in this node: it has %" PRIu64
                                 " ids, one such pod needs %u; for %u pods: %s",
                                 node_ids, 2 * POD_USERNS_IDS_PER_POD, POD_USERNS_DEFAULT_MAX_PODS,
                                 usermod ?: "usermod");
                s->pod_userns = (struct pod_userns){};
                return 0;
        }
        s->pod_userns = slice;
        if (s->max_pods == 0 && s->kubelet_max_pods < POD_USERNS_DEFAULT_MAX_PODS) {
                _cleanup_free_ char *usermod = pod_userns_usermod_command(
                        host, pod_userns_ids_missing(node_ids, POD_USERNS_DEFAULT_MAX_PODS));
                log_warning("kubelet's maxPods is %" PRIu32 ": that many pods with their own user namespace "
                            "fit in the node's %" PRIu64 " ids; for kubelet's default %u: %s",
                            s->kubelet_max_pods, node_ids, POD_USERNS_DEFAULT_MAX_PODS,
                            usermod ?: "usermod");
        }
        log_debug("kubelet's ids for pods: %" PRIu32 "-%" PRIu64 " (%" PRIu32 " pods), maxPods %" PRIu32,
                  slice.start, (uint64_t)slice.start + slice.count - 1, slice.pods, s->kubelet_max_pods);
        return 0;
}
