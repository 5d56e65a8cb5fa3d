/* run.c: `usernode run`: the launcher's sequence, top to bottom.
 *
 * The launcher stays in the host's namespaces with the user's own uid. It clones the node init
 * into new namespaces, has the setuid newuidmap/newgidmap write its id maps, waits until the
 * init reports READY, records the node in the state dir, then forwards signals to the init until
 * it exits and passes its exit status on. */
#include <assert.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "common/event_loop.h"

#include "cgroup/cgroup_node.h"
#include "cgroup/sd_bus_dl.h"
#include "common/channel.h"
#include "common/exit_status.h"
#include "common/heap.h"
#include "common/log.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/api/control_api.h"
#include "launcher/check/check.h"
#include "launcher/network.h"
#include "launcher/api/node_api.h"
#include "launcher/ports_setup.h"
#include "launcher/cli/run_options.h"
#include "launcher/run_services.h"
#include "launcher/statedir.h"
#include "netns/dial.h"
#include "launcher/idmap.h"
#include "launcher/node/node_init.h"
#include "launcher/node/node_protocol.h"
#include "netns/tap.h"

/* Signals passed on to the node (and by the init to the payload). */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct launcher {
        const struct run_options *options;
        struct statedir statedir;
        char *user;
        struct id_mapping uid_mapping, gid_mapping;
        int channel_fd;
        int dial_fd; /* the launcher's end of the dial channel; -EBADF with --net=host */
        pid_t init_pid;
        event_loop *event;
        bool with_services; /* no command: the node runs crio, kubelet, ... */
        struct run_services services;
        /* [cgroup] of the node's configuration */
        struct cgroup_options cgroup_options;
        struct cgroup_node cgroup;
        struct network_options network; /* --net=slirp */
        struct network_engine *engine; /* --net=slirp, once the node handed over tap0 */
        int tcp_listen[2]; /* tcp_path = kernel: the node's listeners, until the engine takes them */
        bool tcp_kernel; /* the engine got those listeners: the node's TCP takes the kernel path */
        int tcp_fallback; /* tcp_path = kernel: the node's errno when its rules failed, else 0 */
        char tcp_path_detail[256]; /* for node.status: why TCP is on slirp after all */
        struct control_api *api;
        struct portfwd *portfwd;
        struct node_api_context node_api; /* node.status, node.stop */
};

/* Kill the init (and so the whole node) and collect its status: the undo of a failed start. */
static int init_kill_and_wait(pid_t pid) {
        int status = 0;
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return exit_code_of(status);
}

static int lookup_id_mappings(struct launcher *l) {
        struct passwd *pw = getpwuid(getuid());
        _cleanup_free_ struct id_range *uids = NULL, *gids = NULL;
        int n_uids, n_gids;

        if (pw)
                l->user = strdup(pw->pw_name);
        else if (asprintf(&l->user, "%u", (unsigned)getuid()) < 0)
                l->user = NULL;
        if (!l->user)
                return -ENOMEM;

        n_uids = idmap_lookup_subids(ID_KIND_UID, l->user, getuid(), &uids);
        if (n_uids < 0)
                return log_error_errno(n_uids, "cannot read %s: %m", idmap_subid_file(ID_KIND_UID));
        n_gids = idmap_lookup_subids(ID_KIND_GID, l->user, getgid(), &gids);
        if (n_gids < 0)
                return log_error_errno(n_gids, "cannot read %s: %m", idmap_subid_file(ID_KIND_GID));
        idmap_build(getuid(), uids, (size_t)n_uids, l->user, ID_KIND_UID, &l->uid_mapping);
        idmap_build(getgid(), gids, (size_t)n_gids, l->user, ID_KIND_GID, &l->gid_mapping);
        return 0;
}

static int namespace_flags(const struct run_options *options) {
        /* The cgroup namespace is made by the init itself once it sits in the node's cgroup. */
        int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (options->net != NET_MODE_HOST)
                flags |= CLONE_NEWNET;
        return flags;
}

