/* supervisor.c: the node's service supervisor on sd-event.
 *
 * Each service runs in its own session (setsid), so its process group can be signalled as a
 * whole; whatever escapes the group dies with the node's pid namespace when PID 1 exits. One
 * timer per service serves whatever the service is waiting for: readiness polls, the restart
 * delay, or the grace period while stopping. */
#include "launcher/services/supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "cgroup/cgroup_inside.h"
#include "common/log.h"
#include "launcher/services/service_log.h"

#define READY_POLL_USEC (20 * USEC_PER_MSEC)

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
        sd_event_source *timer;
        /* One pipe for the service's whole life: every run (and every process it leaves behind)
         * writes to the same log, and the read side never sees EOF between restarts. */
        int log_read_fd, log_write_fd;
        sd_event_source *log_source;
        struct service_log log;
};

struct supervisor {
        sd_event *event;
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

static usec_t now_mono(const struct supervisor *s) {
        uint64_t t = 0;
        sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

static long long now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void status_text(struct supervisor *s, const char *format, ...) _printf_(2, 3);
static void status_text(struct supervisor *s, const char *format, ...) {
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

static void service_set_state(struct service *svc, enum service_state state) {
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

static int arm_timer(struct service *svc, usec_t usec_from_now, sd_event_time_handler_t handler) {
        struct supervisor *s = svc->sup;
        svc->timer = sd_event_source_disable_unref(svc->timer);
        return sd_event_add_time_relative(s->event, &svc->timer, CLOCK_MONOTONIC, usec_from_now,
                                          USEC_PER_MSEC, handler, svc);
}

/* Everything in the service's cgroup leaf, daemons that left its process group included. */
static void cgroup_kill(const struct service *svc) {
        _cleanup_free_ char *path = NULL;
        if (!svc->def.cgroup ||
            asprintf(&path, "%s/%s/cgroup.kill", CGROUP_INSIDE_MOUNT, svc->def.cgroup) < 0)
                return;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, "1", 1) != 1)
                log_debug_errno(errno, "%s: cannot write %s: %m", svc->def.name, path);
}

static void signal_group(const struct service *svc, int sig) {
        /* The group first: a service that forked workers has them stopped together with it. */
        if (svc->pid > 0) {
                kill(-svc->pid, sig);
                kill(svc->pid, sig);
        }
}

/* ---- logs ---- */

static int on_log_readable(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct service *svc = userdata;
        char buf[16384];
        (void)source;
        (void)revents;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0 && service_log_write(&svc->log, buf, (size_t)n) < 0)
                log_debug("%s: cannot write its log %s", svc->def.name, svc->log.path ?: "?");
        return 0;
}

static int service_log_setup(struct service *svc) {
        struct supervisor *s = svc->sup;
        int fds[2];
        int r;

        if (s->journal)
                return 0; /* each run gets a journal stream of its own, see service_spawn() */
        r = service_log_open(&svc->log, s->log_dir, svc->def.name, s->log_max_size, s->log_keep);
        if (r < 0)
                return log_error_errno(r, "%s: cannot open its log in %s: %m", svc->def.name, s->log_dir);
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_error_errno(errno, "%s: cannot create its log pipe: %m", svc->def.name);
        svc->log_read_fd = fds[0];
        svc->log_write_fd = fds[1];
        /* Blocking writes for the service: a full pipe slows it down rather than losing lines. */
        fcntl(svc->log_write_fd, F_SETFL, 0);
        r = sd_event_add_io(s->event, &svc->log_source, svc->log_read_fd, EPOLLIN, on_log_readable, svc);
        if (r < 0)
                return log_error_errno(r, "%s: cannot watch its log pipe: %m", svc->def.name);
        return 0;
}

/* ---- life cycle ---- */

static void service_free(struct service *svc) {
        if (!svc)
                return;
        sd_event_source_disable_unref(svc->timer);
        sd_event_source_disable_unref(svc->log_source);
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

static _noreturn_ void service_exec_child(const struct service *svc, int out_fd) {
        sigset_t all;

        /* The supervisor blocks the signals sd-event handles; a service starts with none blocked
         * and default dispositions, as if started by a fresh init. */
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                signal(sig, SIG_DFL);
        setsid();
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0)
                dup2(null_fd, STDIN_FILENO);
        if (out_fd >= 0) {
                dup2(out_fd, STDOUT_FILENO);
                dup2(out_fd, STDERR_FILENO);
        }
        if (chdir("/") < 0)
                _exit(127);
        /* Its own leaf, before exec: nothing it starts can be outside it. */
        if (svc->def.cgroup && cgroup_inside_move(svc->def.cgroup, 0) < 0)
                _exit(127);
        /* systemd's hand-over to usernode is not the service's: crio would otherwise answer the
         * notify socket itself, and fds/streams named here are not the ones it has. */
        static const char *const not_inherited[] = { "NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID",
                                                     "LISTEN_FDS",    "LISTEN_FDNAMES", "LISTEN_PID",
                                                     "JOURNAL_STREAM" };
        for (size_t i = 0; i < ELEMENTSOF(not_inherited); i++)
                unsetenv(not_inherited[i]);
        for (char **e = svc->def.env; e && *e; e++)
                putenv(*e);
        execvp(svc->def.argv[0], svc->def.argv);
        dprintf(STDERR_FILENO, "usernode: cannot execute %s: %m\n", svc->def.argv[0]);
        _exit(127);
}

static int on_ready_poll(sd_event_source *source, uint64_t usec, void *userdata);

static int service_spawn(struct service *svc) {
        struct supervisor *s = svc->sup;
        _cleanup_close_ int journal_fd = -EBADF;

        if (s->journal) {
                journal_fd = sd_journal_stream_fd(svc->def.name, LOG_INFO, false);
                if (journal_fd < 0)
                        log_warning_errno(journal_fd, "%s: no journal stream, its output is lost: %m",
                                          svc->def.name);
        }
        if (svc->def.cgroup) {
                int r = cgroup_inside_create_leaf(svc->def.cgroup);
                if (r < 0)
                        return r;
        }
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "%s: cannot fork: %m", svc->def.name);
        if (pid == 0)
                service_exec_child(svc, s->journal ? journal_fd : svc->log_write_fd);

