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
