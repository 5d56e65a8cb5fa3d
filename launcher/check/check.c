/* check.c: the table of all checks and their results. */
#include "launcher/check/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/check/check_decide.h"
#include "launcher/services/host_tools.h"

static void set(struct check_result *r, enum check_state state, const char *fix, const char *format,
                va_list ap) {
        r->state = state;
        vsnprintf(r->detail, sizeof(r->detail), format, ap);
        snprintf(r->fix, sizeof(r->fix), "%s", fix ? fix : "");
}

void check_pass(struct check_result *r, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        set(r, CHECK_PASS, NULL, format, ap);
        va_end(ap);
}

void check_warn(struct check_result *r, const char *fix, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        set(r, CHECK_WARN, fix, format, ap);
        va_end(ap);
}

void check_fail(struct check_result *r, const char *fix, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        set(r, CHECK_FAIL, fix, format, ap);
        va_end(ap);
}

const char *check_state_to_string(enum check_state state) {
        static const char *const names[] = {
                [CHECK_PASS] = "pass", [CHECK_WARN] = "warn", [CHECK_FAIL] = "fail"
        };
        return names[state];
}

/* One entry per concern; a new concern adds its table here. */
static const struct {
        const struct check_def *defs;
        const size_t *count;
} groups[] = {
        { check_kernel_defs, &check_kernel_count },         { check_ids_defs, &check_ids_count },
        { check_cgroup_defs, &check_cgroup_count },         { check_tools_defs, &check_tools_count },
        { check_pod_userns_defs, &check_pod_userns_count },
};

size_t check_all_count(void) {
        size_t n = 0;
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                n += *groups[g].count;
        return n;
}

const struct check_def *check_all_def(size_t i) {
        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                if (i < *groups[g].count)
                        return &groups[g].defs[i];
                i -= *groups[g].count;
        }
        return NULL;
}

void check_all(const struct check_context *ctx, struct check_result *ret) {
        for (size_t i = 0; i < check_all_count(); i++) {
                ret[i] = (struct check_result){};
                check_all_def(i)->run(ctx, &ret[i]);
        }
}

/* crio's and kubelet's versions asked at once (kept in DATA/tool-versions), before the checks
 * read them one by one: each is a Go program, over a second to start under emulation. */
static void run_tools_versions(const struct node_settings *s) {
        _cleanup_free_ char *crio = NULL, *kubelet = NULL;
        struct binary_version_answer got[2];
        if (find_executable(s->crio_path, &crio) < 0 || find_executable(s->kubelet_path, &kubelet) < 0)
                return; /* the checks name what is missing */
        const char *paths[] = { crio, kubelet };
        binary_versions_cached(s->data_dir, paths, ELEMENTSOF(paths), got);
}

int check_run_tools(const struct check_context *run_ctx) {
        char message[8 * CHECK_TEXT_MAX] = "";
        size_t used = 0, failed = 0;
        struct check_context c = *run_ctx;
        const struct check_context *ctx = &c;

        c.for_run = true;
        run_tools_versions(c.settings);
        for (size_t i = 0; i < check_tools_count; i++) {
                struct check_result r = {};
                check_tools_defs[i].run(ctx, &r);
                /* Warnings (no CNI plugin, no skopeo) are `usernode check`'s, not every run's. */
                if (r.state != CHECK_FAIL)
                        continue;
                failed++;
                if (used < sizeof(message))
                        used += (size_t)snprintf(message + used, sizeof(message) - used, "%s%s (%s: %s)",
                                                 failed > 1 ? "; " : "", r.detail, check_tools_defs[i].title,
                                                 r.fix);
        }
        if (failed == 0)
                return 0;
        log_error("the node cannot start, %zu program%s missing or too old: %s (looked in PATH=%s); "
                  "'usernode check' lists every requirement",
                  failed, failed > 1 ? "s are" : " is", message, getenv("PATH") ?: "");
        return -ENOENT;
}

int check_run_tun(void) {
        struct check_result r = {};
        check_tun_decide(check_tun_open(), "slirp", &r);
        if (r.state != CHECK_FAIL)
                return 0;
        log_error("%s; %s", r.detail, r.fix);
        return -ENODEV;
}

int check_run_userns(void) {
        char label[256];
        struct userns_facts facts;
        struct check_result r = {};

        check_userns_read("/proc/sys", label, sizeof(label), &facts);
        if (facts.privileged)
                log_warning("running as root: usernode is meant for ordinary users; the node gets "
                            "root's subordinate ids, if any, and no more isolation than a user's node");
        check_userns_decide(&facts, &r);
        if (r.state != CHECK_FAIL)
                return 0;
        log_error("the node cannot start, user namespaces are %s; fix: %s", r.detail, r.fix);
        return -EPERM;
}
