/* supervisor.c: the node's service supervisor on the init's event loop, its life cycle: start order, exits,
 * restart with backoff, stop, reload and status (supervisor_internal.h lists the other files).
 *
 * Each service runs in its own session (setsid), so its process group can be signalled as a
 * whole; whatever escapes the group dies with the node's pid namespace when PID 1 exits. One
 * timer per service serves whatever the service is waiting for: readiness polls, the restart
 * delay, or the grace period while stopping. */
#include "launcher/services/supervisor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/services/service_log.h"
#include "launcher/services/supervisor_internal.h"

usec_t supervisor_now(const struct supervisor *s) {
        uint64_t t = 0;
        event_loop_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

void supervisor_status_text(struct supervisor *s, const char *format, ...) {
        char text[512];
        va_list ap;
        va_start(ap, format);
        vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);
        log_info("%s", text);
        if (s->cb.status_text)
                s->cb.status_text(text, s->userdata);
}

static void service_fill_status(const struct service *svc, struct service_status *st) {
        *st = (struct service_status){
                .state = svc->state,
                .pid = svc->pid,
                .restarts = svc->restarts,
                .last_exit_status = svc->last_exit_status,
                .since_realtime = svc->pid > 0 ? svc->started_realtime : 0,
        };
        snprintf(st->name, sizeof(st->name), "%s", svc->def.name);
}

void service_set_state(struct service *svc, enum service_state state) {
        svc->state = state;
        if (svc->sup->cb.service_changed) {
                struct service_status st;
                service_fill_status(svc, &st);
                svc->sup->cb.service_changed(&st, svc->sup->userdata);
        }
}

static struct service *find_service(struct supervisor *s, const char *name) {
        for (size_t i = 0; i < s->n_services; i++)
                if (strcmp(s->services[i]->def.name, name) == 0)
                        return s->services[i];
        return NULL;
}

int service_arm_timer(struct service *svc, usec_t usec_from_now, event_time_handler_t handler) {
        struct supervisor *s = svc->sup;
        svc->timer = event_source_disable_unref(svc->timer);
        return event_add_time_relative(s->event, &svc->timer, CLOCK_MONOTONIC, usec_from_now, USEC_PER_MSEC,
                                       handler, svc);
}

/* ---- life cycle ---- */

static void service_free(struct service *svc) {
        if (!svc)
                return;
        event_source_disable_unref(svc->timer);
        event_source_disable_unref(svc->ready_watch);
        event_source_disable_unref(svc->log_source);
        if (svc->log_read_fd >= 0) {
                /* Whatever is still in the pipe belongs in the log. */
                char buf[16384];
                ssize_t n;
                while ((n = read(svc->log_read_fd, buf, sizeof(buf))) > 0)
                        service_log_write(&svc->log, buf, (size_t)n);
                close(svc->log_read_fd);
        }
        if (svc->log_write_fd >= 0)
                close(svc->log_write_fd);
        service_log_close(&svc->log);
        service_def_done(&svc->def);
        free(svc);
}

static int service_new(struct supervisor *s, struct service_def *def, struct service **ret) {
        struct service *svc = calloc(1, sizeof(*svc));
        if (!svc)
                return -ENOMEM;
        svc->sup = s;
        svc->def = *def;
        *def = (struct service_def){}; /* moved */
        svc->last_exit_status = -1;
        svc->log_read_fd = svc->log_write_fd = -EBADF;
        svc->log = (struct service_log){ .fd = -EBADF };
        int r = service_log_setup(svc);
        if (r < 0) {
                service_free(svc);
                return r;
        }
        *ret = svc;
        return 0;
}

void supervisor_check_all_ready(struct supervisor *s) {
        if (s->ready_reported || s->stopping)
                return;
        for (size_t i = 0; i < s->n_services; i++)
                if (!s->services[i]->ever_ready)
                        return;
        s->ready_reported = true;
        supervisor_status_text(s, "Node ready: %zu service%s running", s->n_services,
                               s->n_services == 1 ? "" : "s");
        if (s->cb.ready)
                s->cb.ready(s->userdata);
}

