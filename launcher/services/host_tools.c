/* host_tools.c: finding crio, kubelet and their helpers, and testing native overlayfs. */
#include "launcher/services/host_tools.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/services/tool_versions.h"

int find_executable(const char *name, char **ret) {
        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return -ENOENT;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        const char *path = getenv("PATH");
        if (!path)
                path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *candidate = NULL;
                if (n > 0 && asprintf(&candidate, "%.*s/%s", (int)n, p, name) < 0)
                        return -ENOMEM;
                struct stat st;
                if (candidate && stat(candidate, &st) == 0 && S_ISREG(st.st_mode) &&
                    access(candidate, X_OK) == 0) {
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

/* `path --version` running, its output on fd. */
struct version_probe {
        pid_t pid;
        int fd;
};

static int version_probe_start(const char *path, struct version_probe *ret) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                dup2(fds[1], STDOUT_FILENO);
                dup2(fds[1], STDERR_FILENO);
                execl(path, path, "--version", (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        *ret = (struct version_probe){ .pid = pid, .fd = fds[0] };
        return 0;
}

/* Collect the probe's output and exit, and find the first "MAJOR.MINOR" in the output. */
static int version_probe_finish(struct version_probe *probe, unsigned *major, unsigned *minor) {
        char out[4096];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(out) - 1 && (n = read(probe->fd, out + len, sizeof(out) - 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                len += (size_t)n;
        }
        out[len] = '\0';
        close(probe->fd);
        while (waitpid(probe->pid, NULL, 0) < 0 && errno == EINTR)
                ;

        for (const char *p = out; *p; p++) {
                unsigned a, b;
                int used = 0;
                if (*p >= '0' && *p <= '9' && (p == out || p[-1] < '0' || p[-1] > '9') &&
                    sscanf(p, "%u.%u%n", &a, &b, &used) == 2 && used > 0) {
                        *major = a;
                        *minor = b;
                        return 0;
                }
        }
        return -ENOEXEC;
}

int binary_version(const char *path, unsigned *major, unsigned *minor) {
        struct version_probe probe;
        int r = version_probe_start(path, &probe);
        return r < 0 ? r : version_probe_finish(&probe, major, minor);
}

static int remove_tree_at(int parent, const char *name) {
        _cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* The kernel leaves workdir/work mode 000, which even its owner cannot open: make it
         * readable first (it used to stay behind in the probe's DATA/.overlay-probe-XXXXXX). */
        if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                fchmod(fd, 0700);
                DIR *d = fdopendir(fd);
                if (d) {
                        fd = -EBADF;
                        struct dirent *de;
                        while ((de = readdir(d)))
                                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                        remove_tree_at(dirfd(d), de->d_name);
                        closedir(d);
                }
                return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
        }
        return unlinkat(parent, name, 0) < 0 ? -errno : 0;
}

/* In a child: a user namespace mapping only our own uid/gid to root, a mount namespace, and one
 * overlay mount of the layers below `base`. Exit status 0 when the mount worked. */
static _noreturn_ void overlay_try_child(const char *base) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64], lower[4096], options[16384], merged[4096];

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                _exit(2);
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        if (write_string_file("/proc/self/uid_map", map) < 0)
                _exit(2);
        (void)write_string_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        if (write_string_file("/proc/self/gid_map", map) < 0)
                _exit(2);
        if (snprintf(lower, sizeof(lower), "%s/lower", base) >= (int)sizeof(lower) ||
            snprintf(merged, sizeof(merged), "%s/merged", base) >= (int)sizeof(merged) ||
            snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, base,
                     base) >= (int)sizeof(options))
                _exit(2);
        if (mount("overlay", merged, "overlay", 0, options) < 0)
                _exit(1);
        /* A write through the mount proves copy-up works, not just the mount call. */
        char file[4200];
        snprintf(file, sizeof(file), "%s/probe", merged);
        int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        _exit(fd >= 0 ? 0 : 1);
}

int overlay_native_works(const char *dir) {
        _cleanup_free_ char *base = NULL;
        static const char *const layers[] = { "lower", "upper", "work", "merged" };

        /* The probe runs where the images will live: create the data dir if this is its first run. */
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
                if (slash)
                        *slash = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                if (!slash)
                        break;
                *slash = '/';
        }
        if (asprintf(&base, "%s/.overlay-probe-XXXXXX", dir) < 0)
                return -ENOMEM;
        if (!mkdtemp(base))
                return -errno;
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(layers) && r == 0; i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", base, layers[i]) < 0 || mkdir(p, 0700) < 0)
                        r = -errno;
        }
        if (r == 0) {
                pid_t pid = fork();
                if (pid < 0)
                        r = -errno;
                else if (pid == 0)
                        overlay_try_child(base);
                else {
                        int status;
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
                                r = -EPERM; /* no user namespace: the node could not run anyway */
                        else
                                r = WEXITSTATUS(status) == 0;
                }
        }
        remove_tree_at(AT_FDCWD, base);
        return r;
}

