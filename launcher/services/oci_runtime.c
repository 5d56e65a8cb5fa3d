/* oci_runtime.c: the OCI runtime wrapper (see oci_runtime.h): command line, bundle rewrite,
 * oom_score_adj probe. Linked into the small wrapper binary (oci_runtime_main.c) and into usernode;
 * it needs nothing but libc and json-c. */
#include "launcher/services/oci_runtime.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/services/oci_spec_fixup.h"

/* config.json of a pod is a few dozen KiB; anything this big is not CRI-O's. */
#define SPEC_MAX_SIZE (8u * 1024 * 1024)

bool oci_runtime_wrapper_invoked(const char *argv0) {
        if (!argv0)
                return false;
        const char *slash = strrchr(argv0, '/');
        return strcmp(slash ? slash + 1 : argv0, OCI_RUNTIME_WRAPPER_NAME) == 0;
}

static bool word_in(const char *word, const char *const *list) {
        for (; *list; list++)
                if (strcmp(word, *list) == 0)
                        return true;
        return false;
}

int oci_runtime_parse_create(int argc, char **argv, const char **ret_bundle, const char **ret_id) {
        /* Global options of crun and runc that take a separate value. */
        static const char *const global_valued[] = {
                "--root", "--log", "--log-format", "--log-level", "--cgroup-manager", "--criu", NULL
        };
        static const char *const create_valued[] = { "--pid-file", "--console-socket", "--preserve-fds",
                                                     "--pidfd-socket", NULL };
        const char *bundle = ".", *id = NULL;
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++)
                if (word_in(argv[i], global_valued))
                        i++;
        if (i >= argc || (strcmp(argv[i], "create") != 0 && strcmp(argv[i], "run") != 0))
                return 0;
        for (i++; i < argc; i++) {
                const char *a = argv[i];
                if ((strcmp(a, "--bundle") == 0 || strcmp(a, "-b") == 0) && i + 1 < argc)
                        bundle = argv[++i];
                else if (strncmp(a, "--bundle=", 9) == 0)
                        bundle = a + 9;
                else if (strcmp(a, "--config") == 0 || strcmp(a, "-f") == 0 ||
                         strncmp(a, "--config=", 9) == 0)
                        return 0; /* a spec somewhere else: not CRI-O's way, left alone */
                else if (word_in(a, create_valued))
                        i++;
                else if (a[0] != '-')
                        id = a;
        }
        if (!id)
                return 0;
        *ret_bundle = bundle;
        *ret_id = id;
        return 1;
}

static int oom_score_read(int *ret) {
        char buf[32] = { 0 };
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EIO;
        char *end;
        long v = strtol(buf, &end, 10);
        if (end == buf || v < OOM_SCORE_MIN || v > OOM_SCORE_MAX)
                return -EIO;
        *ret = (int)v;
        return 0;
}

/* 1 set, 0 refused (EACCES, EPERM), or a negative errno. */
static int oom_score_try(int value) {
        char text[16];
        snprintf(text, sizeof(text), "%d", value);
        int r = write_string_file("/proc/self/oom_score_adj", text);
        if (r == -EACCES || r == -EPERM)
                return 0;
        return r < 0 ? r : 1;
}

int oom_score_lowest_allowed(int wanted, int *ret) {
        int current, r;

        if (wanted < OOM_SCORE_MIN || wanted > OOM_SCORE_MAX)
                return -EINVAL;
        r = oom_score_read(&current);
        if (r < 0)
                return r;
        /* Raising it is always allowed; lowering only down to the floor a privileged process set
         * (signal->oom_score_adj_min), which cannot be read: find it by bisection, <= 11 writes. */
        int lo = wanted, hi = current > wanted ? current : wanted;
        r = oom_score_try(lo);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = lo;
                return 0;
        }
        while (hi - lo > 1) {
                int mid = lo + (hi - lo) / 2;
                r = oom_score_try(mid);
                if (r < 0)
                        return r;
                if (r > 0)
                        hi = mid;
                else
                        lo = mid;
        }
        r = oom_score_try(hi);
        if (r <= 0)
                return r < 0 ? r : -EACCES;
        *ret = hi;
        return 0;
}

/* The file at `path` parsed as JSON, at most SPEC_MAX_SIZE bytes. */
static int json_read(const char *path, json_object **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SPEC_MAX_SIZE)
                return -EFBIG;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                len += (size_t)n;
        }
        buf[len] = '\0';
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
        bool complete = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!obj || !complete || !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return -EBADMSG;
        }
        *ret = obj;
        return 0;
}

/* Replaces `path` with the JSON text of obj (a new file renamed over it, same mode). */
static int json_write_replace(const char *path, json_object *obj) {
        _cleanup_free_ char *tmp = NULL;
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (asprintf(&tmp, "%s.usernode-tmp", path) < 0)
                return -ENOMEM;
        const char *text =
                json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        (void)unlink(tmp);
        _cleanup_close_ int fd =
                open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777);
        if (fd < 0)
                return negative_errno();
        int r = fd_write_all(fd, text, strlen(text));
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = negative_errno();
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

