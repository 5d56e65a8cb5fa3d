/* portfwd_harness.c: the port forwarder without the rest of the node, for tests and benchmarks.
 *
 *   portfwd_harness STATE_DIR [-p SPEC]... -- CMD [ARG]...
 *
 * Like `usernode run --net=none -p SPEC -- CMD`, minus mounts and id maps: a child enters new
 * user and network namespaces (only lo, up), runs CMD there and answers dial requests; this
 * process publishes the ports and serves STATE_DIR/api.sock until SIGTERM or SIGINT. CMD is
 * PID 1 of its own pid namespace: when the harness ends, everything it started ends. */
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/log.h"
#include "launcher/api/control_api.h"
#include "launcher/api/ports_api.h"
#include "netns/dial.h"
#include "netns/portfwd.h"

static int loopback_up(void) {
        struct ifreq ifr = {};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return negative_errno();
        return 0;
}

_Noreturn static void node_side(int dial_fd, char **command) {
        event_loop *event = NULL;
        struct dial_helper *helper = NULL;
        int r;

        /* A pid namespace too, so the whole payload dies with its first process. */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID) < 0)
                _exit(log_error_errno(errno, "harness: unshare: %m") ? 1 : 1);
        /* After unshare: a credential change clears the parent-death signal. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
                _exit(1);
        r = loopback_up();
        if (r < 0)
                _exit(log_error_errno(r, "harness: lo up: %m") ? 1 : 1);
        pid_t payload = fork();
        if (payload == 0) {
                close(dial_fd);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execvp(command[0], command);
                log_error_errno(errno, "harness: exec %s: %m", command[0]);
                _exit(127);
        }
        if (event_loop_new(&event) < 0 || dial_helper_new(event, dial_fd, &helper) < 0)
                _exit(1);
        event_loop_run(event);
        _exit(0);
}

int main(int argc, char **argv) {
        _cleanup_(event_loop_unrefp) event_loop *event = NULL;
        struct portfwd *pf = NULL;
        struct control_api *api = NULL;
        int fds[2], r, dash = -1;
        sigset_t mask;

        log_set_prefix("portfwd_harness");
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        dash = i;
                        break;
                }
        if (argc < 2 || dash < 0 || dash + 1 >= argc) {
                log_error("usage: portfwd_harness STATE_DIR [-p SPEC]... -- CMD...");
                return 2;
        }
        if (dial_pair(fds) < 0)
                return 1;
        pid_t child = fork();
        if (child < 0)
                return 1;
        if (child == 0) {
                close(fds[0]);
                node_side(fds[1], argv + dash + 1);
        }
        close(fds[1]);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (event_loop_new(&event) < 0 || event_add_signal(event, NULL, SIGTERM, NULL, NULL) < 0 ||
            event_add_signal(event, NULL, SIGINT, NULL, NULL) < 0)
                return 1;
        r = portfwd_new(event, fds[0], &pf);
        if (r < 0)
                return log_error_errno(r, "portfwd: %m") ? 1 : 1;
        r = control_api_new(event, argv[1], &api);
        if (r < 0)
                return log_error_errno(r, "control api in %s: %m", argv[1]) ? 1 : 1;
        r = ports_api_register(api, pf);
        if (r < 0)
                return 1;
        for (int i = 2; i + 1 < dash; i += 2) {
                struct port_spec spec;
                char error[512];
                if (strcmp(argv[i], "-p") != 0 ||
                    portspec_parse(argv[i + 1], &spec, error, sizeof(error)) < 0) {
                        log_error("bad argument %s %s", argv[i], argv[i + 1]);
                        return 2;
                }
                if (portfwd_add(pf, &spec, NULL, error, sizeof(error)) < 0) {
                        log_error("%s", error);
                        return 1;
                }
        }
        r = event_loop_run(event);
        control_api_free(api);
        portfwd_free(pf);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return r < 0 ? 1 : 0;
}
