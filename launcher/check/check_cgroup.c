/* check_cgroup.c: cgroup v2, the user's systemd (for a delegated scope) and linger, the
 * controllers systemd delegates to users. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_fs.h"
#include "cgroup/cgroup_node.h"
#include "cgroup/delegate_systemd.h"
#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/check/check_decide.h"

static bool cgroup_required(const struct check_context *ctx) {
        return config_get_bool(ctx->config, "cgroup", "require");
}

/* Without cgroups the node runs in a degraded mode (no limits), unless [cgroup] require = true. */
static void degraded_if(bool required, struct check_result *r, const char *fix, const char *what) {
        if (required)
                check_fail(r, fix, "%s, and [cgroup] require = true", what);
        else
                check_warn(r, fix, "%s: the node runs without resource limits", what);
}

static void degraded(const struct check_context *ctx, struct check_result *r, const char *fix,
                     const char *what) {
        degraded_if(cgroup_required(ctx), r, fix, what);
}

static void check_cgroup_v2(const struct check_context *ctx, struct check_result *r) {
        struct cgroup_host host = cgroup_host_real();
        struct cgroup_discovery found = {};
        int rc = cgroup_discover(&host, &found);
        enum cgroup_layout layout = found.layout;
        cgroup_discovery_done(&found);
        if (rc < 0)
                return degraded(ctx, r, "boot with systemd.unified_cgroup_hierarchy=1",
                                "cannot read the cgroups");
        if (layout == CGROUP_LAYOUT_UNIFIED)
                return check_pass(r, "cgroup v2 (unified) at /sys/fs/cgroup");
        degraded(ctx, r, "boot with systemd.unified_cgroup_hierarchy=1 (the default of systemd >= 247)",
                 layout == CGROUP_LAYOUT_HYBRID ? "hybrid cgroups: cgroup v2 holds no controllers"
                                                : "no cgroup v2");
}

static void check_user_systemd(const struct check_context *ctx, struct check_result *r) {
        sd_bus *bus = NULL;
        int rc = delegate_systemd_connect(&bus);
        delegate_systemd_disconnect(bus);
        if (rc >= 0)
                return check_pass(r, "the user's systemd answers on its bus");
        degraded(ctx, r,
                 "log in through a session that starts systemd --user (ssh, a desktop, or "
                 "'machinectl shell USER@'), with XDG_RUNTIME_DIR set",
                 "no systemd user manager answers, so no delegated cgroup scope");
}

static void check_linger(const struct check_context *ctx, struct check_result *r) {
        char path[512], fix[CHECK_TEXT_MAX];
        snprintf(path, sizeof(path), "/var/lib/systemd/linger/%s", ctx->user);
        if (access(path, F_OK) == 0)
                return check_pass(r, "enabled: the user's systemd and the node outlive the login");
        snprintf(fix, sizeof(fix), "sudo loginctl enable-linger %s", ctx->user);
        check_warn(r, fix, "off: the user's systemd, and a node it runs, stop at logout");
}

void check_controllers_decide(const char *controllers, bool required, struct check_result *r) {
        _cleanup_free_ char *missing = NULL;
        if (!controllers)
                return degraded_if(required, r, "run usernode under the user's systemd (a login session)",
                                   "no cgroup of the user's systemd (user@UID.service) to read");
        if (cgroup_list_missing(controllers, CGROUP_WANTED_CONTROLLERS, &missing) < 0)
                return check_fail(r, "", "out of memory");
        if (!*missing)
                return check_pass(r, "%s delegated", CGROUP_WANTED_CONTROLLERS);
        char what[CHECK_TEXT_MAX];
        snprintf(what, sizeof(what), "%s not delegated to the user (kubelet enforces limits with them)",
                 missing);
        degraded_if(required, r,
                    "as root: mkdir -p " CGROUP_DROPIN_DIR
                    " && printf '[Service]\\nDelegate=" CGROUP_WANTED_CONTROLLERS
                    "\\n' > " CGROUP_DROPIN_PATH " && systemctl daemon-reload; then log in again",
                    what);
}

static void check_controllers(const struct check_context *ctx, struct check_result *r) {
        char dir[256];
        _cleanup_free_ char *controllers = NULL;
        /* What systemd delegates to the user's manager is what any node of the user can get. */
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/user.slice/user-%u.slice/user@%u.service",
                 (unsigned)ctx->uid, (unsigned)ctx->uid);
        if (cgroup_fs_read(dir, "cgroup.controllers", &controllers) < 0)
                controllers = NULL;
        check_controllers_decide(controllers, cgroup_required(ctx), r);
}

const struct check_def check_cgroup_defs[] = {
        { "cgroup_v2", "cgroup v2", check_cgroup_v2 },
        { "user_systemd", "user's systemd", check_user_systemd },
        { "linger", "linger", check_linger },
        { "cgroup_controllers", "delegated controllers", check_controllers },
};
const size_t check_cgroup_count = ELEMENTSOF(check_cgroup_defs);
