/* oci_spec_fixup.h: what the node's OCI runtime wrapper changes in a bundle's config.json before
 * crun (or runc) creates the container.
 *
 * With _CRIO_ROOTLESS=1, CRI-O clears linux.cgroupsPath and process.oomScoreAdj of every container
 * (server/rootless_linux.go, makeOCIConfigurationRootless), so containers land at /<id> of the
 * node's cgroup tree, outside the pod cgroups kubelet made, and every container keeps the
 * oom_score_adj it inherits. The node's cgroup subtree is delegated, so both can be given back:
 * the cgroup path CRI-O's cgroupfs manager would have used (PARENT/crio-ID, PARENT being the pod's
 * cgroup from the sandbox's io.kubernetes.cri-o.CgroupParent annotation), and kubelet's
 * oom_score_adj for the pod's QoS class, raised to the lowest value the user namespace may set.
 * Pure functions on json-c objects: the unit tests feed them made-up specs. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

/* CRI-O's annotations (pkg/annotations in cri-o/cri-o). */
#define CRIO_ANNOTATION_CONTAINER_TYPE "io.kubernetes.cri-o.ContainerType"
#define CRIO_ANNOTATION_SANDBOX_ID "io.kubernetes.cri-o.SandboxID"
#define CRIO_ANNOTATION_CGROUP_PARENT "io.kubernetes.cri-o.CgroupParent"

/* kubelet's oom_score_adj per QoS class (pkg/kubelet/qos/policy.go) and for the infra container. */
#define OOM_SCORE_GUARANTEED (-997)
#define OOM_SCORE_BEST_EFFORT 1000
#define OOM_SCORE_POD_INFRA (-998)
#define OOM_SCORE_MIN (-1000)
#define OOM_SCORE_MAX 1000

/* annotations[key] of a spec as a string, or NULL. */
const char *oci_spec_annotation(json_object *spec, const char *key);

/* Whether the spec is a pod's sandbox (infra container) rather than one of its containers. */
bool oci_spec_is_sandbox(json_object *spec);

/* Whether `parent` is a cgroup path the wrapper may put a container under: absolute, made of
 * plain components (no "." or ".."), not a systemd slice, at most 4096 bytes. */
bool oci_cgroup_parent_valid(const char *parent);

/* The oom_score_adj kubelet gives a container of a pod whose cgroup is `parent` (cgroupfs
 * layout: ROOT/podUID is Guaranteed, ROOT/burstable/podUID and ROOT/besteffort/podUID the
 * others): OOM_SCORE_POD_INFRA for a sandbox, OOM_SCORE_GUARANTEED, OOM_SCORE_BEST_EFFORT.
 * Returns 1 and sets *ret, or 0 when unknown (Burstable: kubelet's score there depends on the
 * memory request, which the spec does not carry). */
int oci_qos_oom_score(const char *parent, bool sandbox, int *ret);

struct oci_fixup {
        const char *container_id;
        const char *cgroup_parent; /* the pod's cgroup; NULL or "": leave cgroupsPath alone */
        bool have_oom_score;
        int oom_score; /* the value to set, already raised to what the namespace allows */
};

/* Sets linux.cgroupsPath to PARENT/crio-ID when it is empty, and process.oomScoreAdj when
 * have_oom_score. *changed says whether anything was written. Returns 0, -EINVAL (not an OCI
 * spec: no "process" or "linux" object, or an invalid parent or id) or -ENOMEM. */
int oci_spec_fixup(json_object *spec, const struct oci_fixup *fix, bool *changed);