static bool dependencies_ready(struct supervisor *s, const struct service *svc) {
        for (char **a = svc->def.after; a && *a; a++) {
                const struct service *dep = find_service(s, *a);
                if (!dep)
                        continue; /* the plan builder rejects unknown names; a removed one no longer holds */
                if (!(dep->state == SERVICE_RUNNING || (dep->state == SERVICE_EXITED && dep->ever_ready)))
                        return false;
        }
        return true;
}

static void service_start(struct service *svc) {
        supervisor_status_text(svc->sup, "Starting %s", svc->def.name);
        int r = service_spawn(svc);
        if (r < 0) {
                svc->last_exit_status = -1;
                service_set_state(svc, SERVICE_EXITED);
        }
}

void supervisor_start_waiting(struct supervisor *s) {
        if (s->stopping || !s->started)
                return;
        /* Start order is plan order; a service may start once everything it comes after is up. */
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                if (svc->state == SERVICE_WAITING && svc->pid == 0 && dependencies_ready(s, svc))
                        service_start(svc);
        }
}

static int on_restart_delay(event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        (void)usec;
        svc->timer = event_source_disable_unref(svc->timer);
        if (svc->sup->stopping)
                return 0;
        svc->restarts++;
        svc->state = SERVICE_WAITING;
        if (dependencies_ready(svc->sup, svc))
                service_start(svc);
        else
                service_set_state(svc, SERVICE_WAITING);
        return 0;
}

static usec_t backoff_delay(const struct supervisor *s, unsigned failures) {
        usec_t d = s->restart_delay_min;
        for (unsigned i = 1; i < failures && d < s->restart_delay_max; i++)
                d *= 2;
        return d < s->restart_delay_max ? d : s->restart_delay_max;
}

static void describe_exit(int status, char *buf, size_t size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "ended (wait status %d)", status);
}

static void supervisor_stop_next(struct supervisor *s);
static void supervisor_remove(struct supervisor *s, struct service *svc);
static void drain_end(struct service *svc);

/* Whether what the service started in its cgroup leaf stays when its main process goes: only
 * what is meant to outlive it (crio's conmons, each holding a container's stdout and exit code),
 * and only while the service comes back, after a crash or when a reload restarts it. A node
 * that stops, or a service a reload removed, takes its whole leaf with it. */
static bool service_leaf_stays(const struct service *svc) {
        if (!svc->def.leaf_outlives_exit || svc->sup->stopping)
                return false;
        return svc->state != SERVICE_STOPPING || svc->restart_after_stop;
}