/* Clone the node init; returns its pid in the parent, never returns in the child. */
static pid_t spawn_node_init(struct launcher *l, int init_channel_fd, int init_dial_fd) {
        int flags = namespace_flags(l->options);

        fflush(NULL); /* or buffered output would be written twice */
        /* A plain fork with namespace flags: the raw syscall gives fork semantics without a stack. */
        pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid != 0)
                return pid < 0 ? negative_errno() : pid;

        /* Kept for the node (its resolv.conf and hosts), out of reach of statedir_close() below. */
        char *state_dir = l->statedir.path;
        l->statedir.path = NULL;
        struct node_init_config config = {
                .channel_fd = init_channel_fd,
                .dial_fd = init_dial_fd,
                .own_network = l->options->net != NET_MODE_HOST,
                .cgroup_delegated = l->cgroup.delegation != CGROUP_DELEGATION_NONE,
                .network = l->options->net == NET_MODE_SLIRP ? &l->network : NULL,
                .state_dir = state_dir,
                .command = l->options->command,
                .services_settings = l->with_services ? &l->services.settings : NULL,
                .services_tools = l->with_services ? &l->services.tools : NULL,
                .services_plan = l->services.plan, /* the init's own copy now (NULL with a command) */
        };
        closep(&l->channel_fd);
        closep(&l->dial_fd);
        statedir_close(&l->statedir); /* the launcher holds the lock, not the node */
        node_init_main(&config);
}

static int write_id_maps(struct launcher *l) {
        bool full_uids, full_gids;
        int r;

        r = idmap_apply(l->init_pid, &l->uid_mapping, &l->gid_mapping, l->user, &full_uids, &full_gids);
        if (r < 0)
                return log_error_errno(r, "cannot write the node's id maps: %m");
        log_debug("node ids: %s uids, %s gids", full_uids ? "subordinate" : "own only",
                  full_gids ? "subordinate" : "own only");
        return 0;
}

/* tap0 from the init: start the engine on it, then let the init go on to READY. */
static int start_engine(struct launcher *l, int tap_fd) {
        l->tcp_kernel = l->tcp_listen[0] >= 0 || l->tcp_listen[1] >= 0;
        int r = network_engine_start(&l->network, tap_fd, l->tcp_listen, l->statedir.path, &l->engine);
        l->tcp_listen[0] = l->tcp_listen[1] = -EBADF; /* the engine object's now */
        if (r < 0)
                return r;
        return channel_send(l->channel_fd, NODE_MSG_ENGINE_UP, NULL, 0, -EBADF);
}

/* Block until the init reports READY, starting the slirp engine when tap0 arrives before it.
 * Returns 0, or the init's exit code when it died first (it logged why). */
static int wait_for_ready(struct launcher *l) {
        struct channel_message message;
        int fd, r;

        for (;;) {
                r = channel_recv(l->channel_fd, &message, &fd);
                if (r == 0 && message.type == NODE_MSG_TCP_LISTENER && fd >= 0 && message.length == 1 &&
                    !l->engine) {
                        int *slot = &l->tcp_listen[message.payload[0] == '6'];
                        if (*slot >= 0)
                                close(*slot);
                        *slot = fd;
                        continue;
                }
                if (r == 0 && message.type == NODE_MSG_TCP_FALLBACK && message.length == sizeof(int32_t) &&
                    !l->engine) {
                        int32_t error;
                        memcpy(&error, message.payload, sizeof(error));
                        /* Only ever shown; bounded so strerror() names something real. */
                        l->tcp_fallback = error > 0 && error < 4096 ? error : EIO;
                        if (fd >= 0)
                                close(fd);
                        continue;
                }
                if (r < 0 || message.type != NODE_MSG_TAP_FD || fd < 0 || l->engine)
                        break;
                if (start_engine(l, fd) < 0) {
                        init_kill_and_wait(l->init_pid);
                        l->init_pid = 0;
                        return EXIT_RUNTIME;
                }
        }
        if (fd >= 0)
                close(fd);
        if (r == 0 && message.type == NODE_MSG_READY)
                return 0;
        int code = init_kill_and_wait(l->init_pid);
        l->init_pid = 0;
        return code != 0 ? code : EXIT_RUNTIME;
}

static int on_forwarded_signal(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct launcher *l = userdata;
        (void)source;
        kill(l->init_pid, (int)si->ssi_signo);
        return 0;
}

