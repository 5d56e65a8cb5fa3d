/* supervisor.h: starts, watches, restarts and stops the node's services.
 *
 * Runs in the node init (PID 1 of the node) on the init's event loop (common/event_loop.h). Policy is data (service.h):
 * start order from `after`, readiness per service, restart policy, backoff doubling from
 * restart_delay_min to restart_delay_max and starting over after restart_reset_after up, grace
 * period per service on stop. The supervisor never calls waitpid() itself when embedded: PID 1
 * reaps every child and hands the supervisor's to supervisor_child_exited(). */
#pragma once

#include <signal.h>
#include "common/event_loop.h"

#include "launcher/services/service.h"

struct supervisor;

struct supervisor_callbacks {
        /* A service changed state, pid or counters. */
        void (*service_changed)(const struct service_status *status, void *userdata);
        /* A line for humans ("waiting for crio's socket"), e.g. systemd's STATUS=. */
        void (*status_text)(const char *text, void *userdata);
        /* Every service is up and ready for the first time (the node is ready). */
        void (*ready)(void *userdata);
        /* supervisor_stop() finished: every service is gone. */
        void (*stopped)(void *userdata);
        /* SIGHUP: build the plan anew (re-read the config, re-render). NULL: reload unsupported. */
        int (*reload)(struct service_plan **ret, void *userdata);
};

/* Takes ownership of `plan`. Returns 0 or a negative errno. */
int supervisor_new(event_loop *event, struct service_plan *plan,
                   const struct supervisor_callbacks *callbacks, void *userdata, struct supervisor **ret);
struct supervisor *supervisor_free(struct supervisor *s);

/* Start every service whose `after` services are ready (the rest follow as they become so). */
int supervisor_start(struct supervisor *s);

/* A child exited (wait status). Returns 1 when it was one of the supervisor's services, else 0. */
int supervisor_child_exited(struct supervisor *s, pid_t pid, int status);

/* Stop all services in reverse start order: SIGTERM to the service's process group, SIGKILL after
 * its stop_timeout. Calls callbacks->stopped when done. Idempotent. */
void supervisor_stop(struct supervisor *s);

/* Rebuild the plan via callbacks->reload and restart only the services whose fingerprint changed;
 * start new ones, stop removed ones. Returns 0 or a negative errno (the old plan stays). */
int supervisor_reload(struct supervisor *s);

size_t supervisor_n_services(const struct supervisor *s);
void supervisor_service_status(const struct supervisor *s, size_t i, struct service_status *ret);

/* Standalone: an event loop of its own with SIGTERM/SIGINT -> stop, SIGHUP -> reload and
 * SIGCHLD -> reap every child. Returns 0 after a requested stop, or a negative errno. */
int supervisor_run(struct service_plan *plan, const struct supervisor_callbacks *callbacks, void *userdata);