/* The pod's cgroup for a container of it: the CgroupParent annotation of the sandbox's own
 * config.json, which containers/storage keeps beside the container's (RUNROOT/
 * overlay-containers/ID/userdata is the bundle). NULL in *ret when it cannot be found. */
static int sandbox_cgroup_parent(const char *bundle, const char *id, const char *sandbox_id, char **ret) {
        _cleanup_free_ char *copy = NULL, *path = NULL;
        json_object *sandbox = NULL;
        size_t n;

        *ret = NULL;
        if (!sandbox_id || !sandbox_id[0] || strchr(sandbox_id, '/') || strcmp(sandbox_id, "..") == 0 ||
            strcmp(sandbox_id, ".") == 0)
                return 0;
        copy = strdup(bundle);
        if (!copy)
                return -ENOMEM;
        n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        char *userdata = strrchr(copy, '/');
        if (!userdata || strcmp(userdata + 1, "userdata") != 0)
                return 0;
        *userdata = '\0';
        char *own = strrchr(copy, '/');
        if (!own || strcmp(own + 1, id) != 0)
                return 0;
        *own = '\0';
        if (asprintf(&path, "%s/%s/userdata/config.json", copy, sandbox_id) < 0)
                return -ENOMEM;
        if (json_read(path, &sandbox) < 0)
                return 0;
        const char *parent = oci_spec_annotation(sandbox, CRIO_ANNOTATION_CGROUP_PARENT);
        if (parent && parent[0] && !(*ret = strdup(parent))) {
                json_object_put(sandbox);
                return -ENOMEM;
        }
        json_object_put(sandbox);
        return 0;
}

static int bundle_fixup(const char *bundle, const char *id) {
        _cleanup_free_ char *path = NULL, *parent = NULL;
        json_object *spec = NULL, *process, *old;
        bool changed;
        int r, wanted;

        if (asprintf(&path, "%s/config.json", bundle) < 0)
                return log_error_errno(ENOMEM, "%m");
        r = json_read(path, &spec);
        if (r < 0)
                return log_error_errno(r, "cannot read the container's spec %s: %m", path);

        bool sandbox = oci_spec_is_sandbox(spec);
        if (sandbox) {
                const char *p = oci_spec_annotation(spec, CRIO_ANNOTATION_CGROUP_PARENT);
                if (p && p[0] && !(parent = strdup(p)))
                        r = -ENOMEM;
        } else
                r = sandbox_cgroup_parent(bundle, id, oci_spec_annotation(spec, CRIO_ANNOTATION_SANDBOX_ID),
                                          &parent);
        if (r < 0) {
                json_object_put(spec);
                return log_error_errno(r, "%m");
        }
        if (parent && !oci_cgroup_parent_valid(parent)) {
                log_debug("cgroup parent \"%s\" is not a cgroupfs path; left alone", parent);
                free(TAKE_PTR(parent));
        }

        struct oci_fixup fix = { .container_id = id, .cgroup_parent = parent };
        bool have = json_object_object_get_ex(spec, "process", &process) &&
                    json_object_object_get_ex(process, "oomScoreAdj", &old) &&
                    json_object_is_type(old, json_type_int);
        if (have)
                wanted = json_object_get_int(old);
        else
                have = oci_qos_oom_score(parent, sandbox, &wanted) > 0;
        if (have && wanted >= OOM_SCORE_MIN && wanted <= OOM_SCORE_MAX &&
            oom_score_lowest_allowed(wanted, &fix.oom_score) >= 0)
                fix.have_oom_score = true;

        r = oci_spec_fixup(spec, &fix, &changed);
        if (r >= 0 && changed)
                r = json_write_replace(path, spec);
        json_object_put(spec);
        if (r < 0)
                return log_error_errno(r, "cannot rewrite the container's spec %s: %m", path);
        return 0;
}

int oci_runtime_wrapper_main(int argc, char **argv) {
        _cleanup_free_ char *link = NULL, *real = NULL;
        const char *bundle, *id;

        log_set_prefix(OCI_RUNTIME_WRAPPER_NAME);
        const char *slash = strrchr(argv[0], '/');
        if (!slash) {
                log_error("run me by my path (STATE/%s/%s), as crio.conf's runtime_path does",
                          OCI_RUNTIME_DIR, OCI_RUNTIME_WRAPPER_NAME);
                return EXIT_RUNTIME;
        }
        if (asprintf(&link, "%.*s/runtime", (int)(slash - argv[0]), argv[0]) < 0) {
                log_error_errno(ENOMEM, "%m");
                return EXIT_RUNTIME;
        }
        real = realpath(link, NULL);
        if (!real) {
                log_error_errno(errno, "cannot resolve the real OCI runtime %s: %m", link);
                return 127;
        }
        if (oci_runtime_parse_create(argc, argv, &bundle, &id) > 0 && bundle_fixup(bundle, id) < 0)
                return EXIT_RUNTIME;
        argv[0] = real;
        execv(real, argv);
        log_error_errno(errno, "cannot execute the OCI runtime %s: %m", real);
        return 127;
}