static int require_binary(const char *what, const char *name, char **ret) {
        int r = find_executable(name, ret);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: \"%s\" not found (looked in %s); install it or set its path in the "
                                          "node's INI file",
                                       what, name, strchr(name, '/') ? name : getenv("PATH") ?: "the default PATH");
        return r;
}

void binary_versions_cached(const char *data_dir, const char *const *paths, size_t n,
                            struct binary_version_answer *ret) {
        _cleanup_free_ char *cache = NULL;
        struct version_probe probes[BINARY_VERSIONS_MAX];
        bool started[BINARY_VERSIONS_MAX] = {};

        if (data_dir && asprintf(&cache, "%s/tool-versions", data_dir) < 0)
                cache = NULL; /* no memory for the name: ask them all */
        n = n < BINARY_VERSIONS_MAX ? n : BINARY_VERSIONS_MAX;
        /* All started before any is waited for: each is a process start, often tens of ms, over
         * a second for a Go program under emulation. */
        for (size_t i = 0; i < n; i++) {
                ret[i] = (struct binary_version_answer){};
                if (cache && tool_versions_get(cache, paths[i], &ret[i].major, &ret[i].minor) > 0)
                        ret[i].ok = true;
                else
                        started[i] = version_probe_start(paths[i], &probes[i]) >= 0;
        }
        /* The data dir is made here on a node's first run (0700, as the overlay probe makes it). */
        bool any = false;
        for (size_t i = 0; i < n; i++)
                any = any || started[i];
        if (cache && any && mkdir_p(data_dir, 0700) < 0) {
                free(cache);
                cache = NULL;
        }
        for (size_t i = 0; i < n; i++) {
                if (!started[i])
                        continue;
                ret[i].ok = version_probe_finish(&probes[i], &ret[i].major, &ret[i].minor) >= 0;
                if (ret[i].ok && cache)
                        (void)tool_versions_put(cache, paths[i], ret[i].major, ret[i].minor);
        }
}

/* Both versions at once, or from DATA/tool-versions when the binaries did not change. */
static int require_versions(const struct host_tools *t, const char *data_dir) {
        static const struct {
                const char *what;
                unsigned min_major, min_minor;
        } want[] = {
                { "crio", CRIO_MIN_VERSION_MAJOR, CRIO_MIN_VERSION_MINOR },
                { "kubelet", KUBELET_MIN_VERSION_MAJOR, KUBELET_MIN_VERSION_MINOR },
        };
        const char *paths[] = { t->crio, t->kubelet };
        struct binary_version_answer got[ELEMENTSOF(paths)];
        int r = 0;

        binary_versions_cached(data_dir, paths, ELEMENTSOF(paths), got);
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                if (!got[i].ok)
                        r = log_error_errno(EPROTONOSUPPORT,
                                            "%s: cannot read the version of %s from '%s --version'",
                                            want[i].what, paths[i], paths[i]);
                else if (got[i].major < want[i].min_major ||
                         (got[i].major == want[i].min_major && got[i].minor < want[i].min_minor))
                        r = log_error_errno(EPROTONOSUPPORT,
                                            "%s: %s is version %u.%u, usernode needs %u.%u or newer",
                                            want[i].what, paths[i], got[i].major, got[i].minor,
                                            want[i].min_major, want[i].min_minor);
        }
        return r;
}

