/* cgroup_decide.c: the delegation decision (see cgroup_decide.h). */
#include "cgroup/cgroup_decide.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/macro.h"

void cgroup_decision_done(struct cgroup_decision *d) {
        free(d->reason);
        *d = (struct cgroup_decision){};
}

static int degraded(struct cgroup_decision *ret, const char *format, ...) _printf_(2, 3);
static int degraded(struct cgroup_decision *ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&ret->reason, format, ap);
        va_end(ap);
        if (r < 0) {
                ret->reason = NULL;
                return -ENOMEM;
        }
        ret->delegation = CGROUP_DELEGATION_NONE;
        return 0;
}

/* The own cgroup can be used as is: it is ours, and systemd (if any) handed it over on purpose.
 * A cgroup owned by us under the user manager without Delegate=yes is systemd's to manage, not ours. */
static bool own_usable(const struct cgroup_discovery *found, enum cgroup_own_unit own_unit) {
        return found->own_writable && own_unit != CGROUP_OWN_UNIT_PLAIN;
}

int cgroup_decide(const struct cgroup_options *options, const struct cgroup_discovery *found,
                  bool systemd_reachable, enum cgroup_own_unit own_unit, struct cgroup_decision *ret) {
        assert(options);
        assert(found);
        assert(ret);

        *ret = (struct cgroup_decision){};

        if (options->mode == CGROUP_MODE_NONE)
                return degraded(ret, "disabled by [cgroup] delegate = none");

        switch (found->layout) {
        case CGROUP_LAYOUT_NONE:
                return degraded(ret, "no cgroup file system is mounted");
        case CGROUP_LAYOUT_LEGACY:
                return degraded(ret, "cgroup v2 is not mounted: cgroup v1 host");
        case CGROUP_LAYOUT_HYBRID:
                return degraded(ret, "cgroup v2 is not mounted: hybrid host");
        case CGROUP_LAYOUT_UNIFIED:
                break;
        }

        switch (options->mode) {
        case CGROUP_MODE_EXISTING:
                if (own_usable(found, own_unit)) {
                        ret->delegation = CGROUP_DELEGATION_EXISTING;
                        return 0;
                }
                return degraded(
                        ret, "%s is not delegated to this user (run usernode in a unit with Delegate=yes)",
                        found->own);
        case CGROUP_MODE_SYSTEMD:
                if (systemd_reachable) {
                        ret->delegation = CGROUP_DELEGATION_SYSTEMD;
                        return 0;
                }
                return degraded(ret, "no systemd user manager is reachable (is XDG_RUNTIME_DIR set and "
                                     "user@UID.service running?)");
        case CGROUP_MODE_AUTO:
                if (own_usable(found, own_unit)) {
                        ret->delegation = CGROUP_DELEGATION_EXISTING;
                        return 0;
                }
                if (systemd_reachable) {
                        ret->delegation = CGROUP_DELEGATION_SYSTEMD;
                        return 0;
                }
                return degraded(ret,
                                "%s is not delegated to this user and no systemd user manager is reachable",
                                found->own);
        default:
                assert(!"unreachable cgroup mode");
                return -EINVAL;
        }
}
