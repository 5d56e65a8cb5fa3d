/* supervisor_internal.h: what the supervisor's files (supervisor*.c) share, and nothing else
 * includes: the service and supervisor structures and the functions one file calls in another.
 *
 *   supervisor.c             life cycle: start order, exits, restart with backoff, stop, reload, status
 *   supervisor_spawn.c       a service's log pipe, fork and exec of its process, the pod drain,
 *                            signals, cgroup.kill
 *   supervisor_ready.c       readiness probes (socket accepts, HTTP 200 on loopback) and their poll
 *   supervisor_standalone.c  supervisor_run(): an event loop of its own with signals */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "common/event_loop.h"

#include "common/macro.h"
#include "launcher/services/service_log.h"
#include "launcher/services/supervisor.h"

struct service {
        struct supervisor *sup;
        struct service_def def;
        enum service_state state;
        pid_t pid;
        unsigned restarts;
        unsigned failures; /* consecutive exits without a long enough run in between */
        int last_exit_status;
        usec_t started_mono;
        long long started_realtime;
        usec_t ready_deadline;
        bool ever_ready;
        bool killed_not_ready;
        bool restart_after_stop; /* reload: its definition changed */
        bool remove_after_stop; /* reload: it is gone from the plan */
        pid_t drain_pid; /* node stop: pod_drain() running before its SIGTERM; 0: none */
        bool drained;
        event_source *timer;
        /* While starting: the wait before the next readiness probe (grows, see supervisor_ready.c),
         * and for a socket, the inotify watch on its directory that probes at once on a new file. */
        usec_t ready_interval;
        event_source *ready_watch;
        /* One pipe for the service's whole life: every run (and every process it leaves behind)
         * writes to the same log, and the read side never sees EOF between restarts. */
        int log_read_fd, log_write_fd;
        event_source *log_source;
        struct service_log log;
};

struct supervisor {
        event_loop *event;
        struct service **services; /* in start order; stop goes backwards */
        size_t n_services;
        usec_t restart_delay_min, restart_delay_max, restart_reset_after;
        char *log_dir;
        uint64_t log_max_size;
        unsigned log_keep;
        bool journal;
        struct supervisor_callbacks cb;
        void *userdata;
        bool started, stopping, stopped, ready_reported;
};

/* ---- supervisor.c ---- */

/* The event loop's monotonic time: what timers and the up time of a run are measured in. */
usec_t supervisor_now(const struct supervisor *s);
/* A line for the log and for callbacks->status_text (systemd's STATUS=). */
void supervisor_status_text(struct supervisor *s, const char *format, ...) _printf_(2, 3);
/* Sets the state and tells callbacks->service_changed. */
void service_set_state(struct service *svc, enum service_state state);
/* (Re)arms the service's one timer; whatever it was waiting for before is dropped. */
int service_arm_timer(struct service *svc, usec_t usec_from_now, event_time_handler_t handler);
/* Starts every waiting service whose `after` services are ready. */
void supervisor_start_waiting(struct supervisor *s);
/* Calls callbacks->ready once, when every service has been ready. */
void supervisor_check_all_ready(struct supervisor *s);

/* ---- supervisor_spawn.c ---- */

/* Opens the service's log file and the pipe every run of it writes to (nothing with the journal). */
int service_log_setup(struct service *svc);
/* Forks and executes the service; 1 when it counts as ready at once, 0 when readiness is polled,
 * or a negative errno. */
int service_spawn(struct service *svc);
/* Forks pod_drain() for the service's drain_endpoint, in a process group of its own writing to
 * the service's log. Returns its pid or a negative errno. */
pid_t service_spawn_drain(struct service *svc);
/* `sig` to the service's process group and to its main process. */
void service_signal_group(const struct service *svc, int sig);
/* cgroup.kill of the service's leaf, if it has one. */
void service_cgroup_kill(const struct service *svc);

/* ---- supervisor_ready.c ---- */

/* Readiness probes while a service starts: soon after the spawn, then less often. Under
 * emulation (the VM tests) a probe of a port nobody listens on yet costs a few ms of CPU that
 * crio and kubelet, starting at the same time, are short of: every 20 ms over a 20 s start took
 * the node init 2-5 s of CPU. A socket's directory is watched, so its service is seen at once. */
#define READY_POLL_MIN_USEC (20 * USEC_PER_MSEC)
#define READY_POLL_MAX_USEC (200 * USEC_PER_MSEC)

/* The timer handler while a service is starting: probes it, marks it ready or kills it at its
 * ready_timeout. */
int service_on_ready_poll(event_source *source, uint64_t usec, void *userdata);
/* Begins the readiness wait of a service just spawned: the first probe at once, a watch on a
 * socket's directory. */
int service_ready_wait_begin(struct service *svc);
/* The wait after a probe that found the service not ready yet: PREVIOUS (0 before the first
 * probe) doubled, from READY_POLL_MIN_USEC up to READY_POLL_MAX_USEC. */
usec_t ready_poll_next_interval(usec_t previous);
