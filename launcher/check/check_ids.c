/* check_ids.c: the subordinate ids a node maps, and the setuid helpers that map them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/check/check_decide.h"
#include "launcher/idmap.h"
#include "launcher/services/host_tools.h"

/* Pods' images hold ids up to 65535 (nobody is 65534): fewer and their files cannot be owned. */
#define SUBIDS_WANTED 65536

static void check_helper(const char *name, struct check_result *r) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (find_executable(name, &path) < 0)
                return check_fail(r, "sudo apt install uidmap (Fedora: shadow-utils)",
                                  "%s not found on PATH", name);
        if (stat(path, &st) < 0)
                return check_fail(r, "sudo apt install --reinstall uidmap", "%s: %m", path);
        bool setuid_root = (st.st_mode & S_ISUID) && st.st_uid == 0;
        bool has_caps = getxattr(path, "security.capability", NULL, 0) > 0;
        if (!setuid_root && !has_caps)
                return check_fail(
                        r,
                        "sudo apt install --reinstall uidmap (it must be setuid root or carry file "
                        "capabilities)",
                        "%s is neither setuid root nor has file capabilities", path);
        check_pass(r, "%s (%s)", path, setuid_root ? "setuid root" : "file capabilities");
}

static void check_newuidmap(const struct check_context *ctx, struct check_result *r) {
        (void)ctx;
        check_helper("newuidmap", r);
}

static void check_newgidmap(const struct check_context *ctx, struct check_result *r) {
        (void)ctx;
        check_helper("newgidmap", r);
}

bool check_subids_overlap(FILE *f, const char *user, uint32_t id, const struct id_range *ranges, int n,
                          char *who, size_t size) {
        char line[512], own_id[16];
        unsigned number = 0;
        snprintf(own_id, sizeof(own_id), "%" PRIu32, id);
        while (f && fgets(line, sizeof(line), f)) {
                char owner[256];
                uint64_t start, count;
                number++;
                if (sscanf(line, "%255[^:]:%" SCNu64 ":%" SCNu64, owner, &start, &count) != 3)
                        continue;
                if (strcmp(owner, user) == 0 || strcmp(owner, own_id) == 0)
                        continue;
                for (int i = 0; i < n; i++)
                        if (start < (uint64_t)ranges[i].start + ranges[i].count &&
                            ranges[i].start < start + count) {
                                snprintf(who, size, "%s (line %u)", owner, number);
                                return true;
                        }
        }
        return false;
}

void check_subids_decide(const char *user, const char *file, const char *flag, int n, uint64_t total,
                         const char *overlap, struct check_result *r) {
        char fix[CHECK_TEXT_MAX];
        snprintf(fix, sizeof(fix), "sudo usermod %s 100000-165535 %s (a range no other user has in %s)",
                 flag, user, file);
        if (n <= 0)
                return check_fail(r, fix, "no range for %s in %s: only the user's own id could be mapped",
                                  user, file);
        if (overlap)
                return check_warn(r, fix, "%s's ranges in %s overlap those of %s: their nodes share ids",
                                  user, file, overlap);
        if (total < SUBIDS_WANTED)
                return check_warn(r, fix, "%" PRIu64 " ids in %s; images with ids up to 65535 need %d",
                                  total, file, SUBIDS_WANTED);
        check_pass(r, "%" PRIu64 " ids in %d range%s of %s", total, n, n > 1 ? "s" : "", file);
}

static void check_subids(const struct check_context *ctx, enum id_kind kind, struct check_result *r) {
        const char *file = idmap_subid_file(kind);
        uint32_t id = kind == ID_KIND_UID ? ctx->uid : ctx->gid;
        _cleanup_free_ struct id_range *ranges = NULL;
        char who[300];
        uint64_t total = 0;

        int log_level = log_get_level();
        log_set_level(LOG_LEVEL_ERROR); /* malformed lines are named in the result, not as warnings */
        int n = idmap_lookup_subids(kind, ctx->user, id, &ranges);
        log_set_level(log_level);
        for (int i = 0; i < n; i++)
                total += ranges[i].count;
        _cleanup_fclose_ FILE *f = n > 0 ? fopen(file, "re") : NULL;
        bool overlap = f && check_subids_overlap(f, ctx->user, id, ranges, n, who, sizeof(who));
        check_subids_decide(ctx->user, file, kind == ID_KIND_UID ? "--add-subuids" : "--add-subgids", n,
                            total, overlap ? who : NULL, r);
}

static void check_subuid(const struct check_context *ctx, struct check_result *r) {
        check_subids(ctx, ID_KIND_UID, r);
}

static void check_subgid(const struct check_context *ctx, struct check_result *r) {
        check_subids(ctx, ID_KIND_GID, r);
}

const struct check_def check_ids_defs[] = {
        { "newuidmap", "newuidmap", check_newuidmap },
        { "newgidmap", "newgidmap", check_newgidmap },
        { "subuid", "subordinate uids", check_subuid },
        { "subgid", "subordinate gids", check_subgid },
};
const size_t check_ids_count = ELEMENTSOF(check_ids_defs);
