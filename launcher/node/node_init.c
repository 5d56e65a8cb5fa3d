/* node_init.c: PID 1 of the node.
 *
 * The setup steps run top to bottom in node_init_main(), each where it must happen: those that
 * act on the init itself (credentials, its cgroup namespace and leaf) in the init, those that act
 * on the node's shared namespaces (mounts, links, tap0) in a short-lived child, so that their
 * pages never count in PID 1's memory for the node's life (setup_child.h); after
 * READY the init is a small event loop: reap every child (it is PID 1, orphans come to it),
 * forward the launcher's signals to the payload, exit when the payload exits. */
#include "launcher/node/node_init.h"

#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "common/event_loop.h"

#include "cgroup/cgroup_inside.h"
#include "common/channel.h"
#include "common/exit_status.h"
#include "common/fileio.h"
#include "common/log.h"
#include "launcher/node/node_services.h"
#include "netns/dial.h"
#include "launcher/node/mounts.h"
#include "netns/netconf.h"
#include "launcher/node/node_network.h"
#include "launcher/node/node_protocol.h"
#include "launcher/node/setup_child.h"

/* Signals the launcher forwards and the init passes on to the payload. */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct node_init {
        const struct node_init_config *config;
        event_loop *event;
        pid_t payload_pid;
        struct node_services *services; /* instead of a payload: crio, kubelet, ... */
        struct dial_helper *dial_helper; /* opens sockets in the node for the port forwarder */
};

static int on_sigchld(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct node_init *init = userdata;
        int status;
        pid_t pid;

        (void)source;
        (void)si;
        /* Reap everything: as PID 1 every orphan of the node becomes our child. */
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                if (init->services)
                        node_services_child_exited(init->services, pid, status);
                else if (pid == init->payload_pid) {
                        init->payload_pid = 0;
                        event_loop_exit(init->event, exit_code_of(status));
                }
        return 0;
}

static int on_forwarded_signal(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct node_init *init = userdata;
        (void)source;
        if (init->services) {
                /* The node's services: SIGTERM/SIGINT stop them in order, SIGHUP reloads. */
                if (si->ssi_signo == SIGTERM || si->ssi_signo == SIGINT)
                        node_services_stop(init->services);
                else if (si->ssi_signo == SIGHUP)
                        node_services_reload(init->services);
        } else if (init->payload_pid > 0)
                kill(init->payload_pid, (int)si->ssi_signo);
        return 0;
}

static int on_launcher_message(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct node_init *init = userdata;
        struct channel_message message;

        (void)source;
        (void)revents;
        int r = channel_recv_message(fd, &message);
        if (r == -ECONNRESET || r == -EPIPE) {
                /* The launcher is gone; PR_SET_PDEATHSIG normally got here first. */
                return event_loop_exit(init->event, EXIT_RUNTIME);
        }
        if (r < 0 && r != -EAGAIN)
                log_warning_errno(r, "node init: bad message from the launcher: %m");
        return 0;
}

/* fork + exec the payload with the signal mask and dispositions a fresh process expects: a
 * launcher started in the background by a shell inherits SIGINT and SIGQUIT ignored, and a
 * payload that inherited that could never be stopped by them, nor trap them. */
static int payload_start(char **argv, pid_t *ret_pid) {
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                sigset_t none;
                for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                        signal(forwarded_signals[i], SIG_DFL);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execvp(argv[0], argv);
                log_error_errno(errno, "cannot execute %s: %m", argv[0]);
                _exit(127);
        }
        *ret_pid = pid;
        return 0;
}

static void on_services_stopped(void *userdata) {
        struct node_init *init = userdata;
        event_loop_exit(init->event, 0);
}

/* The payload is either the command or the node's services. */
static int node_payload_start(struct node_init *init) {
        const struct node_init_config *config = init->config;
        if (config->services_settings) {
                const struct node_services_config services = {
                        .settings = config->services_settings,
                        .tools = config->services_tools,
                        .plan = config->services_plan,
                        .channel_fd = config->channel_fd,
                        .own_network = config->own_network,
                };
                return node_services_start(init->event, &services, on_services_stopped, init,
                                           &init->services);
        }
        /* The command is PID 2 (README.md), as it was before the setup child (setup_child.h) took
         * that pid: it is free again, and the node's root may say where its pid namespace goes on
         * counting. Nothing else of the node exists yet to get it first. */
        int r = write_string_file("/proc/sys/kernel/ns_last_pid", "1");
        if (r < 0)
                log_debug_errno(r, "cannot let the command be PID 2: %m");
        r = payload_start(config->command, &init->payload_pid);
        if (r < 0)
                log_error_errno(r, "cannot start %s: %m", config->command[0]);
        return r;
}