static int on_init_exit(event_source *source, const siginfo_t *si, void *userdata) {
        struct launcher *l = userdata;
        (void)source;
        l->init_pid = 0;
        /* What is left is cleanup: a run started now waits for our lock instead of failing. */
        (void)statedir_mark_stopping(&l->statedir);
        int code = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        /* A one-off command's status comes back as the init's exit status, so only a node whose
         * init itself was killed, or whose services' init failed, is worth a word. */
        if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
                log_error("the node init (pid %d) was killed by SIG%s%s; the node is gone", (int)si->si_pid,
                          sigabbrev_np(si->si_status) ?: "?",
                          si->si_code == CLD_DUMPED ? " (core dumped)" : "");
        else if (l->with_services && code != 0)
                log_error("the node init (pid %d) exited with status %d; the node is gone", (int)si->si_pid,
                          code);
        return event_loop_exit(l->event, code);
}

/* Messages from the init after READY: how the node's services are doing. */
static int on_init_message(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct launcher *l = userdata;
        struct channel_message message;
        (void)source;
        (void)revents;
        int r = channel_recv_message(fd, &message);
        if (r == -ECONNRESET)
                return event_source_set_enabled(source,
                                                EVENT_OFF); /* the init exits; its child event follows */
        if (r >= 0)
                r = node_status_on_message(&l->services.status, &message);
        if (r < 0 && r != -EAGAIN)
                log_debug_errno(r, "bad message from the node init: %m");
        return 0;
}

static int event_loop_setup(struct launcher *l) {
        int r = event_loop_new(&l->event);
        if (r < 0)
                return r;
        /* Under systemd with WatchdogSec=, the loop sends WATCHDOG=1 at half the interval. */
        r = event_loop_set_watchdog(l->event, true);
        if (r < 0)
                return r;
        r = event_add_io(l->event, NULL, l->channel_fd, EPOLLIN, on_init_message, l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++) {
                r = event_add_signal(l->event, NULL, forwarded_signals[i], on_forwarded_signal, l);
                if (r < 0)
                        return r;
        }
        if (l->engine) {
                r = network_engine_attach(l->engine, l->event);
                if (r < 0)
                        return r;
        }
        return event_add_child(l->event, NULL, l->init_pid, WEXITED, on_init_exit, l);
}

static int block_signals(void) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        /* Blocked from the start: a signal during start-up waits for the event loop instead of
         * killing the launcher half-way. The init inherits the mask and handles them the same way. */
        return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? negative_errno() : 0;
}

/* The TCP path the node's outbound TCP takes: what the init handed over, not what was asked for;
 * NULL without a network of its own. Any detail goes to l->tcp_path_detail. */
static const char *launcher_tcp_path(struct launcher *l) {
        if (l->options->net != NET_MODE_SLIRP)
                return NULL;
        if (l->tcp_kernel)
                return "kernel";
        if (l->network.tcp_kernel) {
                int e = l->tcp_fallback ?: EIO;
                /* The launcher never calls setlocale(): strerror() is the C locale's ASCII. */
                snprintf(l->tcp_path_detail, sizeof(l->tcp_path_detail),
                         "tcp_path = kernel could not be set up in the node (nf_tables with nat, redir "
                         "and fib): %s (%s)",
                         strerror(e), strerrorname_np(e) ?: "?");
        }
        return "slirp";
}

/* `usernode stop`: the same ordered stop as SIGTERM to the launcher. */
static void launcher_stop_node(void *userdata) {
        struct launcher *l = userdata;
        if (l->init_pid > 0)
                kill(l->init_pid, SIGTERM);
}

static int launcher_register_node_api(struct launcher *l) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        bool slirp = l->options->net == NET_MODE_SLIRP;
        l->node_api = (struct node_api_context){
                .name = l->options->node,
                .init_pid = l->init_pid,
                .started_realtime = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000,
                .network_mode = net_mode_name(l->options->net),
                .mtu = slirp ? (unsigned)config_get_int(l->options->config, "network", "mtu") : 0,
                .cidr = slirp ? config_get(l->options->config, "network", "cidr") : NULL,
                .tcp_path = launcher_tcp_path(l),
                .tcp_path_detail = l->tcp_path_detail[0] ? l->tcp_path_detail : NULL,
                .services = l->with_services ? &l->services.status : NULL,
                .cgroup = cgroup_node_describe(&l->cgroup),
                .cgroup_delegation = l->cgroup.delegation == CGROUP_DELEGATION_SYSTEMD    ? "systemd"
                                     : l->cgroup.delegation == CGROUP_DELEGATION_EXISTING ? "existing"
                                                                                          : "none",
                .cgroup_controllers = l->cgroup.controllers,
                .stop = launcher_stop_node,
                .stop_userdata = l,
        };
        return node_api_register(l->api, &l->node_api);
}