/* The service's main process is gone: account for it, then restart, wait, or move on. */
static void service_exited(struct service *svc, int status) {
        struct supervisor *s = svc->sup;
        char how[128];
        usec_t up = supervisor_now(s) - svc->started_mono;

        svc->timer = event_source_disable_unref(svc->timer);
        if (svc->drain_pid > 0) { /* crio died while its containers were being stopped */
                kill(-svc->drain_pid, SIGKILL);
                svc->drain_pid = 0;
        }
        /* What it left behind in its process group goes with it. Only the group: the pid itself
         * is reaped and may already belong to someone else. Its leaf too, unless it stays. */
        kill(-svc->pid, SIGKILL);
        if (!service_leaf_stays(svc))
                service_cgroup_kill(svc);
        svc->pid = 0;
        svc->last_exit_status = status;
        describe_exit(status, how, sizeof(how));

        if (svc->state == SERVICE_STOPPING || s->stopping) {
                log_info("%s stopped (%s)", svc->def.name, how);
                service_set_state(svc, SERVICE_STOPPED);
                if (svc->remove_after_stop) {
                        supervisor_remove(s, svc);
                } else if (svc->restart_after_stop && !s->stopping) {
                        svc->restart_after_stop = false;
                        svc->failures = 0;
                        svc->restarts++;
                        svc->state = SERVICE_WAITING;
                        supervisor_start_waiting(s);
                }
                if (s->stopping)
                        supervisor_stop_next(s);
                return;
        }

        bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        bool restart =
                svc->def.restart == RESTART_ALWAYS || (svc->def.restart == RESTART_ON_FAILURE && failed);
        if (up >= s->restart_reset_after)
                svc->failures = 0;
        if (!restart) {
                supervisor_status_text(s, "%s %s; not restarted (restart=%s)", svc->def.name, how,
                                       restart_policy_to_string(svc->def.restart));
                service_set_state(svc, SERVICE_EXITED);
                supervisor_start_waiting(s);
                return;
        }
        svc->failures++;
        usec_t delay = backoff_delay(s, svc->failures);
        supervisor_status_text(s, "%s %s%s; restarting in %llu.%03llus", svc->def.name, how,
                               svc->killed_not_ready ? " (not ready in time)" : "",
                               (unsigned long long)(delay / USEC_PER_SEC),
                               (unsigned long long)(delay % USEC_PER_SEC / USEC_PER_MSEC));
        service_set_state(svc, svc->failures >= SERVICE_CRASH_LOOP_FAILURES ? SERVICE_CRASH_LOOP
                                                                            : SERVICE_BACKOFF);
        if (service_arm_timer(svc, delay, on_restart_delay) < 0) {
                log_error("%s: cannot arm its restart timer", svc->def.name);
                service_set_state(svc, SERVICE_EXITED);
        }
}

int supervisor_child_exited(struct supervisor *s, pid_t pid, int status) {
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                if (svc->pid == pid) {
                        service_exited(svc, status);
                        return 1;
                }
                if (svc->drain_pid == pid) {
                        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                                log_warning("%s: the pod drain failed; stopping %s", svc->def.name,
                                            svc->def.name);
                        drain_end(svc);
                        return 1;
                }
        }
        return 0;
}

/* ---- stop ---- */

static int on_stop_timeout(event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        (void)usec;
        svc->timer = event_source_disable_unref(svc->timer);
        log_warning("%s did not stop within %llus of SIGTERM; sending SIGKILL", svc->def.name,
                    (unsigned long long)(svc->def.stop_timeout / USEC_PER_SEC));
        service_signal_group(svc, SIGKILL);
        if (!service_leaf_stays(svc))
                service_cgroup_kill(svc);
        return 0;
}

/* SIGTERM now, SIGKILL after the grace period; service_exited() takes it from there. */
static void service_terminate(struct service *svc) {
        service_signal_group(svc, SIGTERM);
        if (service_arm_timer(svc, svc->def.stop_timeout, on_stop_timeout) < 0)
                service_signal_group(svc, SIGKILL);
}

#define DRAIN_MARGIN SERVICE_DRAIN_MARGIN

static void drain_end(struct service *svc) {
        svc->timer = event_source_disable_unref(svc->timer);
        if (svc->drain_pid > 0)
                kill(-svc->drain_pid, SIGKILL); /* a crictl still waiting */
        svc->drain_pid = 0;
        if (svc->pid > 0)
                service_terminate(svc);
}

static int on_drain_timeout(event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        (void)usec;
        log_warning("%s: the pods' containers did not stop within %llus; stopping %s anyway", svc->def.name,
                    (unsigned long long)((svc->def.drain_grace_max + DRAIN_MARGIN) / USEC_PER_SEC),
                    svc->def.name);
        drain_end(svc);
        return 0;
}

