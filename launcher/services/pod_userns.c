/* pod_userns.c: kubelet's slice of the node's ids for pods with their own user namespace. */
#include "launcher/services/pod_userns.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/services/node_settings.h"

#define PER_POD ((uint64_t)POD_USERNS_IDS_PER_POD)

uint64_t pod_userns_map_size(const struct pod_userns_map *m) {
        uint64_t total = 0;
        for (size_t i = 0; i < m->n; i++)
                total += m->lines[i].count;
        return total;
}

/* Aligned blocks first..end-1 (block k: node ids PER_POD*k .. PER_POD*(k+1)-1). */
struct block_run {
        uint64_t first, end;
};

static int compare_runs(const void *a, const void *b) {
        const struct block_run *x = a, *y = b;
        return x->first < y->first ? -1 : x->first > y->first;
}

/* The blocks of `m` that lie within one of its lines, as sorted runs; runs of lines that meet at
 * a block boundary are merged into one. Returns how many (at most m->n). */
static size_t usable_runs(const struct pod_userns_map *m, struct block_run runs[POD_USERNS_MAP_LINES_MAX]) {
        size_t n = 0;
        for (size_t i = 0; i < m->n && i < POD_USERNS_MAP_LINES_MAX; i++) {
                uint64_t inner = m->lines[i].inner, end = inner + m->lines[i].count;
                struct block_run r = { (inner + PER_POD - 1) / PER_POD, end / PER_POD };
                if (r.first < r.end)
                        runs[n++] = r;
        }
        /* Lines are in the order written, which the kernel may show sorted by host id instead. */
        if (n > 1)
                qsort(runs, n, sizeof(runs[0]), compare_runs);
        size_t merged = 0;
        for (size_t i = 0; i < n; i++) {
                if (merged > 0 && runs[merged - 1].end == runs[i].first)
                        runs[merged - 1].end = runs[i].end;
                else
                        runs[merged++] = runs[i];
        }
        return merged;
}

void pod_userns_slice(const struct pod_userns_map *uids, const struct pod_userns_map *gids,
                      struct pod_userns *ret) {
        struct block_run u[POD_USERNS_MAP_LINES_MAX], g[POD_USERNS_MAP_LINES_MAX], best = { 0, 0 };
        size_t nu = usable_runs(uids, u), ng = usable_runs(gids, g);

        *ret = (struct pod_userns){};
        /* Both lists are sorted and disjoint: walk them together, keeping the longest overlap. */
        for (size_t i = 0, j = 0; i < nu && j < ng;) {
                /* Block 0 is the node's own; kubelet also refuses a start below idsPerPod. */
                uint64_t first = u[i].first > g[j].first ? u[i].first : g[j].first;
                uint64_t end = u[i].end < g[j].end ? u[i].end : g[j].end;
                if (first < 1)
                        first = 1;
                if (end > first && end - first > best.end - best.first)
                        best = (struct block_run){ first, end };
                if (u[i].end < g[j].end)
                        i++;
                else
                        j++;
        }
        uint64_t pods = best.end - best.first;
        if (pods == 0)
                return;
        /* A map never reaches 2^32 ids (idmap_build stops short), so start and count fit in 32 bits. */
        if (pods > POD_USERNS_MAX_PODS_LIMIT)
                pods = POD_USERNS_MAX_PODS_LIMIT;
        ret->start = (uint32_t)(best.first * PER_POD);
        ret->pods = (uint32_t)pods;
        ret->count = (uint32_t)(pods * PER_POD);
}