/* Everything after the init exists: on failure the init is killed, which takes the node down. */
static int launcher_start_node(struct launcher *l) {
        int r;

        /* The maps are written from outside: only the parent user namespace may do it. */
        r = write_id_maps(l);
        if (r < 0)
                return r;

        /* On MAPS_WRITTEN the init unshares its cgroup namespace, rooted where it is then. */
        r = cgroup_node_attach(&l->cgroup, l->init_pid);
        if (r < 0)
                return init_kill_and_wait(l->init_pid), EXIT_RUNTIME;

        r = channel_send(l->channel_fd, NODE_MSG_MAPS_WRITTEN, NULL, 0, -EBADF);
        if (r < 0)
                return log_error_errno(r, "cannot reach the node init: %m");

        r = wait_for_ready(l);
        if (r != 0)
                return r; /* the init died and said why; r is its exit code */

        r = statedir_write_pids(&l->statedir, getpid(), l->init_pid);
        if (r < 0)
                log_warning_errno(r, "cannot write the pid files in %s: %m", l->statedir.path);

        r = event_loop_setup(l);
        if (r < 0)
                return log_error_errno(r, "cannot set up the event loop: %m");

        r = control_api_new(l->event, l->statedir.path, &l->api);
        if (r < 0)
                return log_error_errno(r, "cannot create the control socket in %s: %m", l->statedir.path);
        r = ports_setup(l->event, TAKE_FD(l->dial_fd), l->options, l->api, &l->portfwd);
        if (r < 0)
                return r;
        if (l->with_services) {
                r = run_services_start_cluster(&l->services, l->event, l->api, l->portfwd);
                if (r < 0)
                        return r;
        }
        r = launcher_register_node_api(l);
        if (r < 0)
                return log_error_errno(r, "cannot serve node.status on the control socket: %m");

        return event_loop_run(l->event);
}

static int launcher_run(struct launcher *l) {
        _cleanup_free_ char *state_path = NULL;
        int channel[2];
        int r;

        /* Refuse early, with the cause, what the kernel would refuse later with a bare EPERM. */
        if (check_run_userns() < 0)
                return EXIT_HOST;

        if (l->options->net == NET_MODE_SLIRP) {
                if (network_options_from_config(l->options->config, &l->network) < 0)
                        return EXIT_USAGE;
                if (check_run_tun() < 0)
                        return EXIT_HOST;
        }

        /* Joining a cluster: discovery before anything of the node exists, so a wrong server, token
         * or hash leaves nothing behind. */
        if (!l->options->command) {
                l->with_services = true;
                r = run_services_discover(&l->services, l->options->config, l->options->node);
                if (r != 0)
                        return r;
        }

        r = lookup_id_mappings(l);
        if (r < 0)
                return EXIT_RUNTIME;

        r = statedir_resolve(l->options->node, l->options->state_dir, true, &state_path);
        if (r < 0)
                return EXIT_RUNTIME;
        r = statedir_acquire(&l->statedir, l->options->node, state_path);
        if (r < 0)
                return r == -EBUSY || r == -EPERM ? EXIT_USAGE : EXIT_RUNTIME; /* running; unsafe dir */

        /* Before the clone: the init must start in the node's delegated cgroup, and the launcher
         * must have left it for a leaf so controllers can be enabled. Asked for here, finished
         * below: systemd starts the scope while the node's files are written. */
        r = cgroup_node_begin(&l->cgroup_options, l->options->node, &l->cgroup);
        if (r < 0)
                return r == -EOPNOTSUPP ? EXIT_HOST : EXIT_RUNTIME;

        /* No command: the node's services. A missing crio or a bad INI file stops us here, before
         * any namespace exists. */
        if (!l->options->command) {
                _cleanup_free_ char *getsubids = NULL;
                struct pod_userns_host pod_host = {
                        .getsubids = find_executable("getsubids", &getsubids) >= 0,
                        .user = l->user,
                        .free_start = idmap_free_subid_start(),
                };
                idmap_to_pod_userns_map(&l->uid_mapping, &pod_host.uids);
                idmap_to_pod_userns_map(&l->gid_mapping, &pod_host.gids);
                r = run_services_prepare(&l->services, l->options->config, l->options->node, state_path,
                                         l->options->config_path,
                                         l->cgroup.delegation != CGROUP_DELEGATION_NONE, &pod_host);
                if (r != 0)
                        return r;
        }

        if (l->options->net == NET_MODE_SLIRP &&
            network_write_node_files(&l->network, l->statedir.path, l->options->node) < 0)
                return EXIT_RUNTIME;

        r = cgroup_node_finish(&l->cgroup_options, &l->cgroup);
        if (r < 0)
                return EXIT_RUNTIME;

        r = block_signals();
        if (r < 0) {
                log_error_errno(r, "cannot block signals: %m");
                return EXIT_RUNTIME;
        }

        r = channel_pair(channel);
        if (r < 0) {
                log_error_errno(r, "cannot create the node's control channel: %m");
                return EXIT_RUNTIME;
        }
        l->channel_fd = channel[0];

        /* The port forwarder's own channel to the dial helper in the node (netns/dial.h): with
         * --net=host the node's ports are the host's already. */
        int dial[2] = { -EBADF, -EBADF };
        if (l->options->net != NET_MODE_HOST) {
                r = dial_pair(dial);
                if (r < 0) {
                        log_error_errno(r, "cannot create the node's dial channel: %m");
                        close(channel[1]);
                        return EXIT_RUNTIME;
                }
                l->dial_fd = dial[0];
        }

        /* cgroup_node_finish() dropped the last bus: the init, a fork, keeps no libsystemd. */
        assert(!sd_bus_dl_is_open());
        pid_t pid = spawn_node_init(l, channel[1], dial[1]);
        close(channel[1]);
        closep(&dial[1]);
        if (pid < 0) {
                /* ENOSPC: a max_user_namespaces limit was reached; EPERM/EACCES: a policy said no. */
                log_error_errno(pid, "cannot create the node's namespaces: %m");
                return EXIT_HOST;
        }
        l->init_pid = pid;
        /* Now, not before: the node init and the node's workloads keep the host's THP setting. */
        r = heap_refuse_huge_pages();
        if (r < 0)
                log_debug_errno(r, "cannot turn transparent huge pages off for the launcher: %m");

        r = launcher_start_node(l);
        if (l->init_pid > 0)
                init_kill_and_wait(l->init_pid);
        return r < 0 ? EXIT_RUNTIME : r;
}

