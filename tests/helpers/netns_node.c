/* netns_node: a minimal node for testing the network on its own: user + mount + network
 * namespaces, the node's network set up exactly as the node init does it, the slirp engine
 * supervised exactly as the launcher does it, then CMD run inside.
 *
 *   netns_node STATE_DIR [KEY=VALUE...] -- CMD [ARG...]
 *
 * KEY=VALUE are [network] options. Exit status: CMD's, or 2 for a bad option, 3 when the host
 * cannot give the node a tap device. */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/channel.h"
#include "common/log.h"
#include "launcher/network.h"
#include "netns/mounts.h"
#include "netns/netconf.h"
#include "netns/node_network.h"
#include "netns/tap.h"

enum { MSG_TAP_FD = 100, MSG_GO };

static int write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f)
                return negative_errno();
        int r = fputs(text, f) < 0 ? -EIO : 0;
        if (fclose(f) != 0 && r == 0)
                r = negative_errno();
        return r;
}

/* The node side: namespaces, network, resolv.conf, then CMD. */
static _Noreturn void node_main(int channel, const struct network_options *options, const char *state_dir,
                                char **command) {
        struct channel_message message;
        char map[64];
        int fd, r;
        uid_t uid = geteuid();
        gid_t gid = getegid();

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWUSER) < 0) {
                log_error_errno(errno, "unshare(CLONE_NEWUSER): %m");
                _exit(EXIT_HOST);
        }
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
        if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/uid_map", map) < 0) {
                log_error_errno(errno, "cannot write the uid map: %m");
                _exit(EXIT_RUNTIME);
        }
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
        if (write_text("/proc/self/gid_map", map) < 0) {
                log_error_errno(errno, "cannot write the gid map: %m");
                _exit(EXIT_RUNTIME);
        }
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
                log_error_errno(errno, "unshare(CLONE_NEWNET|CLONE_NEWNS): %m");
                _exit(EXIT_RUNTIME);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                _exit(EXIT_RUNTIME);

        if (netconf_link_up("lo") < 0)
                _exit(EXIT_RUNTIME);
        fd = node_network_setup(options);
        if (fd < 0)
                _exit(fd == -ENODEV ? EXIT_HOST : EXIT_RUNTIME);
        r = channel_send(channel, MSG_TAP_FD, NULL, 0, fd);
        close(fd);
        if (r < 0)
                _exit(EXIT_RUNTIME);
        if (mounts_copy_up("/etc") < 0 || node_network_bind_files(state_dir) < 0)
                _exit(EXIT_RUNTIME);
        if (channel_recv(channel, &message, &fd) < 0 || message.type != MSG_GO)
                _exit(EXIT_RUNTIME);
        close(channel);
        execvp(command[0], command);
        log_error_errno(errno, "cannot run %s: %m", command[0]);
        _exit(127);
}

static int on_node_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        (void)userdata;
        return sd_event_exit(sd_event_source_get_event(s),
                             si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status);
}

int main(int argc, char **argv) {
        struct network_options options;
        _cleanup_(network_engine_freep) struct network_engine *engine = NULL;
        sd_event *event = NULL;
        struct channel_message message;
        int channel[2], tap_fd, r, i;
        sigset_t mask;

        log_set_prefix("netns_node");
        if (getenv("NETNS_NODE_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        if (argc < 4) {
                log_error("usage: netns_node STATE_DIR [KEY=VALUE...] -- CMD [ARG...]");
                return EXIT_USAGE;
        }
        const char *state_dir = argv[1];
        network_options_init_default(&options);
        for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
                const char *allowed = NULL;
                char *eq = strchr(argv[i], '=');
                if (!eq) {
                        log_error("option \"%s\" is not KEY=VALUE", argv[i]);
                        return EXIT_USAGE;
                }
                *eq = '\0';
                r = network_options_set(&options, argv[i], eq + 1, &allowed);
                if (r == -ENOENT) {
                        log_error("unknown [network] key \"%s\"", argv[i]);
                        return EXIT_USAGE;
                }
                if (r < 0) {
                        log_error("[network] %s = \"%s\" is not valid; allowed: %s", argv[i], eq + 1,
                                  allowed);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc - 1) {
                log_error("no command after --");
                return EXIT_USAGE;
        }
        if (network_options_check(&options) < 0)
                return EXIT_USAGE;
        if (tap_check_device() < 0)
                return EXIT_HOST;
        if (network_write_node_files(&options, state_dir, "netns-node") < 0)
                return EXIT_RUNTIME;

        /* sd-event child sources need SIGCHLD blocked before any child exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if (channel_pair(channel) < 0)
                return EXIT_RUNTIME;
        pid_t node = fork();
        if (node < 0)
                return EXIT_RUNTIME;
        if (node == 0) {
                close(channel[0]);
                node_main(channel[1], &options, state_dir, argv + i + 1);
        }
        close(channel[1]);

        r = channel_recv(channel[0], &message, &tap_fd);
        if (r < 0 || message.type != MSG_TAP_FD || tap_fd < 0) {
                int status;
                waitpid(node, &status, 0);
                return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : EXIT_RUNTIME;
        }
        if (network_engine_start(&options, tap_fd, state_dir, &engine) < 0)
                return EXIT_RUNTIME;
        if (sd_event_default(&event) < 0 || network_engine_attach(engine, event) < 0)
                return EXIT_RUNTIME;
        if (sd_event_add_child(event, NULL, node, WEXITED, on_node_exit, NULL) < 0)
                return EXIT_RUNTIME;
        if (channel_send(channel[0], MSG_GO, NULL, 0, -1) < 0)
                return EXIT_RUNTIME;
        r = sd_event_loop(event);
        engine = network_engine_free(engine);
        sd_event_unref(event);
        return r < 0 ? EXIT_RUNTIME : r;
}
