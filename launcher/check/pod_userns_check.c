/* pod_userns_check.c: `usernode check`'s part for pods with their own user namespace. */
#include "launcher/check/pod_userns_check.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/idmap.h"
#include "launcher/services/host_tools.h"

static bool on_path(const char *name) {
        _cleanup_free_ char *path = NULL;
        return find_executable(name, &path) >= 0;
}

/* The node's map for one kind, as lookup_id_mappings() in run.c builds it. */
static void node_map(enum id_kind kind, const char *user, uint32_t id, struct pod_userns_map *ret) {
        _cleanup_free_ struct id_range *ranges = NULL;
        struct id_mapping *m = malloc(sizeof(*m));
        /* Without it (or ranges) the user's own id alone, as idmap_apply() falls back to. */
        ret->n = 1;
        ret->lines[0] = (struct pod_userns_map_line){ 0, id, 1 };
        if (!m)
                return;
        int count = idmap_lookup_subids(kind, user, id, &ranges);
        if (count >= 0) {
                /* Warnings about skipped ranges are `usernode run`'s to give. */
                enum log_level level = log_get_level();
                log_set_level(LOG_LEVEL_ERROR);
                idmap_build(id, ranges, (size_t)count, user, kind, m);
                log_set_level(level);
                idmap_to_pod_userns_map(m, ret);
        }
        free(m);
}

static void kernel_version(unsigned *major, unsigned *minor) {
        struct utsname u;
        *major = *minor = 0;
        if (uname(&u) == 0 && sscanf(u.release, "%u.%u", major, minor) != 2)
                *major = *minor = 0;
}

int pod_userns_check_run(const struct config *config, struct pod_userns_check *ret) {
        struct passwd *pw = getpwuid(getuid());
        const char *max_pods = config ? config_get(config, "kubelet", "max_pods") : NULL;

        *ret = (struct pod_userns_check){};
        if (pw)
                ret->user = strdup(pw->pw_name);
        else if (asprintf(&ret->user, "%u", (unsigned)getuid()) < 0)
                ret->user = NULL;
        if (!ret->user)
                return -ENOMEM;
        if (max_pods && pod_userns_parse_max_pods(max_pods, &ret->max_pods_configured) < 0)
                ret->max_pods_configured = 0;

        node_map(ID_KIND_UID, ret->user, getuid(), &ret->host.uids);
        node_map(ID_KIND_GID, ret->user, getgid(), &ret->host.gids);
        ret->node_uids = pod_userns_map_size(&ret->host.uids);
        ret->node_gids = pod_userns_map_size(&ret->host.gids);
        pod_userns_slice(&ret->host.uids, &ret->host.gids, &ret->slice);
        ret->pods_by_count = pod_userns_pods_by_count(&ret->host);
        ret->map_helpers = on_path("newuidmap") && on_path("newgidmap");
        ret->getsubids = on_path("getsubids");
        ret->host.getsubids = ret->getsubids;
        ret->host.user = ret->user;
        ret->host.free_start = idmap_free_subid_start();
        kernel_version(&ret->kernel_major, &ret->kernel_minor);
        ret->kernel_ok = ret->kernel_major > POD_USERNS_KERNEL_MAJOR ||
                         (ret->kernel_major == POD_USERNS_KERNEL_MAJOR &&
                          ret->kernel_minor >= POD_USERNS_KERNEL_MINOR);

        bool usable = ret->getsubids && ret->map_helpers;
        const struct pod_userns none = {};
        ret->run_stops = pod_userns_max_pods(usable ? &ret->slice : &none, ret->max_pods_configured,
                                             &ret->max_pods) < 0;
        if (ret->run_stops)
                ret->max_pods = 0;
        /* An older kernel runs such a pod only without tmpfs volumes (every pod of a cluster has a
         * projected service account token): not counted as possible. */
        ret->possible = usable && ret->kernel_ok && ret->slice.pods > 0 && !ret->run_stops;

        ret->ids_missing =
                pod_userns_ids_missing(&ret->host, ret->max_pods_configured ? ret->max_pods_configured
                                                                            : POD_USERNS_DEFAULT_MAX_PODS);
        if (ret->ids_missing > 0) {
                ret->usermod = pod_userns_usermod_command(&ret->host, ret->ids_missing);
                if (!ret->usermod)
                        return -ENOMEM;
        }
        if (ret->slice.pods < ret->pods_by_count) {
                ret->why_fewer = pod_userns_why_fewer(&ret->host, &ret->slice);
                if (!ret->why_fewer)
                        return -ENOMEM;
        }
        return 0;
}

void pod_userns_check_done(struct pod_userns_check *c) {
        free(c->user);
        free(c->usermod);
        free(c->why_fewer);
        *c = (struct pod_userns_check){};
}

