/* network.c: the slirp engine supervised from the launcher's event loop. */
#include "launcher/network.h"

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/config/config.h"
#include "launcher/engine_spawn.h"

/* An engine that keeps dying younger than this is restarted only after this long, so a crash
 * loop costs one exec a second rather than a whole CPU. */
#define ENGINE_RESTART_DELAY_USEC 1000000ULL

struct network_engine {
        event_loop *event;
        const struct network_options *options;
        int tap_fd;
        int program_fd; /* the engine program, a sealed memfd (engine_spawn.h) */
        int tcp_listen[2]; /* the kernel TCP path's listeners in the node, or -EBADF */
        char *state_dir;
        pid_t pid;
        uint64_t started_usec;
        unsigned restarts;
        unsigned early_deaths; /* deaths in a row, each less than a restart delay after its start */
        event_source *child_source;
        event_source *restart_source;
};

/* Write `text` to dir/name through a temporary file, so readers never see half a file. */
static int write_state_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t length = strlen(text);

        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, length) != (ssize_t)length) {
                int r = errno > 0 ? -errno : -EIO;
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = negative_errno();
                unlink(tmp);
                return r;
        }
        return 0;
}

int network_write_node_files(const struct network_options *options, const char *state_dir,
                             const char *hostname) {
        _cleanup_free_ char *resolv = NULL, *hosts = NULL, *names = NULL;
        char uts_name[HOST_NAME_MAX + 1] = "";
        int r;

        /* The node shares the host's UTS name until something sets its own, and kubelet takes
         * that name as its node name and resolves it for the node's address. Not in hosts, it
         * goes to DNS through slirp: seconds per lookup where the resolver is slow or
         * unreachable, on every node status kubelet builds (problem 13 in REFERENCE.md). */
        if (gethostname(uts_name, sizeof(uts_name) - 1) < 0 || strcmp(uts_name, hostname) == 0)
                uts_name[0] = '\0';
        if (asprintf(&names, "%s%s%s", hostname, uts_name[0] ? "\t" : "", uts_name) < 0)
                return log_error_errno(ENOMEM, "cannot render the node's hosts: %m");
        r = network_render_resolv_conf(options, &resolv);
        if (r >= 0)
                r = network_render_hosts(options, names, &hosts);
        if (r < 0)
                return log_error_errno(r, "cannot render the node's resolv.conf and hosts: %m");
        r = write_state_file(state_dir, "resolv.conf", resolv);
        if (r < 0)
                return log_error_errno(r, "cannot write %s/resolv.conf: %m", state_dir);
        r = write_state_file(state_dir, "hosts", hosts);
        if (r < 0)
                return log_error_errno(r, "cannot write %s/hosts: %m", state_dir);
        return 0;
}

int network_options_from_config(const struct config *config, struct network_options *ret) {
        struct network_options options;

        network_options_init_default(&options);
        for (const char *const *key = network_option_keys; *key; key++) {
                const char *value = config_get(config, "network", *key);
                const char *allowed = "";
                if (!value)
                        continue;
                int r = network_options_set(&options, *key, value, &allowed);
                if (r < 0) /* the schema's validator and this parser disagree: a bug, say so */
                        return log_error_errno(r, "%s: [network] %s = \"%s\": %s",
                                               config_origin(config, "network", *key), *key, value, allowed);
        }
        if (network_options_check(&options) < 0)
                return -EINVAL;
        *ret = options;
        return 0;
}

static int engine_on_exit(event_source *s, const siginfo_t *si, void *userdata);

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int engine_watch(struct network_engine *e) {
        int r;

        e->child_source = event_source_unref(e->child_source);
        r = event_add_child(e->event, &e->child_source, e->pid, WEXITED, engine_on_exit, e);
        if (r < 0) {
                kill(e->pid, SIGKILL);
                (void)waitpid(e->pid, NULL, 0);
                e->pid = 0;
                return log_error_errno(r, "cannot watch the slirp engine: %m");
        }
        return 0;
}

/* Wait for the engine's ready byte; EOF means it died setting itself up (and said why). */
static int engine_wait_ready(struct network_engine *e, int ready_fd) {
        char byte;
        ssize_t n;

        do
                n = read(ready_fd, &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1)
                return 0;
        (void)waitpid(e->pid, NULL, 0);
        e->pid = 0;
        if (e->options->sandbox)
                return log_error_errno(EIO, "the slirp engine did not start (see above); if its sandbox "
                                            "cannot be set up on this host, run with --net-sandbox=false "
                                            "or set [network] sandbox = false");
        return log_error_errno(EIO, "the slirp engine did not start (see above)");
}

/* Start an engine; with `wait_ready` (the first start) return only once it serves, so a host
 * where it cannot run fails the run instead of leaving the node silently offline. */