static void service_begin_stop(struct service *svc) {
        supervisor_status_text(svc->sup, "Stopping %s", svc->def.name);
        service_set_state(svc, SERVICE_STOPPING);
        /* Only when the node stops: crio restarted after a reload leaves the containers running,
         * as CRI-O itself does. kubelet is stopped by now, so nothing starts them again. */
        if (svc->sup->stopping && svc->def.drain_endpoint && !svc->drained) {
                svc->drained = true;
                pid_t pid = service_spawn_drain(svc);
                if (pid > 0 &&
                    service_arm_timer(svc, svc->def.drain_grace_max + DRAIN_MARGIN, on_drain_timeout) >= 0) {
                        svc->drain_pid = pid;
                        supervisor_status_text(
                                svc->sup, "Stopping the pods' containers (grace period up to %llus)",
                                (unsigned long long)(svc->def.drain_grace_max / USEC_PER_SEC));
                        return;
                }
                if (pid > 0)
                        kill(-pid, SIGKILL);
                log_warning("%s: cannot start the pod drain; the containers get no grace period",
                            svc->def.name);
        }
        service_terminate(svc);
}

static void supervisor_finish_stop(struct supervisor *s) {
        if (s->stopped)
                return;
        s->stopped = true;
        /* As PID 1 of the node, take down whatever escaped its service's process group (daemons
         * that called setsid): "stopped" means nothing of the node runs. The host is never
         * touched: kill(-1) only reaches the node's own pid namespace. */
        if (getpid() == 1)
                kill(-1, SIGKILL);
        supervisor_status_text(s, "All services stopped");
        if (s->cb.stopped)
                s->cb.stopped(s->userdata);
}

static void supervisor_stop_next(struct supervisor *s) {
        for (size_t i = s->n_services; i > 0; i--) {
                struct service *svc = s->services[i - 1];
                if (svc->state == SERVICE_STOPPING)
                        return; /* one at a time, in reverse start order */
        }
        for (size_t i = s->n_services; i > 0; i--) {
                struct service *svc = s->services[i - 1];
                if (svc->pid > 0) {
                        service_begin_stop(svc);
                        return;
                }
        }
        supervisor_finish_stop(s);
}

void supervisor_stop(struct supervisor *s) {
        if (s->stopping)
                return;
        s->stopping = true;
        supervisor_status_text(s, "Stopping the node");
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                if (svc->pid == 0) {
                        svc->timer = event_source_disable_unref(svc->timer);
                        if (svc->state != SERVICE_EXITED)
                                service_set_state(svc, SERVICE_STOPPED);
                }
        }
        supervisor_stop_next(s);
}

/* ---- setup and reload ---- */

static void supervisor_remove(struct supervisor *s, struct service *svc) {
        for (size_t i = 0; i < s->n_services; i++)
                if (s->services[i] == svc) {
                        memmove(&s->services[i], &s->services[i + 1], (s->n_services - i - 1) * sizeof(svc));
                        s->n_services--;
                        break;
                }
        service_free(svc);
}

static void take_plan_settings(struct supervisor *s, const struct service_plan *plan) {
        s->restart_delay_min = plan->restart_delay_min ?: USEC_PER_SEC;
        s->restart_delay_max = plan->restart_delay_max ?: 60 * USEC_PER_SEC;
        s->restart_reset_after = plan->restart_reset_after ?: 120 * USEC_PER_SEC;
        s->log_max_size = plan->log_max_size;
        s->log_keep = plan->log_keep;
}

int supervisor_new(event_loop *event, struct service_plan *plan,
                   const struct supervisor_callbacks *callbacks, void *userdata, struct supervisor **ret) {
        _cleanup_service_plan_ struct service_plan *p = plan;
        struct supervisor *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = event_loop_ref(event);
        s->cb = callbacks ? *callbacks : (struct supervisor_callbacks){};
        s->userdata = userdata;
        s->journal = p->journal;
        s->log_dir = p->log_dir ? strdup(p->log_dir) : NULL;
        take_plan_settings(s, p);
        s->services = calloc(p->n_services + 1, sizeof(struct service *));
        if (!s->services || (!s->log_dir && !s->journal)) {
                supervisor_free(s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_services; i++) {
                int r = service_new(s, &p->services[i], &s->services[s->n_services]);
                if (r < 0) {
                        supervisor_free(s);
                        return r;
                }
                s->n_services++;
        }
        *ret = s;
        return 0;
}

struct supervisor *supervisor_free(struct supervisor *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_services; i++)
                service_free(s->services[i]);
        free(s->services);
        free(s->log_dir);
        event_loop_unref(s->event);
        free(s);
        return NULL;
}

