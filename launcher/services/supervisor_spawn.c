/* supervisor_spawn.c: how the supervisor runs a service's process: the log pipe every run writes
 * to, fork and exec into a session and cgroup leaf of its own, the pod drain before crio stops,
 * and signalling what it left. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup_inside.h"
#include "common/log.h"
#include "launcher/services/journal_stream.h"
#include "launcher/services/pod_drain.h"
#include "launcher/services/service_log.h"
#include "launcher/services/supervisor_internal.h"

static long long now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Everything in the service's cgroup leaf, daemons that left its process group included. */
void service_cgroup_kill(const struct service *svc) {
        _cleanup_free_ char *path = NULL;
        if (!svc->def.cgroup ||
            asprintf(&path, "%s/%s/cgroup.kill", CGROUP_INSIDE_MOUNT, svc->def.cgroup) < 0)
                return;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, "1", 1) != 1)
                log_debug_errno(errno, "%s: cannot write %s: %m", svc->def.name, path);
}

void service_signal_group(const struct service *svc, int sig) {
        /* The group first: a service that forked workers has them stopped together with it. */
        if (svc->pid > 0) {
                kill(-svc->pid, sig);
                kill(svc->pid, sig);
        }
}

/* ---- logs ---- */

static int on_log_readable(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct service *svc = userdata;
        char buf[16384];
        (void)source;
        (void)revents;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0 && service_log_write(&svc->log, buf, (size_t)n) < 0)
                log_debug("%s: cannot write its log %s", svc->def.name, svc->log.path ?: "?");
        return 0;
}

int service_log_setup(struct service *svc) {
        struct supervisor *s = svc->sup;
        int fds[2];
        int r;

        if (s->journal)
                return 0; /* each run gets a journal stream of its own, see child_output_fd() */
        r = service_log_open(&svc->log, s->log_dir, svc->def.name, s->log_max_size, s->log_keep);
        if (r < 0)
                return log_error_errno(r, "%s: cannot open its log in %s: %m", svc->def.name, s->log_dir);
        service_log_set_timestamps(&svc->log, true);
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_error_errno(errno, "%s: cannot create its log pipe: %m", svc->def.name);
        svc->log_read_fd = fds[0];
        svc->log_write_fd = fds[1];
        /* Blocking writes for the service: a full pipe slows it down rather than losing lines. */
        fcntl(svc->log_write_fd, F_SETFL, 0);
        r = event_add_io(s->event, &svc->log_source, svc->log_read_fd, EPOLLIN, on_log_readable, svc);
        if (r < 0)
                return log_error_errno(r, "%s: cannot watch its log pipe: %m", svc->def.name);
        return 0;
}

/* A child of the supervisor as a fresh init would start it: no signal blocked, default
 * dispositions (the supervisor blocks the ones its event loop handles), a session of its own, stdin
 * /dev/null, stdout and stderr to out_fd (if any). */
static void child_reset(int out_fd) {
        sigset_t all;

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
}

pid_t service_spawn_drain(struct service *svc) {
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid > 0)
                return pid;
        /* No exec: the drain is this binary's own code, whatever binary embeds the supervisor. */
        child_reset(svc->log_write_fd);
        _exit(pod_drain("crictl", svc->def.drain_endpoint, svc->def.drain_grace_max) < 0 ? 1 : 0);
}

/* The output of a run: a journal stream of its own when the supervisor logs to the journal,
 * else the service's log pipe (none with the journal: a refused stream leaves the output where
 * the init's goes, as before). Opened here, in the child: libsystemd is then mapped only until
 * the exec, never in the long-lived init. The warning goes to the init's stderr, which the
 * child still has. */
static int child_output_fd(const struct service *svc) {
        if (!svc->sup->journal)
                return svc->log_write_fd;
        int fd = journal_stream_open(svc->def.name, LOG_INFO);
        if (fd < 0) {
                log_warning_errno(fd, "%s: no journal stream, its output is lost: %m", svc->def.name);
                return svc->log_write_fd;
        }
        return fd;
}

static _noreturn_ void service_exec_child(const struct service *svc) {
        /* Before child_reset(): that points stdout and stderr at the stream (the stream's own fd
         * is O_CLOEXEC, gone at exec). */
        child_reset(child_output_fd(svc));
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

int service_spawn(struct service *svc) {
        struct supervisor *s = svc->sup;

        if (svc->def.cgroup) {
                int r = cgroup_inside_create_leaf(svc->def.cgroup);
                if (r < 0)
                        return r;
        }
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "%s: cannot fork: %m", svc->def.name);
        if (pid == 0)
                service_exec_child(svc);

        svc->pid = pid;
        svc->started_mono = supervisor_now(s);
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
                supervisor_status_text(s, "Waiting for %s to accept connections on %s", svc->def.name,
                                       svc->def.ready_target);
        else
                supervisor_status_text(s, "Waiting for %s to answer http://127.0.0.1:%s", svc->def.name,
                                       svc->def.ready_target);
        return service_ready_wait_begin(svc);
}