static int engine_fork(struct network_engine *e, bool wait_ready) {
        _cleanup_close_ int ready_read = -EBADF, ready_write = -EBADF;
        char pid_text[32];
        int r;

        if (wait_ready) {
                int pipe_fds[2];
                if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                        return log_error_errno(errno, "cannot create a pipe for the slirp engine: %m");
                ready_read = pipe_fds[0];
                ready_write = pipe_fds[1];
        }
        pid_t pid = engine_spawn(e->program_fd, e->options, e->tap_fd, e->tcp_listen, ready_write);
        if (pid < 0)
                return log_error_errno(pid, "cannot start the slirp engine: %m");
        e->pid = pid;
        e->started_usec = now_usec();
        closep(&ready_write);
        ready_write = -EBADF; /* only the engine's copy is left: its death means EOF */
        if (wait_ready) {
                r = engine_wait_ready(e, ready_read);
                if (r < 0)
                        return r;
        }
        if (e->event) {
                r = engine_watch(e);
                if (r < 0)
                        return r;
        }
        snprintf(pid_text, sizeof(pid_text), "%d\n", (int)pid);
        r = write_state_file(e->state_dir, NETWORK_ENGINE_PID_FILE, pid_text);
        if (r < 0)
                log_warning_errno(r, "cannot write %s/%s: %m", e->state_dir, NETWORK_ENGINE_PID_FILE);
        log_debug("slirp engine started, pid %d", (int)pid);
        return 0;
}

static int engine_on_restart_timer(event_source *s, uint64_t usec, void *userdata) {
        struct network_engine *e = userdata;
        (void)s;
        (void)usec;
        e->restart_source = event_source_unref(e->restart_source);
        (void)engine_fork(e, false); /* logged; the node stays up without network rather than dying */
        return 0;
}

static int engine_on_exit(event_source *s, const siginfo_t *si, void *userdata) {
        struct network_engine *e = userdata;
        uint64_t now = 0;
        (void)s;

        if (si->si_code == CLD_EXITED)
                log_warning(
                        "slirp engine (pid %d) exited with status %d; restarting it on the same tap device",
                        (int)si->si_pid, si->si_status);
        else
                log_warning(
                        "slirp engine (pid %d) killed by signal %s; restarting it on the same tap device",
                        (int)si->si_pid, strsignal(si->si_status));
        e->pid = 0;
        e->restarts++;
        now = now_usec();
        /* One early death is restarted at once; a second in a row means a crash loop. */
        if (now - e->started_usec >= ENGINE_RESTART_DELAY_USEC)
                e->early_deaths = 0;
        else
                e->early_deaths++;
        if (e->early_deaths < 2) {
                (void)engine_fork(e, false); /* logged */
                return 0;
        }
        int r = event_add_time_relative(e->event, &e->restart_source, CLOCK_MONOTONIC,
                                        ENGINE_RESTART_DELAY_USEC, 0, engine_on_restart_timer, e);
        if (r < 0)
                log_error_errno(r, "cannot schedule the slirp engine's restart: %m");
        return 0;
}

int network_engine_start(const struct network_options *options, int tap_fd, const int tcp_listen[2],
                         const char *state_dir, struct network_engine **ret) {
        _cleanup_(network_engine_freep) struct network_engine *e = NULL;
        int r;

        assert(tap_fd >= 0);
        e = calloc(1, sizeof(*e));
        if (!e) {
                close(tap_fd);
                for (int i = 0; i < 2; i++)
                        if (tcp_listen[i] >= 0)
                                close(tcp_listen[i]);
                return log_error_errno(ENOMEM, "%m");
        }
        e->tap_fd = tap_fd;
        e->tcp_listen[0] = tcp_listen[0];
        e->tcp_listen[1] = tcp_listen[1];
        e->options = options;
        e->program_fd = engine_program_open();
        if (e->program_fd < 0)
                // cppcheck-suppress memleak ; e is freed by its cleanup attribute
                return log_error_errno(
                        e->program_fd,
                        e->program_fd == -EACCES || e->program_fd == -EPERM
                                ? "cannot run the slirp engine from memory: this host refuses "
                                  "executable memfds (sysctl vm.memfd_noexec = 2?): %m"
                                : "cannot load the slirp engine program into memory: %m");
        e->state_dir = strdup(state_dir);
        if (!e->state_dir)
                // cppcheck-suppress memleak ; e is freed by its cleanup attribute
                return log_error_errno(ENOMEM, "%m");
        r = engine_fork(e, true);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

struct network_engine *network_engine_free(struct network_engine *e) {
        if (!e)
                return NULL;
        e->child_source = event_source_unref(e->child_source);
        e->restart_source = event_source_unref(e->restart_source);
        if (e->pid > 0) {
                kill(e->pid, SIGKILL);
                (void)waitpid(e->pid, NULL, 0);
        }
        if (e->state_dir) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", e->state_dir, NETWORK_ENGINE_PID_FILE) >= 0)
                        (void)unlink(path);
        }
        if (e->tap_fd >= 0)
                close(e->tap_fd);
        if (e->program_fd >= 0)
                close(e->program_fd);
        for (int i = 0; i < 2; i++)
                if (e->tcp_listen[i] >= 0)
                        close(e->tcp_listen[i]);
        free(e->state_dir);
        event_loop_unref(e->event);
        free(e);
        return NULL;
}

int network_engine_attach(struct network_engine *e, event_loop *event) {
        assert(!e->event);
        e->event = event_loop_ref(event);
        if (e->pid == 0)
                return engine_fork(e, false);
        return engine_watch(e);
}

pid_t network_engine_pid(const struct network_engine *engine) {
        return engine->pid;
}

unsigned network_engine_restarts(const struct network_engine *engine) {
        return engine->restarts;
}