int supervisor_start(struct supervisor *s) {
        s->started = true;
        for (size_t i = 0; i < s->n_services; i++)
                service_set_state(s->services[i], SERVICE_WAITING);
        supervisor_start_waiting(s);
        supervisor_check_all_ready(s);
        return 0;
}

int supervisor_reload(struct supervisor *s) {
        _cleanup_service_plan_ struct service_plan *plan = NULL;
        int r;

        if (s->stopping)
                return 0;
        if (!s->cb.reload)
                return log_error_errno(EOPNOTSUPP, "reload is not supported here");
        r = s->cb.reload(&plan, s->userdata);
        if (r < 0)
                return log_error_errno(r, "reload failed, the services keep running as they were: %m");
        take_plan_settings(s, plan);

        /* The new array: the plan's services in its order, then the ones on their way out. */
        struct service **next = calloc(plan->n_services + s->n_services + 1, sizeof(struct service *));
        if (!next)
                return -ENOMEM;
        size_t n = 0, added = 0, restarted = 0, removed = 0;
        for (size_t i = 0; i < plan->n_services; i++) {
                struct service_def *def = &plan->services[i];
                struct service *old = find_service(s, def->name);
                if (!old) {
                        r = service_new(s, def, &next[n]);
                        if (r < 0) {
                                log_error_errno(r, "%s: cannot add it: %m", def->name);
                                continue;
                        }
                        log_info("%s: new service", next[n]->def.name);
                        added++;
                        service_set_state(next[n], SERVICE_WAITING);
                        n++;
                        continue;
                }
                next[n++] = old;
                old->remove_after_stop = false;
                if (strcmp(old->def.fingerprint ?: "", def->fingerprint ?: "") == 0)
                        continue;
                /* Changed: swap in the new definition, restart the process if one runs. */
                struct service_def tmp = old->def;
                old->def = *def;
                *def = tmp; /* freed with the plan */
                log_info("%s: configuration changed, restarting it", old->def.name);
                restarted++;
                if (old->pid > 0 && old->state != SERVICE_STOPPING) {
                        old->restart_after_stop = true;
                        service_begin_stop(old);
                } else if (old->pid > 0) {
                        old->restart_after_stop = true;
                } else {
                        old->timer = event_source_disable_unref(old->timer);
                        old->failures = 0;
                        old->state = SERVICE_WAITING;
                }
        }
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                bool kept = false;
                for (size_t j = 0; j < n && !kept; j++)
                        kept = next[j] == svc;
                if (kept)
                        continue;
                log_info("%s: removed from the configuration, stopping it", svc->def.name);
                removed++;
                if (svc->pid > 0) {
                        svc->remove_after_stop = true;
                        if (svc->state != SERVICE_STOPPING)
                                service_begin_stop(svc);
                        next[n++] = svc;
                } else
                        service_free(svc);
        }
        free(s->services);
        s->services = next;
        s->n_services = n;
        log_info("reloaded: %zu restarted, %zu added, %zu removed", restarted, added, removed);
        supervisor_start_waiting(s);
        return 0;
}

size_t supervisor_n_services(const struct supervisor *s) {
        return s->n_services;
}

void supervisor_service_status(const struct supervisor *s, size_t i, struct service_status *ret) {
        service_fill_status(s->services[i], ret);
}
