/* cgroup_node_probe: the launcher's cgroup steps on their own, for the VM tests.
 *
 *   cgroup_node_probe [--mode auto|systemd|existing|none] [--require] NAME -- CMD...
 *
 * Does what `usernode run` does with cgroups, without the rest of a node: cgroup_node_prepare(),
 * forks the "node" (new user, mount, cgroup and pid namespaces; attached to G/node before it
 * unshares; cgroup_inside_setup() inside; CMD as PID 1 of the pid namespace, dying with the
 * launcher), waits for it, then cgroup_node_kill() and cgroup_node_remove(). SIGTERM/SIGINT stop
 * the node the same way. Prints "describe: <status line>", "ready", "node exit N" on stdout. */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cgroup/cgroup_inside.h"
#include "cgroup/cgroup_node.h"
#include "common/log.h"

static int write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                return negative_errno();
        return 0;
}

/* The node side: runs in the forked child once the launcher has attached it to G/node. */
static _Noreturn void node_main(bool delegated, char **command, uid_t uid, gid_t gid) {
        char map[64];
        pid_t pid1;
        int status;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWPID) < 0) {
                log_error_errno(errno, "probe: unshare: %m");
                _exit(EXIT_RUNTIME);
        }
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        if (write_file("/proc/self/uid_map", map) < 0 || write_file("/proc/self/setgroups", "deny") < 0) {
                log_error_errno(errno, "probe: uid_map: %m");
                _exit(EXIT_RUNTIME);
        }
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        if (write_file("/proc/self/gid_map", map) < 0) {
                log_error_errno(errno, "probe: gid_map: %m");
                _exit(EXIT_RUNTIME);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
                log_error_errno(errno, "probe: making / a slave: %m");
                _exit(EXIT_RUNTIME);
        }
        if (delegated && cgroup_inside_setup() < 0)
                _exit(EXIT_RUNTIME);

        pid1 = fork();
        if (pid1 < 0)
                _exit(EXIT_RUNTIME);
        if (pid1 == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* PID 1: everything in the pid namespace dies with it. A fresh /proc shows only the node. */
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        log_warning_errno(errno, "probe: mounting /proc: %m");
                execvp(command[0], command);
                log_error_errno(errno, "probe: cannot execute %s: %m", command[0]);
                _exit(127);
        }
        while (waitpid(pid1, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(EXIT_RUNTIME);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "mode", required_argument, NULL, 'm' },
                { "require", no_argument, NULL, 'r' },
                {},
        };
        _cleanup_(cgroup_node_done) struct cgroup_node node = CGROUP_NODE_NULL;
        struct cgroup_options cgopts = { .mode = CGROUP_MODE_AUTO };
        int go[2], c, r, status, sig;
        sigset_t mask;
        pid_t child;

        log_set_prefix("cgroup_node_probe");
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        cgopts.mode = cgroup_mode_from_string(optarg);
                        if (cgopts.mode < 0) {
                                log_error("--mode must be auto, systemd, existing or none");
                                return EXIT_USAGE;
                        }
                        break;
                case 'r':
                        cgopts.require = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (argc - optind < 2) {
                log_error("usage: cgroup_node_probe [--mode M] [--require] NAME -- CMD...");
                return EXIT_USAGE;
        }
        const char *name = argv[optind];
        char **command = argv + optind + 1;
        if (strcmp(command[0], "--") == 0 && command[1])
                command++;

        r = cgroup_node_prepare(&cgopts, name, &node);
        printf("describe: %s\n", cgroup_node_describe(&node));
        fflush(stdout);
        if (r < 0)
                return EXIT_RUNTIME;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if (pipe2(go, O_CLOEXEC) < 0)
                return EXIT_RUNTIME;
        child = fork();
        if (child < 0)
                return EXIT_RUNTIME;
        if (child == 0) {
                char byte;
                sigprocmask(SIG_UNBLOCK, &mask, NULL);
                close(go[1]);
                /* Wait until the launcher has put us into G/node: the cgroup namespace roots where we are. */
                if (read(go[0], &byte, 1) != 1)
                        _exit(EXIT_RUNTIME);
                node_main(node.delegation != CGROUP_DELEGATION_NONE, command, getuid(), getgid());
        }
        close(go[0]);
        r = cgroup_node_attach(&node, child);
        if (write(go[1], "g", 1) != 1 || r < 0) {
                kill(child, SIGKILL);
                return EXIT_RUNTIME;
        }
        close(go[1]);
        printf("ready\n");
        fflush(stdout);

        status = 0;
        for (;;) {
                sig = sigwaitinfo(&mask, NULL);
                if (sig == SIGCHLD) {
                        if (waitpid(child, &status, WNOHANG) == child)
                                break;
                        continue;
                }
                if (sig == SIGTERM || sig == SIGINT) {
                        /* Stop: the whole subtree at once, not only the processes we know of. */
                        (void)cgroup_node_kill(&node);
                        if (node.delegation == CGROUP_DELEGATION_NONE)
                                kill(child, SIGKILL);
                        (void)waitpid(child, &status, 0);
                        break;
                }
        }
        r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        printf("node exit %d\n", r);
        fflush(stdout);
        if (cgroup_node_kill(&node) < 0 || cgroup_node_remove(&node) < 0)
                return EXIT_RUNTIME;
        return r;
}