void pod_userns_check_print(const struct pod_userns_check *c, FILE *out) {
        uint32_t want = c->max_pods_configured ? c->max_pods_configured : POD_USERNS_DEFAULT_MAX_PODS;

        if (c->run_stops)
                fprintf(out,
                        "pods with their own user namespace (hostUsers: false): [kubelet] max_pods = "
                        "%" PRIu32 " does not fit, `usernode run` stops\n",
                        c->max_pods_configured);
        else if (c->possible)
                fprintf(out,
                        "pods with their own user namespace (hostUsers: false): possible, up to %" PRIu32
                        "\n",
                        c->slice.pods < c->max_pods ? c->slice.pods : c->max_pods);
        else
                fprintf(out, "pods with their own user namespace (hostUsers: false): not possible (%s)\n",
                        !c->map_helpers      ? "no newuidmap/newgidmap"
                        : !c->getsubids      ? "no getsubids"
                        : c->slice.pods == 0 ? (c->why_fewer ? "no pod's 65536 ids within one map line"
                                                             : "too few subordinate ids")
                                             : "kernel older than 6.3");

        fprintf(out, "  subordinate ids of \"%s\": the node maps %" PRIu64 " uids and %" PRIu64 " gids\n",
                c->user, c->node_uids, c->node_gids);
        if (c->slice.pods > 0)
                fprintf(out,
                        "  kubelet's ids for pods: %" PRIu32 "-%" PRIu64 " of the node, %" PRIu32
                        " pods of %u\n",
                        c->slice.start, (uint64_t)c->slice.start + c->slice.count - 1, c->slice.pods,
                        POD_USERNS_IDS_PER_POD);
        if (c->why_fewer)
                fprintf(out, "  fewer pods than ids: %s\n", c->why_fewer);
        if (c->ids_missing > 0)
                fprintf(out, "  for %" PRIu32 " pods add %" PRIu64 " subordinate uids and gids: %s\n", want,
                        c->ids_missing, c->usermod);
        fprintf(out, "  kubelet's maxPods: %" PRIu32 "%s\n", c->max_pods,
                c->max_pods_configured ? " ([kubelet] max_pods)" : " (auto)");
        if (!c->map_helpers)
                fprintf(out,
                        "  newuidmap/newgidmap: missing; install them with: sudo apt-get install uidmap\n");
        fprintf(out, "  getsubids: %s\n",
                c->getsubids ? "found" : "missing; install it with: sudo apt-get install uidmap");
        fprintf(out, "  kernel %u.%u: %s\n", c->kernel_major, c->kernel_minor,
                c->kernel_ok ? "idmapped mounts of tmpfs (6.3 or newer)"
                             : "older than 6.3: no idmapped tmpfs, so the containers of such pods do not "
                               "start (their /etc/hosts and volumes are on tmpfs); upgrade the kernel");
}

json_object *pod_userns_check_json(const struct pod_userns_check *c) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "possible", json_object_new_boolean(c->possible));
        json_object_object_add(o, "pods", json_object_new_int64(c->possible ? (int64_t)c->max_pods : 0));
        json_object_object_add(o, "runStops", json_object_new_boolean(c->run_stops));
        json_object_object_add(o, "user", json_object_new_string(c->user));
        json_object_object_add(o, "nodeUids", json_object_new_int64((int64_t)c->node_uids));
        json_object_object_add(o, "nodeGids", json_object_new_int64((int64_t)c->node_gids));
        json_object_object_add(o, "kubeletIdsStart", json_object_new_int64(c->slice.start));
        json_object_object_add(o, "kubeletIdsCount", json_object_new_int64(c->slice.count));
        json_object_object_add(o, "idsPerPod", json_object_new_int64(POD_USERNS_IDS_PER_POD));
        json_object_object_add(o, "podsByIdCount", json_object_new_int64(c->pods_by_count));
        json_object_object_add(o, "fewerPodsWhy",
                               c->why_fewer ? json_object_new_string(c->why_fewer) : NULL);
        json_object_object_add(o, "maxPods", json_object_new_int64(c->max_pods));
        json_object_object_add(o, "idsMissing", json_object_new_int64((int64_t)c->ids_missing));
        json_object_object_add(o, "usermod", c->usermod ? json_object_new_string(c->usermod) : NULL);
        json_object_object_add(o, "getsubids", json_object_new_boolean(c->getsubids));
        json_object_object_add(o, "mapHelpers", json_object_new_boolean(c->map_helpers));
        char kernel[32];
        snprintf(kernel, sizeof(kernel), "%u.%u", c->kernel_major, c->kernel_minor);
        json_object_object_add(o, "kernel", json_object_new_string(kernel));
        json_object_object_add(o, "kernelIdmappedTmpfs", json_object_new_boolean(c->kernel_ok));
        return o;
}