        svc->pid = pid;
        svc->started_mono = now_mono(s);
        svc->started_realtime = now_realtime();
        svc->killed_not_ready = false;
        if (svc->def.ready == READY_WHEN_STARTED) {
                svc->ever_ready = true;
                service_set_state(svc, SERVICE_RUNNING);
                return 1;
        }
        svc->ready_deadline = svc->started_mono + svc->def.ready_timeout;
        service_set_state(svc, SERVICE_STARTING);
        if (svc->def.ready == READY_SOCKET)
                status_text(s, "Waiting for %s to accept connections on %s", svc->def.name,
                            svc->def.ready_target);
        else
                status_text(s, "Waiting for %s to answer http://127.0.0.1:%s", svc->def.name,
                            svc->def.ready_target);
        return arm_timer(svc, 0, on_ready_poll);
}

static void supervisor_start_waiting(struct supervisor *s);

static void check_all_ready(struct supervisor *s) {
        if (s->ready_reported || s->stopping)
                return;
        for (size_t i = 0; i < s->n_services; i++)
                if (!s->services[i]->ever_ready)
                        return;
        s->ready_reported = true;
        status_text(s, "Node ready: %zu service%s running", s->n_services, s->n_services == 1 ? "" : "s");
        if (s->cb.ready)
                s->cb.ready(s->userdata);
}

static void service_became_ready(struct service *svc) {
        svc->timer = sd_event_source_disable_unref(svc->timer);
        svc->ever_ready = true;
        service_set_state(svc, SERVICE_RUNNING);
        log_info("%s is ready", svc->def.name);
        supervisor_start_waiting(svc->sup);
        check_all_ready(svc->sup);
}

