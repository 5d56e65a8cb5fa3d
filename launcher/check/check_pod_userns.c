/* check_pod_userns.c: the `usernode check` line for pods with their own user namespace
 * (hostUsers: false): possible here or not, how many, and what to change (pod_userns_check.h). */
#include <inttypes.h>

#include "launcher/check/check.h"
#include "launcher/check/pod_userns_check.h"

static void check_pod_userns(const struct check_context *ctx, struct check_result *ret) {
        struct pod_userns_check c;
        char fix[CHECK_TEXT_MAX];

        if (pod_userns_check_run(ctx->config, &c) < 0) {
                check_warn(ret, "", "could not be checked (out of memory)");
                return;
        }
        if (!c.kernel_ok)
                snprintf(fix, sizeof(fix), "a kernel %d.%d or newer (idmapped mounts of tmpfs)",
                         POD_USERNS_KERNEL_MAJOR, POD_USERNS_KERNEL_MINOR);
        else if (c.usermod)
                snprintf(fix, sizeof(fix), "%s", c.usermod);
        else if (!c.getsubids)
                snprintf(fix, sizeof(fix), "install getsubids (Debian/Ubuntu package uidmap)");
        else
                fix[0] = '\0';

        if (c.run_stops)
                check_fail(ret, fix,
                           "[kubelet] max_pods = %" PRIu32 " does not fit the subordinate ids: %" PRIu64
                           " more needed",
                           c.max_pods_configured, c.ids_missing);
        else if (!c.possible)
                check_warn(ret, fix, "not possible here: pods run in the node's own user namespace%s%s",
                           c.why_fewer ? "; " : "", c.why_fewer ?: "");
        else if (fix[0])
                check_warn(ret, fix,
                           "%" PRIu32 " pods can have their own (110 want %" PRIu64 " more ids%s%s)",
                           c.max_pods, c.ids_missing, c.why_fewer ? "; " : "", c.why_fewer ?: "");
        else
                check_pass(ret, "%" PRIu32 " pods can have their own", c.max_pods);
        pod_userns_check_done(&c);
}

const struct check_def check_pod_userns_defs[] = {
        { "pod_userns", "pods with own userns", check_pod_userns },
};
const size_t check_pod_userns_count = ELEMENTSOF(check_pod_userns_defs);
