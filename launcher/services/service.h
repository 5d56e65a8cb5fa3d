/* service.h: a supervised service as data (s6/runit style: policy is data, the supervisor is
 * the mechanism), and the plan of all services of a node. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "launcher/services/node_settings.h"

enum service_readiness {
        READY_WHEN_STARTED, /* up as soon as it runs */
        READY_SOCKET, /* a unix socket at ready_target accepts connections (crio) */
        READY_HTTP, /* GET http://127.0.0.1:PORT/PATH answers 200 (kubelet's healthz) */
};

struct service_def {
        char *name;
        char **argv; /* argv[0] is an absolute path or looked up on PATH */
        char **env; /* KEY=VALUE added to the supervisor's environment */
        char **after;
        enum restart_policy restart;
        usec_t stop_timeout; /* SIGTERM, then SIGKILL after this long */
        enum service_readiness ready;
        char *ready_target; /* socket path, or "PORT/PATH" */
        usec_t ready_timeout;
        char *fingerprint; /* differs iff the service must restart after a reload */
        char *cgroup; /* its leaf below the node's cgroup root, e.g. "services/crio"; NULL: none */
        /* crio: when the node stops, first stop every container over this CRI endpoint with its
         * pod's grace period, at most drain_grace_max (pod_drain.h); NULL: none. */
        char *drain_endpoint;
        usec_t drain_grace_max;
        /* crio: what it started in its leaf (a conmon per container, which reports the
         * container's exit) outlives a crash of crio, as conmon is made to; the leaf is killed
         * when the service is stopped, not when it exits on its own. */
        bool leaf_outlives_exit;
};

struct service_plan {
        struct service_def *services; /* in start order */
        size_t n_services;
        usec_t restart_delay_min;
        usec_t restart_delay_max;
        usec_t restart_reset_after; /* up this long: the next failure starts the backoff anew */
        char *log_dir; /* DATA/logs */
        uint64_t log_max_size;
        unsigned log_keep;
        bool journal; /* log to the journal (JOURNAL_STREAM was set) instead of log_dir */
};

/* A new empty service at the end of the plan, or NULL on allocation failure. */
struct service_def *service_plan_add(struct service_plan *p, const char *name);
const struct service_def *service_plan_find(const struct service_plan *p, const char *name);
/* Compute def->fingerprint from its fields plus `extra` (e.g. the text of its config files). */
int service_def_fingerprint(struct service_def *def, const char *extra);
void service_def_done(struct service_def *d);
struct service_plan *service_plan_free(struct service_plan *p);

static inline void service_plan_freep(struct service_plan **p) {
        service_plan_free(*p);
}
#define _cleanup_service_plan_ _cleanup_(service_plan_freep)

/* What status shows for a service. */
enum service_state {
        SERVICE_WAITING, /* for the services it comes after */
        SERVICE_STARTING, /* running, not ready yet */
        SERVICE_RUNNING, /* running and ready */
        SERVICE_BACKOFF, /* exited, restarts after a delay */
        SERVICE_CRASH_LOOP, /* as BACKOFF, having failed several times in a row */
        SERVICE_STOPPING,
        SERVICE_STOPPED, /* stopped by usernode */
        SERVICE_EXITED, /* exited and not restarted (policy) */
        _SERVICE_STATE_MAX,
};

const char *service_state_to_string(enum service_state s);

/* Consecutive failures after which a backing-off service counts as crash looping. */
#define SERVICE_CRASH_LOOP_FAILURES 3

/* What the pod drain may take beyond the longest grace period (drain_grace_max): the SIGKILLs,
 * the sandboxes' network. A stop's time budget (usernode install's TimeoutStopSec) counts it. */
#define SERVICE_DRAIN_MARGIN (15 * USEC_PER_SEC)

struct service_status {
        char name[64];
        enum service_state state;
        pid_t pid; /* 0 when not running; in the node's pid namespace */
        unsigned restarts; /* since the node started */
        int last_exit_status; /* wait status of the last exit, -1 before any */
        long long since_realtime; /* CLOCK_REALTIME usec when the current run started, 0 if none */
};