static bool unix_socket_accepts(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* target: "PORT/PATH". A loopback connection either answers at once or the service is busy:
 * one second bounds the (rare) wait inside the event loop. */
static bool http_answers_ok(const char *target) {
        char *end;
        unsigned long port = strtoul(target, &end, 10);
        if (port == 0 || port > 65535 || *end != '/')
                return false;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return false;
        char request[512];
        int len = snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", end);
        if (len < 0 || len >= (int)sizeof(request) || write(fd, request, (size_t)len) != len)
                return false;
        char response[64] = {}, rest[512];
        size_t got = 0;
        while (got < sizeof(response) - 1) {
                ssize_t n = read(fd, response + got, sizeof(response) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        /* Read the answer to its end: closing with unread data would reset the connection and
         * make the service log an error for a health check that succeeded. */
        for (int i = 0; i < 64 && read(fd, rest, sizeof(rest)) > 0; i++)
                ;
        return got >= 12 && strncmp(response, "HTTP/1.", 7) == 0 && strncmp(response + 8, " 200", 4) == 0;
}

static int on_ready_poll(sd_event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        if (svc->state != SERVICE_STARTING || svc->pid <= 0)
                return 0;
        bool ready = svc->def.ready == READY_SOCKET ? unix_socket_accepts(svc->def.ready_target)
                                                    : http_answers_ok(svc->def.ready_target);
        if (ready) {
                service_became_ready(svc);
                return 0;
        }
        if (usec >= svc->ready_deadline) {
                log_error("%s: not ready after %llus (%s %s); killing it", svc->def.name,
                          (unsigned long long)(svc->def.ready_timeout / USEC_PER_SEC),
                          svc->def.ready == READY_SOCKET ? "nothing accepts connections on"
                                                         : "no HTTP 200 from port",
                          svc->def.ready_target);
                svc->killed_not_ready = true;
                signal_group(svc, SIGKILL);
                return 0;
        }
        return arm_timer(svc, READY_POLL_USEC, on_ready_poll);
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
        status_text(svc->sup, "Starting %s", svc->def.name);
        int r = service_spawn(svc);
        if (r < 0) {
                svc->last_exit_status = -1;
                service_set_state(svc, SERVICE_EXITED);
        }
}

static void supervisor_start_waiting(struct supervisor *s) {
        if (s->stopping || !s->started)
                return;
        /* Start order is plan order; a service may start once everything it comes after is up. */
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                if (svc->state == SERVICE_WAITING && svc->pid == 0 && dependencies_ready(s, svc))
                        service_start(svc);
        }
}

static int on_restart_delay(sd_event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        (void)usec;
        svc->timer = sd_event_source_disable_unref(svc->timer);
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

/* The service's main process is gone: account for it, then restart, wait, or move on. */
static void service_exited(struct service *svc, int status) {
        struct supervisor *s = svc->sup;
        char how[128];
        usec_t up = now_mono(s) - svc->started_mono;

        svc->timer = sd_event_source_disable_unref(svc->timer);
        /* What it left behind in its process group goes with it. Only the group: the pid itself
         * is reaped and may already belong to someone else. */
        kill(-svc->pid, SIGKILL);
        cgroup_kill(svc);
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
                status_text(s, "%s %s; not restarted (restart=%s)", svc->def.name, how,
                            restart_policy_to_string(svc->def.restart));
                service_set_state(svc, SERVICE_EXITED);
                supervisor_start_waiting(s);
                return;
        }
        svc->failures++;
        usec_t delay = backoff_delay(s, svc->failures);
        status_text(s, "%s %s%s; restarting in %llu.%03llus", svc->def.name, how,
                    svc->killed_not_ready ? " (not ready in time)" : "",
                    (unsigned long long)(delay / USEC_PER_SEC),
                    (unsigned long long)(delay % USEC_PER_SEC / USEC_PER_MSEC));
        service_set_state(svc, svc->failures >= SERVICE_CRASH_LOOP_FAILURES ? SERVICE_CRASH_LOOP
                                                                            : SERVICE_BACKOFF);
        if (arm_timer(svc, delay, on_restart_delay) < 0) {
                log_error("%s: cannot arm its restart timer", svc->def.name);
                service_set_state(svc, SERVICE_EXITED);
        }
}

int supervisor_child_exited(struct supervisor *s, pid_t pid, int status) {
        for (size_t i = 0; i < s->n_services; i++)
                if (s->services[i]->pid == pid) {
                        service_exited(s->services[i], status);
                        return 1;
                }
        return 0;
}

/* ---- stop ---- */

static int on_stop_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        struct service *svc = userdata;
        (void)source;
        (void)usec;
        svc->timer = sd_event_source_disable_unref(svc->timer);
        log_warning("%s did not stop within %llus of SIGTERM; sending SIGKILL", svc->def.name,
                    (unsigned long long)(svc->def.stop_timeout / USEC_PER_SEC));
        signal_group(svc, SIGKILL);
        cgroup_kill(svc);
        return 0;
}

/* SIGTERM now, SIGKILL after the grace period; service_exited() takes it from there. */
static void service_begin_stop(struct service *svc) {
        status_text(svc->sup, "Stopping %s", svc->def.name);
        service_set_state(svc, SERVICE_STOPPING);
        signal_group(svc, SIGTERM);
        if (arm_timer(svc, svc->def.stop_timeout, on_stop_timeout) < 0)
                signal_group(svc, SIGKILL);
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
        status_text(s, "All services stopped");
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
        status_text(s, "Stopping the node");
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = s->services[i];
                if (svc->pid == 0) {
                        svc->timer = sd_event_source_disable_unref(svc->timer);
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

int supervisor_new(sd_event *event, struct service_plan *plan, const struct supervisor_callbacks *callbacks,
                   void *userdata, struct supervisor **ret) {
        _cleanup_service_plan_ struct service_plan *p = plan;
        struct supervisor *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
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
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int supervisor_start(struct supervisor *s) {
        s->started = true;
        for (size_t i = 0; i < s->n_services; i++)
                service_set_state(s->services[i], SERVICE_WAITING);
        supervisor_start_waiting(s);
        check_all_ready(s);
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
                        old->timer = sd_event_source_disable_unref(old->timer);
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

/* ---- standalone loop ---- */

struct standalone {
        struct supervisor *sup;
        sd_event *event;
        const struct supervisor_callbacks *user_cb;
        void *user_data;
};

static int on_sigchld(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        int status;
        pid_t pid;
        (void)source;
        (void)si;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                supervisor_child_exited(st->sup, pid, status);
        return 0;
}

static int on_stop_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        (void)source;
        log_info("received %s, stopping", strsignal((int)si->ssi_signo));
        supervisor_stop(st->sup);
        return 0;
}

static int on_sighup(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        (void)source;
        (void)si;
        supervisor_reload(st->sup);
        return 0;
}

static void st_service_changed(const struct service_status *status, void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->service_changed)
                st->user_cb->service_changed(status, st->user_data);
}

static void st_status_text(const char *text, void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->status_text)
                st->user_cb->status_text(text, st->user_data);
}

static void st_ready(void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->ready)
                st->user_cb->ready(st->user_data);
}

static int st_reload(struct service_plan **ret, void *userdata) {
        struct standalone *st = userdata;
        return st->user_cb->reload ? st->user_cb->reload(ret, st->user_data) : -EOPNOTSUPP;
}

static void st_stopped(void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->stopped)
                st->user_cb->stopped(st->user_data);
        sd_event_exit(st->event, 0);
}