static int event_loop_setup(struct node_init *init) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        /* The event loop reads signals from a signalfd, which only sees blocked signals. */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();

        r = event_loop_new(&init->event);
        if (r < 0)
                return r;
        r = event_add_signal(init->event, NULL, SIGCHLD, on_sigchld, init);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++) {
                r = event_add_signal(init->event, NULL, forwarded_signals[i], on_forwarded_signal, init);
                if (r < 0)
                        return r;
        }
        return event_add_io(init->event, NULL, init->config->channel_fd, EPOLLIN, on_launcher_message, init);
}

/* Become root of the user namespace in every id, with no supplementary groups of the host. */
static int become_node_root(void) {
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return negative_errno();
        /* Denied when only one gid is mapped (setgroups=deny); the groups are unmapped then anyway. */
        if (setgroups(0, NULL) < 0 && errno != EPERM)
                return negative_errno();
        return 0;
}

static int wait_for_maps(int channel_fd) {
        struct channel_message message;
        int r = channel_recv_message(channel_fd, &message);
        if (r < 0)
                return r;
        return message.type == NODE_MSG_MAPS_WRITTEN ? 0 : -EBADMSG;
}

/* The node's mounts, lo and tap0 (with the kernel TCP path's rules): all of it acts on the
 * node's namespaces, none on the calling process, so it runs in a short-lived child
 * (setup_child.h) and PID 1 never maps the pages of its code (libnftnl's among them). The tap's
 * fd and the TCP listeners go to the launcher over the channel the child shares. Returns an exit
 * code; errors are logged. */
static int node_namespaces_setup(void *userdata) {
        const struct node_init_config *config = userdata;
        int r;

        if (mounts_setup_node(config->own_network) < 0)
                return EXIT_RUNTIME;

        if (config->own_network) {
                r = netconf_link_up("lo");
                if (r < 0) {
                        log_error_errno(r, "cannot bring up lo in the node: %m");
                        return EXIT_RUNTIME;
                }
        }

        /* tap0 before READY: the launcher starts the engine on it at once, so the payload has
         * its network from its first instruction; resolv.conf after the copy-up of /etc. */
        if (config->network) {
                /* Pods only come with the services: a command's node has none to masquerade. */
                bool masquerade_pods = config->services_settings && config->services_settings->cni_ip_masq;
                r = node_network_handover(config->network, masquerade_pods, config->state_dir,
                                          config->channel_fd);
                if (r < 0)
                        return r == -ENODEV || r == -EPROTONOSUPPORT ? EXIT_HOST : EXIT_RUNTIME;
        }
        return 0;
}

_Noreturn void node_init_main(const struct node_init_config *config) {
        struct node_init init = { .config = config };
        int r;

        log_set_prefix("usernode: node");

        /* If the launcher dies, so does the node: as PID 1 our death takes every process of the
         * node's pid namespace with it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(EXIT_RUNTIME);

        /* Until the maps are written we are nobody in the new namespace. An EOF here means the
         * launcher died before PR_SET_PDEATHSIG took hold. */
        r = wait_for_maps(config->channel_fd);
        if (r < 0)
                _exit(EXIT_RUNTIME);

        /* The setuid newuidmap runs while we wait; changing credentials below also resets the
         * parent-death signal, so arm it again afterwards. */
        r = become_node_root();
        if (r < 0) {
                log_error_errno(r, "cannot become root in the node's user namespace: %m");
                _exit(EXIT_RUNTIME);
        }
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(EXIT_RUNTIME);

        /* Now, not at clone time: the launcher has placed us in the node's cgroup, so the
         * namespace is rooted there. */
        if (unshare(CLONE_NEWCGROUP) < 0) {
                log_error_errno(errno, "cannot create the node's cgroup namespace: %m");
                _exit(EXIT_RUNTIME);
        }

        /* The mounts, lo and tap0 in a short-lived child: their code's pages leave with it. */
        r = setup_child_run("the node", node_namespaces_setup, (void *)config);
        if (r != 0)
                _exit(r);

        /* In the init itself, as it moves the init into its leaf /init; after the mounts (a fresh
         * /sys would hide it): our own cgroup2. */
        if (config->cgroup_delegated && cgroup_inside_setup() < 0)
                _exit(EXIT_RUNTIME);

        r = event_loop_setup(&init);
        if (r < 0) {
                log_error_errno(r, "node init: cannot set up its event loop: %m");
                _exit(EXIT_RUNTIME);
        }

        /* Before READY: the launcher publishes ports as soon as it hears it. */
        if (config->dial_fd >= 0) {
                r = dial_helper_new(init.event, config->dial_fd, &init.dial_helper);
                if (r < 0) {
                        log_error_errno(r, "node init: cannot start the dial helper: %m");
                        _exit(EXIT_RUNTIME);
                }
        }

        r = channel_send(config->channel_fd, NODE_MSG_READY, NULL, 0, -EBADF);
        if (r < 0)
                _exit(EXIT_RUNTIME);

        r = node_payload_start(&init);
        if (r < 0)
                _exit(EXIT_RUNTIME);

        r = event_loop_run(init.event);
        _exit(r < 0 ? EXIT_RUNTIME : r);
}
