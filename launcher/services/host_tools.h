/* host_tools.h: the programs a node runs, found on the host, and what its kernel allows.
 *
 * Everything here is detected, never assumed: binaries are looked up on PATH, versions are asked
 * from the binaries, and native overlayfs is tried in a throwaway user namespace on the data dir's
 * own file system. */
#pragma once

#include <stdbool.h>

#include "launcher/services/node_settings.h"

struct host_tools {
        char *crio;
        char *kubelet;
        char *kube_proxy; /* NULL unless [kube-proxy] enabled */
        char *conmon;
        char *pinns;
        char *runtime_name; /* "crun" or "runc" */
        char *runtime_path;
        char *runtime_wrapper; /* STATE/oci-runtime/usernode-oci-runtime, crio's runtime_path; NULL: none */
        char *fuse_overlayfs; /* NULL when native overlay works */
        bool native_overlay;
        char **cni_plugin_dirs; /* NULL-terminated; only directories holding the bridge plugin */
};

/* Minimum versions: kubelet's --config-dir (drop-ins) is 1.28; CRI-O follows kubelet's minor. */
#define CRIO_MIN_VERSION_MAJOR 1
#define CRIO_MIN_VERSION_MINOR 28
#define KUBELET_MIN_VERSION_MAJOR 1
#define KUBELET_MIN_VERSION_MINOR 28

/* An absolute path for `name`: itself when it contains '/', else the first executable match in
 * $PATH. Returns 0, -ENOENT, or -ENOMEM. */
int find_executable(const char *name, char **ret);

/* Run `path --version` and find the first "MAJOR.MINOR" in its output. Returns 0, -ENOEXEC when
 * no version could be read, or another negative errno. */
int binary_version(const char *path, unsigned *major, unsigned *minor);

/* The versions of paths[0..n) (at most BINARY_VERSIONS_MAX): each from DATA/tool-versions
 * (data_dir NULL: none) when that binary did not change since, the others by running them all at
 * once with --version (their answers are then kept there). ret[i].ok is false where no version
 * could be read. */
#define BINARY_VERSIONS_MAX 8
struct binary_version_answer {
        bool ok;
        unsigned major, minor;
};
void binary_versions_cached(const char *data_dir, const char *const *paths, size_t n,
                            struct binary_version_answer *ret);

/* Can overlayfs be mounted, in a user namespace, with its layers under `dir`? Returns 1 yes,
 * 0 no, or a negative errno when the test itself could not run. */
int overlay_native_works(const char *dir);

/* The directories among `candidates` (NULL-terminated) that hold an executable CNI bridge
 * plugin, as a new NULL-terminated list (possibly empty). CRI-O creates every plugin_dirs entry
 * when it starts, which fails as root of a user namespace under a host-owned /opt or /usr/lib:
 * a directory that does not exist must never be rendered. Returns 0 or -ENOMEM. */
int host_tools_cni_plugin_dirs(const char *const *candidates, char ***ret);

/* host_tools_cni_plugin_dirs() on the usual places (/usr/lib/cni as Debian installs them,
 * /usr/libexec/cni, /opt/cni/bin) into t->cni_plugin_dirs; warns when none has the bridge
 * plugin (CRI-O still starts, pods get no network). Returns 0 or -ENOMEM. */
int host_tools_find_cni(struct host_tools *t);

/* Find everything the node's services need. Logs one line naming the binary and where it looked
 * and returns -ENOENT (missing) or -EPROTONOSUPPORT (too old) on failure; the caller exits
 * EXIT_HOST. */
int host_tools_find(const struct node_settings *s, struct host_tools *ret);
void host_tools_done(struct host_tools *t);

/* Only the storage part of host_tools_find(): native overlay on the data dir, else
 * fuse-overlayfs. Logs and returns -ENOENT when neither works. */
int host_tools_detect_storage(const struct node_settings *s, struct host_tools *t);
