/* node_settings.h: what the node's services are made of, as plain data.
 *
 * Filled with the embedded defaults by node_settings_init(), then from the user's INI file
 * (sections [crio], [kubelet], [cni], [supervisor], [service:NAME]). Rendering and the
 * supervisor read only this struct, never the INI file itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/services/pod_userns.h"

typedef uint64_t usec_t;
#define USEC_PER_MSEC ((usec_t)1000)
#define USEC_PER_SEC ((usec_t)1000000)

enum restart_policy {
        RESTART_ALWAYS,
        RESTART_ON_FAILURE,
        RESTART_NEVER,
};

/* "always", "on-failure", "never"; NULL for an invalid value. */
const char *restart_policy_to_string(enum restart_policy p);
int restart_policy_from_string(const char *s, enum restart_policy *ret);

/* One [service:NAME] section: a service beyond crio and kubelet, e.g. kube-proxy. */
struct extra_service_settings {
        char *name;
        char *command; /* split like a shell would, without expansion of commands */
        char *environment; /* KEY=VALUE words */
        char *after; /* names of services that must be up first, space separated */
        enum restart_policy restart;
        usec_t stop_timeout;
};

struct node_settings {
        char *node_name;
        char *state_dir; /* $XDG_RUNTIME_DIR/usernode/NAME */
        char *data_dir; /* $XDG_DATA_HOME/usernode/NAME */
        char *config_path; /* the INI file given with --config; NULL: the node's default file */
        char *config_dir; /* $XDG_CONFIG_HOME/usernode */

        /* [crio] */
        char *crio_path; /* command name looked up on PATH, or an absolute path */
        char *crio_runtime; /* "auto", "crun" or "runc" */
        char *pause_image;
        char *search_registries; /* space separated */
        char *insecure_registries; /* space separated */
        usec_t crio_ready_timeout;
        enum restart_policy crio_restart;
        usec_t crio_stop_timeout;
        usec_t crio_pod_grace_max; /* node stop: each container's grace period, at most this */

        /* [kubelet] */
        char *kubelet_path;
        char *kubeconfig; /* empty: standalone, static pods only */
        char *static_pod_path;
        char *kubelet_dropin_dir;
        char *kubelet_local_storage; /* [kubelet] local_storage_isolation: auto, true or false */
        unsigned healthz_port;
        uint32_t max_pods; /* 0: auto, what the node's ids allow (launcher/services/pod_userns.h) */
        usec_t kubelet_ready_timeout;
        enum restart_policy kubelet_restart;
        usec_t kubelet_stop_timeout;

        /* [kube-proxy]: the optional built-in service */
        bool kube_proxy_enabled;
        char *kube_proxy_path;
        char *kube_proxy_kubeconfig; /* empty: the node's kubeconfig */
        unsigned kube_proxy_healthz_port;
        enum restart_policy kube_proxy_restart;
        usec_t kube_proxy_stop_timeout;

        /* [cluster]: clusterDNS and clusterDomain of the kubelet config when joined */
        char *cluster_dns; /* addresses separated by commas */
        char *cluster_domain;

        /* Set by the launcher after a join's discovery (launcher/cluster/); NULL when standalone or
         * with a ready [kubelet] kubeconfig. kubeconfig then names the file kubelet's TLS bootstrap
         * writes, in persistent data. */
        char *bootstrap_kubeconfig;
        char *cluster_ca_file; /* kubelet's clientCAFile: the API server's calls to 10250 */
        char *kubelet_cert_dir; /* --cert-dir in persistent data: a restarted node keeps its identity */
        char *kubelet_hostname; /* --hostname-override and the node's UTS hostname */
        char *kubelet_node_ip; /* --node-ip; the node init puts it on the uplink as a /32 */

        /* [cni] */
        char *cni_bridge;
        char *cni_subnet;
        bool cni_ip_masq;

        /* [supervisor] */
        usec_t restart_delay_min;
        usec_t restart_delay_max;
        usec_t restart_reset_after;
        uint64_t log_max_size;
        unsigned log_keep;

        struct extra_service_settings *services;
        size_t n_services;

        /* Not from the configuration: the launcher's cgroup decision (cgroup/cgroup_node.h). With
         * a delegated subtree kubelet runs its pods under /kubepods and each service gets a leaf
         * services/NAME; without, kubelet is told to manage no cgroups. */
        bool cgroups_delegated;

        /* Not from the configuration: kubelet's localStorageCapacityIsolation, decided from
         * kubelet_local_storage and the data directory's file system (local_storage.h). */
        bool local_storage_isolation;

        /* Not from the configuration: the node's id maps (launcher/services/pod_userns.h). The slice
         * becomes the node's "kubelet" user (pods == 0: no such user, no pod with its own user
         * namespace); kubelet_max_pods is the maxPods rendered, 0 before pod_userns_decide(). */
        struct pod_userns_host pod_host; /* what it was decided from, again on SIGHUP */
        struct pod_userns pod_userns;
        uint32_t kubelet_max_pods;
};

/* The embedded defaults for node `name` with the given directories; config_path may be NULL.
 * Returns 0 or -ENOMEM. */
int node_settings_init(struct node_settings *s, const char *name, const char *state_dir,
                       const char *data_dir, const char *config_dir, const char *config_path);
void node_settings_done(struct node_settings *s);

/* Copy what the launcher set after a join (kubeconfig, bootstrap kubeconfig, CA, cert dir) from
 * SRC into DST, for a reload that reads the INI file again. Returns 0 or -ENOMEM. */
int node_settings_copy_join(struct node_settings *dst, const struct node_settings *src);

/* Joined: the pod network the cluster allocated to the node (spec.podCIDR), which the cluster
 * agent keeps in DATA/cluster/pod-cidr, replaces [cni] subnet. Returns 0 (also when there is none
 * yet) or -ENOMEM. */
int node_settings_apply_pod_cidr(struct node_settings *s);
#define NODE_POD_CIDR_FILE "cluster/pod-cidr"

/* Append an empty [service:NAME] with defaults; returns it, or NULL on allocation failure. */
struct extra_service_settings *node_settings_add_service(struct node_settings *s, const char *name);

/* Set a string field, freeing the previous value. Returns 0 or -ENOMEM. */
int settings_set(char **field, const char *value);

/* Durations "1500ms", "2s", "2min", "1h", or a bare number of seconds. Returns 0 or -EINVAL. */
int parse_duration(const char *s, usec_t *ret);
/* Sizes "10M", "512K", "1G" (powers of 1024) or bytes. Returns 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *ret);

/* $XDG_DATA_HOME/usernode/NODE (default ~/.local/share/usernode/NODE). */
int node_data_dir(const char *node, char **ret);
/* $XDG_CONFIG_HOME/usernode (default ~/.config/usernode). */
int node_config_dir(char **ret);