int cmd_run(int argc, char **argv) {
        struct run_options options;
        struct launcher l = {
                .options = &options,
                .statedir = STATEDIR_INIT,
                .channel_fd = -EBADF,
                .cgroup = CGROUP_NODE_NULL,
                .dial_fd = -EBADF,
                .tcp_listen = { -EBADF, -EBADF },
        };
        int r;

        r = run_options_parse(argc, argv, &options);
        if (r != 0) {
                run_options_done(&options);
                return r > 0 ? 0 : EXIT_USAGE;
        }

        /* [cgroup]: validated against the schema when loaded. */
        l.cgroup_options.mode = cgroup_mode_from_string(config_get(options.config, "cgroup", "delegate"));
        l.cgroup_options.require = config_get_bool(options.config, "cgroup", "require");
        /* A one-off command is not a node: no warning on every run about cgroups it does not need. */
        l.cgroup_options.quiet = options.command != NULL;
        int code = launcher_run(&l);
        /* Before the state dir goes: the control socket lives there. */
        control_api_free(l.api);
        if (l.with_services)
                run_services_stop_cluster(&l.services);
        portfwd_free(l.portfwd);
        closep(&l.dial_fd);
        /* Whatever the node left (a daemon that double-forked out of the payload's reach in the
         * pid namespace cannot, but a failed start can leave an empty G/node): gone before we exit. */
        if (cgroup_node_kill(&l.cgroup) < 0 || cgroup_node_remove(&l.cgroup) < 0)
                code = code ?: EXIT_RUNTIME;
        cgroup_node_done(&l.cgroup);
        l.engine = network_engine_free(l.engine);
        closep(&l.tcp_listen[0]);
        closep(&l.tcp_listen[1]);
        run_options_done(&options);
        statedir_release(&l.statedir);
        /* The loop first: its watch on the channel (a floating source) is removed from epoll
         * while the fd is still open, and cannot hit a later file that reuses the number. */
        event_loop_unref(l.event);
        closep(&l.channel_fd);
        if (l.with_services)
                run_services_done(&l.services);
        free(l.user);
        return code;
}