bool pod_userns_slice_fits(const struct pod_userns_map *map, const struct pod_userns *slice) {
        struct block_run runs[POD_USERNS_MAP_LINES_MAX];
        uint64_t first = slice->start / PER_POD, end = first + slice->pods;
        size_t n = usable_runs(map, runs);

        if (slice->pods == 0)
                return true;
        if (slice->start % PER_POD != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (runs[i].first <= first && end <= runs[i].end)
                        return true;
        return false;
}

static uint64_t smaller_map_size(const struct pod_userns_host *host) {
        uint64_t u = pod_userns_map_size(&host->uids), g = pod_userns_map_size(&host->gids);
        return u < g ? u : g;
}

uint32_t pod_userns_pods_by_count(const struct pod_userns_host *host) {
        uint64_t ids = smaller_map_size(host);
        if (ids < 2 * PER_POD)
                return 0;
        uint64_t pods = (ids - PER_POD) / PER_POD;
        return pods > POD_USERNS_MAX_PODS_LIMIT ? POD_USERNS_MAX_PODS_LIMIT : (uint32_t)pods;
}

/* The range [outer, outer+count) added to `m` the way idmap_build() adds one: joining the last
 * line when it continues it on the host, else a line of its own; dropped when the map would
 * pass 2^32 ids or lines. */
static void map_append(struct pod_userns_map *m, uint64_t outer, uint64_t count) {
        uint64_t size = pod_userns_map_size(m);
        if (m->n == 0 || size + count > UINT32_MAX || outer + count > UINT32_MAX)
                return;
        struct pod_userns_map_line *last = &m->lines[m->n - 1];
        if (m->n > 1 && (uint64_t)last->outer + last->count == outer)
                last->count += (uint32_t)count;
        else if (m->n < POD_USERNS_MAP_LINES_MAX)
                m->lines[m->n++] =
                        (struct pod_userns_map_line){ (uint32_t)size, (uint32_t)outer, (uint32_t)count };
}

/* The pods of the slice once `blocks` * PER_POD ids from host->free_start are added. */
static uint32_t pods_after_adding(const struct pod_userns_host *host, uint64_t blocks) {
        struct pod_userns_map *maps = malloc(2 * sizeof(*maps));
        struct pod_userns s = {};
        if (!maps)
                return 0;
        maps[0] = host->uids;
        maps[1] = host->gids;
        map_append(&maps[0], host->free_start, blocks * PER_POD);
        map_append(&maps[1], host->free_start, blocks * PER_POD);
        pod_userns_slice(&maps[0], &maps[1], &s);
        free(maps);
        return s.pods;
}

uint64_t pod_userns_ids_missing(const struct pod_userns_host *host, uint32_t pods) {
        uint64_t u = pod_userns_map_size(&host->uids), g = pod_userns_map_size(&host->gids);
        uint64_t low = u < g ? u : g, high = u < g ? g : u;

        if (pods_after_adding(host, 0) >= pods)
                return 0;
        /* Enough for sure: a new line in each map, from its end, long enough for `pods` blocks
         * above the later of the two ends. Fewer pods never need more ids (monotone), so search. */
        uint64_t enough = ((high + PER_POD - 1) / PER_POD + pods) * PER_POD - low;
        uint64_t lo = 1, hi = (enough + PER_POD - 1) / PER_POD;
        if (pods_after_adding(host, hi) < pods)
                return hi * PER_POD; /* beyond what a map holds: the message still says how far */
        while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (pods_after_adding(host, mid) >= pods)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo * PER_POD;
}

char *pod_userns_why_fewer(const struct pod_userns_host *host, const struct pod_userns *slice) {
        uint32_t by_count = pod_userns_pods_by_count(host);
        size_t lines = host->uids.n > host->gids.n ? host->uids.n : host->gids.n;
        char *text;

        if (slice->pods >= by_count)
                return NULL;
        if (asprintf(&text,
                     "the node's subordinate ids come in %zu map lines, ranges not adjacent on the host; "
                     "a pod's %u ids must lie within one line, and kubelet takes one run of such pods: "
                     "%" PRIu32 " where the ids alone would hold %" PRIu32,
                     lines > 0 ? lines - 1 : 0, POD_USERNS_IDS_PER_POD, slice->pods, by_count) < 0)
                return NULL;
        return text;
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
        uint64_t node_ids = smaller_map_size(host);
        struct pod_userns slice;
        int r;

        s->pod_host = *host;
        pod_userns_slice(&host->uids, &host->gids, &slice);
        if (s->max_pods > 0 && !host->getsubids) {
                log_error("[kubelet] max_pods = %" PRIu32
                          ": kubelet reads the ids of pods with their own user "
                          "namespace with getsubids, which is not on PATH; install it with: sudo apt-get "
                          "install uidmap (or set max_pods = auto)",
                          s->max_pods);
                return -ENOENT;
        }
        _cleanup_free_ char *why = pod_userns_why_fewer(host, &slice);
        const struct pod_userns none = {};
        r = pod_userns_max_pods(host->getsubids ? &slice : &none, s->max_pods, &s->kubelet_max_pods);
        if (r < 0) {
                uint64_t missing = pod_userns_ids_missing(host, s->max_pods);
                _cleanup_free_ char *usermod = pod_userns_usermod_command(host, missing);
                log_error("[kubelet] max_pods = %" PRIu32 ": pods with their own user namespace (hostUsers: "
                          "false) need %" PRIu32 " x %u ids in one run above the node's own %u, but the "
                          "subordinate uids and gids of \"%s\" (%" PRIu64 " ids in the node) hold %" PRIu32
                          "%s%s: add %" PRIu64 " of both, e.g. with: %s (or set max_pods = auto: %" PRIu32
                          " pods)",
                          s->max_pods, s->max_pods, POD_USERNS_IDS_PER_POD, POD_USERNS_IDS_PER_POD,
                          host->user ?: "", node_ids, slice.pods, why ? "; " : "", why ?: "", missing,
                          usermod ?: "usermod", slice.pods);
                return r;
        }

        if (slice.pods == 0 || !host->getsubids) {
                /* kubelet would fall back to ids the node does not map: no "kubelet" user at all. */
                _cleanup_free_ char *usermod = pod_userns_usermod_command(
                        host, pod_userns_ids_missing(host, POD_USERNS_DEFAULT_MAX_PODS));
                if (!host->getsubids)
                        log_info("pods with hostUsers: false cannot run in this node: getsubids is not on "
                                 "PATH (sudo apt-get install uidmap)");
                else
                        log_info("pods with hostUsers: false cannot run in this node: it has %" PRIu64
                                 " ids, one such pod needs %u%s%s; for %u pods: %s",
                                 node_ids, 2 * POD_USERNS_IDS_PER_POD, why ? ", and " : "", why ?: "",
                                 POD_USERNS_DEFAULT_MAX_PODS, usermod ?: "usermod");
                s->pod_userns = (struct pod_userns){};
                return 0;
        }
        s->pod_userns = slice;
        if (s->max_pods == 0 && s->kubelet_max_pods < POD_USERNS_DEFAULT_MAX_PODS) {
                _cleanup_free_ char *usermod = pod_userns_usermod_command(
                        host, pod_userns_ids_missing(host, POD_USERNS_DEFAULT_MAX_PODS));
                log_warning("kubelet's maxPods is %" PRIu32 ": that many pods with their own user namespace "
                            "fit in the node's %" PRIu64 " ids%s%s%s; for kubelet's default %u: %s",
                            s->kubelet_max_pods, node_ids, why ? " (" : "", why ?: "", why ? ")" : "",
                            POD_USERNS_DEFAULT_MAX_PODS, usermod ?: "usermod");
        }
        log_debug("kubelet's ids for pods: %" PRIu32 "-%" PRIu64 " (%" PRIu32 " pods), maxPods %" PRIu32,
                  slice.start, (uint64_t)slice.start + slice.count - 1, slice.pods, s->kubelet_max_pods);
        return 0;
}
