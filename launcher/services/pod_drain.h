/* pod_drain.h: stopping the node's containers the way kubelet would, before crio is stopped.
 *
 * CRI-O leaves containers running when it gets SIGTERM (conmon keeps them), and kubelet does not
 * stop pods when it exits; without this step the node's cgroup.kill would SIGKILL every
 * container with no grace period at all. So when the node stops, after kubelet and before crio,
 * the supervisor runs pod_drain(): every running container is stopped over CRI with crictl
 * (`crictl stop --timeout GRACE`, all at once: CRI-O sends the image's stop signal, SIGTERM by
 * default, and SIGKILL after GRACE), GRACE being the pod's terminationGracePeriodSeconds (the
 * annotation kubelet sets on each container) bounded by [crio] pod_grace_max; then every pod
 * sandbox is removed (`crictl rmp --all --force`), which tears down its network. */
#pragma once

#include <stddef.h>

#include "launcher/services/node_settings.h"

/* kubelet's annotation on each container (pkg/kubelet/kuberuntime/labels.go). */
#define POD_GRACE_ANNOTATION "io.kubernetes.pod.terminationGracePeriod"
/* kubelet's default terminationGracePeriodSeconds, for a container without the annotation. */
#define POD_GRACE_DEFAULT_SEC 30u

struct drain_item {
        char id[129];
        unsigned grace_sec;
};

/* The running containers of `crictl ps -o json` output, each with its grace period bounded by
 * grace_max_sec. Returns 0 (*ret may be NULL when there are none), -EBADMSG or -ENOMEM. */
int pod_drain_parse_containers(const char *json, unsigned grace_max_sec, struct drain_item **ret, size_t *n);

/* The drain itself, over `endpoint` (unix://...), with `crictl` (a path or a name on PATH).
 * Blocks until every stop returned. crictl missing: a warning and 0 (the node is killed as
 * before). Returns 0 or a negative errno, logged. */
int pod_drain(const char *crictl, const char *endpoint, usec_t grace_max);
