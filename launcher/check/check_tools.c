/* check_tools.c: the programs a node runs, found the way `run` finds them, with their versions. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/check/check_decide.h"
#include "launcher/services/host_tools.h"

/* Where the user sets a program's path: the file --config named, or the node's own file. */
static void ini_of(const struct check_context *ctx, char *buf, size_t size) {
        if (ctx->settings->config_path)
                snprintf(buf, size, "%s", ctx->settings->config_path);
        else
                snprintf(buf, size, "%s/%s.ini", ctx->settings->config_dir, ctx->settings->node_name);
}

void check_version_decide(const char *path, bool have_version, unsigned major, unsigned minor,
                          unsigned min_major, unsigned min_minor, const char *fix, struct check_result *r) {
        if (!have_version) {
                if (min_major > 0)
                        return check_fail(r, fix, "%s: cannot read its version from '%s --version'", path,
                                          path);
                return check_pass(r, "%s", path);
        }
        if (major < min_major || (major == min_major && minor < min_minor))
                return check_fail(r, fix, "%s is %u.%u, older than %u.%u", path, major, minor, min_major,
                                  min_minor);
        check_pass(r, "%s %u.%u", path, major, minor);
}

/* NAME found (with a version of at least MIN_MAJOR.MIN_MINOR when MIN_MAJOR > 0)? */
static void check_program(const struct check_context *ctx, const char *name, unsigned min_major,
                          unsigned min_minor, const char *fix, struct check_result *r) {
        _cleanup_free_ char *path = NULL;
        unsigned major = 0, minor = 0;
        bool have_version;
        if (find_executable(name, &path) < 0)
                return check_fail(r, fix, "%s not found%s", name, strchr(name, '/') ? "" : " on PATH");
        if (ctx->for_run && min_major == 0)
                return check_pass(r, "%s", path); /* a run prints no version: start none */
        if (ctx->for_run) {
                struct binary_version_answer a;
                const char *paths[] = { path };
                binary_versions_cached(ctx->settings->data_dir, paths, 1, &a);
                have_version = a.ok;
                major = a.major;
                minor = a.minor;
        } else
                have_version = binary_version(path, &major, &minor) >= 0;
        check_version_decide(path, have_version, major, minor, min_major, min_minor, fix, r);
}

static void check_crio(const struct check_context *ctx, struct check_result *r) {
        char ini[512], fix[CHECK_TEXT_MAX];
        ini_of(ctx, ini, sizeof(ini));
        snprintf(fix, sizeof(fix),
                 "install CRI-O %d.%d or newer, or set [crio] path = /path/to/crio in %.380s",
                 CRIO_MIN_VERSION_MAJOR, CRIO_MIN_VERSION_MINOR, ini);
        check_program(ctx, ctx->settings->crio_path, CRIO_MIN_VERSION_MAJOR, CRIO_MIN_VERSION_MINOR, fix, r);
}

static void check_kubelet(const struct check_context *ctx, struct check_result *r) {
        char ini[512], fix[CHECK_TEXT_MAX];
        ini_of(ctx, ini, sizeof(ini));
        snprintf(fix, sizeof(fix),
                 "install kubelet %d.%d or newer, or set [kubelet] path = /path/to/kubelet in %.380s",
                 KUBELET_MIN_VERSION_MAJOR, KUBELET_MIN_VERSION_MINOR, ini);
        check_program(ctx, ctx->settings->kubelet_path, KUBELET_MIN_VERSION_MAJOR, KUBELET_MIN_VERSION_MINOR,
                      fix, r);
}

/* conmon and pinns have no key: CRI-O is told where they are from PATH. */
static void check_conmon(const struct check_context *ctx, struct check_result *r) {
        check_program(ctx, "conmon", 0, 0,
                      "sudo apt install conmon, or put the directory holding conmon on PATH", r);
}

static void check_pinns(const struct check_context *ctx, struct check_result *r) {
        check_program(ctx, "pinns", 0, 0,
                      "pinns comes with CRI-O (its release tarball's bin/): put that directory on PATH", r);
}

static void check_runtime(const struct check_context *ctx, struct check_result *r) {
        char ini[512], fix[CHECK_TEXT_MAX];
        const char *wanted = ctx->settings->crio_runtime;
        ini_of(ctx, ini, sizeof(ini));
        snprintf(fix, sizeof(fix), "sudo apt install crun, or set [crio] runtime = /path/to/crun in %.380s",
                 ini);
        if (strcmp(wanted, "auto") != 0)
                return check_program(ctx, wanted, 0, 0, fix, r);
        check_program(ctx, "crun", 0, 0, fix, r);
        if (r->state == CHECK_PASS)
                return;
        check_program(ctx, "runc", 0, 0, fix, r);
        if (r->state != CHECK_PASS)
                check_fail(r, fix, "neither crun nor runc found on PATH");
}

static void check_cni(const struct check_context *ctx, struct check_result *r) {
        static const char *const candidates[] = { "/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin", NULL };
        _cleanup_strv_free_ char **dirs = NULL;
        (void)ctx;
        if (host_tools_cni_plugin_dirs(candidates, &dirs) < 0)
                return check_fail(r, "", "out of memory");
        if (!dirs[0])
                return check_warn(r, "sudo apt install containernetworking-plugins",
                                  "no bridge plugin in /usr/lib/cni, /usr/libexec/cni or /opt/cni/bin: pods "
                                  "get no network");
        check_pass(r, "bridge plugin in %s", dirs[0]);
}

static void check_skopeo(const struct check_context *ctx, struct check_result *r) {
        check_program(ctx, "skopeo", 0, 0, "sudo apt install skopeo", r);
        if (r->state == CHECK_FAIL) /* only image copies need it */
                r->state = CHECK_WARN;
}

const struct check_def check_tools_defs[] = {
        { "crio", "CRI-O", check_crio },      { "kubelet", "kubelet", check_kubelet },
        { "conmon", "conmon", check_conmon }, { "oci_runtime", "OCI runtime", check_runtime },
        { "pinns", "pinns", check_pinns },    { "cni_plugins", "CNI plugins", check_cni },
        { "skopeo", "skopeo", check_skopeo },
};
const size_t check_tools_count = ELEMENTSOF(check_tools_defs);