int supervisor_run(struct service_plan *plan, const struct supervisor_callbacks *callbacks, void *userdata) {
        static const struct supervisor_callbacks none = {};
        static const struct supervisor_callbacks trampolines = {
                .service_changed = st_service_changed,
                .status_text = st_status_text,
                .ready = st_ready,
                .stopped = st_stopped,
                .reload = st_reload,
        };
        struct standalone st = { .user_cb = callbacks ?: &none, .user_data = userdata };
        sigset_t mask;
        int r;

        r = sd_event_new(&st.event);
        if (r < 0) {
                service_plan_free(plan);
                return log_error_errno(r, "cannot create an event loop: %m");
        }
        /* sd-event's signal sources need the signals blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = supervisor_new(st.event, plan, &trampolines, &st, &st.sup);
        if (r < 0) {
                sd_event_unref(st.event);
                return log_error_errno(r, "cannot set up the supervisor: %m");
        }
        if (sd_event_add_signal(st.event, NULL, SIGCHLD, on_sigchld, &st) < 0 ||
            sd_event_add_signal(st.event, NULL, SIGTERM, on_stop_signal, &st) < 0 ||
            sd_event_add_signal(st.event, NULL, SIGINT, on_stop_signal, &st) < 0 ||
            sd_event_add_signal(st.event, NULL, SIGHUP, on_sighup, &st) < 0)
                r = log_error_errno(EIO, "cannot watch signals");
        if (r >= 0)
                r = supervisor_start(st.sup);
        if (r >= 0)
                r = sd_event_loop(st.event);
        supervisor_free(st.sup);
        sd_event_unref(st.event);
        return r;
}