int host_tools_find(const struct node_settings *s, struct host_tools *ret) {
        struct host_tools t = {};
        int r;

        r = require_binary("crio", s->crio_path, &t.crio);
        if (r >= 0)
                r = require_binary("kubelet", s->kubelet_path, &t.kubelet);
        if (r >= 0 && s->kube_proxy_enabled)
                r = require_binary("kube-proxy", s->kube_proxy_path, &t.kube_proxy);
        if (r >= 0)
                r = require_versions(&t, s->data_dir);
        if (r >= 0)
                r = require_binary("conmon (CRI-O's container monitor)", "conmon", &t.conmon);
        if (r >= 0)
                r = require_binary("pinns (CRI-O's namespace pinner)", "pinns", &t.pinns);
        if (r >= 0) {
                const char *wanted = strcmp(s->crio_runtime, "auto") == 0 ? NULL : s->crio_runtime;
                if (wanted) {
                        r = require_binary("OCI runtime", wanted, &t.runtime_path);
                } else if (find_executable("crun", &t.runtime_path) < 0) {
                        wanted = "runc";
                        r = find_executable("runc", &t.runtime_path);
                        if (r == -ENOENT)
                                log_error("OCI runtime: neither crun nor runc found (looked in %s); install "
                                          "crun",
                                          getenv("PATH") ?: "the default PATH");
                } else
                        wanted = "crun";
                if (r >= 0) {
                        const char *base = strrchr(wanted, '/');
                        t.runtime_name = strdup(base ? base + 1 : wanted);
                        if (!t.runtime_name)
                                r = -ENOMEM;
                }
        }
        if (r >= 0)
                r = host_tools_detect_storage(s, &t);
        if (r >= 0)
                r = host_tools_find_cni(&t);
        if (r < 0) {
                host_tools_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int host_tools_detect_storage(const struct node_settings *s, struct host_tools *t) {
        int r = overlay_native_works(s->data_dir);
        if (r < 0)
                return log_error_errno(r, "storage: cannot test overlayfs in a user namespace on %s: %m",
                                       s->data_dir);
        t->native_overlay = r > 0;
        if (t->native_overlay)
                return 0;
        r = find_executable("fuse-overlayfs", &t->fuse_overlayfs);
        if (r == -ENOENT)
                return log_error_errno(r,
                                       "storage: overlayfs cannot be mounted in a user namespace on %s and "
                                       "fuse-overlayfs was not found (looked in %s); install fuse-overlayfs",
                                       s->data_dir, getenv("PATH") ?: "the default PATH");
        return r;
}

int host_tools_cni_plugin_dirs(const char *const *candidates, char ***ret) {
        size_t n = 0, max = 0;
        while (candidates[max])
                max++;
        _cleanup_strv_free_ char **dirs = calloc(max + 1, sizeof(char *));
        if (!dirs)
                return -ENOMEM;
        for (const char *const *c = candidates; *c; c++) {
                _cleanup_free_ char *bridge = NULL;
                if (asprintf(&bridge, "%s/bridge", *c) < 0)
                        return -ENOMEM;
                if (access(bridge, X_OK) < 0)
                        continue;
                dirs[n] = strdup(*c);
                if (!dirs[n])
                        return -ENOMEM;
                n++;
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

int host_tools_find_cni(struct host_tools *t) {
        static const char *const candidates[] = { "/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin", NULL };
        int r = host_tools_cni_plugin_dirs(candidates, &t->cni_plugin_dirs);
        if (r < 0)
                return log_error_errno(r, "CNI: cannot look for the plugins: %m");
        if (!t->cni_plugin_dirs[0])
                log_warning("CNI: no bridge plugin in /usr/lib/cni, /usr/libexec/cni or /opt/cni/bin; "
                            "pods get no network until containernetworking-plugins is installed");
        return 0;
}

void host_tools_done(struct host_tools *t) {
        free(t->crio);
        free(t->kubelet);
        free(t->kube_proxy);
        free(t->conmon);
        free(t->pinns);
        free(t->runtime_name);
        free(t->runtime_path);
        free(t->runtime_wrapper);
        free(t->fuse_overlayfs);
        strv_freep(&t->cni_plugin_dirs);
        *t = (struct host_tools){};
}
