/* cmd_exec.c: `usernode exec`: run a command inside a running node.
 *
 * Joins the node init's namespaces through /proc/PID/ns, the user namespace first (it grants
 * the capabilities needed to join the others), then forks so the command lands in the node's
 * pid namespace, and passes the command's exit status on. */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "cgroup/cgroup_join.h"
#include "common/exit_status.h"
#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/statedir.h"

struct ns_entry {
        const char *name;
        int flag;
};

/* Order matters: user first; mnt before pid is fine since pid only takes effect on fork. */
static const struct ns_entry node_namespaces[] = {
        { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "net", CLONE_NEWNET },
        { "uts", CLONE_NEWUTS },   { "ipc", CLONE_NEWIPC }, { "cgroup", CLONE_NEWCGROUP },
        { "pid", CLONE_NEWPID },
};

static void print_exec_help(void) {
        printf("usage: usernode exec [--node NAME] [--state-dir DIR] [-- CMD [ARG...]]\n"
               "\n"
               "Runs CMD (default: your $SHELL) as root inside the running node NAME.\n");
}

/* True if /proc/self/ns/NAME and /proc/PID/ns/NAME are the same namespace. */
static bool same_namespace(pid_t pid, const char *name) {
        char path[64], mine[64], theirs[64];
        ssize_t a, b;

        snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        a = readlink(path, mine, sizeof(mine) - 1);
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
        b = readlink(path, theirs, sizeof(theirs) - 1);
        return a > 0 && a == b && memcmp(mine, theirs, (size_t)a) == 0;
}

static int join_node(pid_t pid) {
        int fds[ELEMENTSOF(node_namespaces)];

        /* Open them all before joining any: after joining the mount namespace our /proc would
         * be the node's, where the host pid means nothing. */
        for (size_t i = 0; i < ELEMENTSOF(node_namespaces); i++) {
                char path[64];
                fds[i] = -EBADF;
                if (same_namespace(pid, node_namespaces[i].name))
                        continue; /* e.g. --net=host: setns to our own netns would fail */
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, node_namespaces[i].name);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        int r = log_error_errno(errno, "cannot open %s: %m", path);
                        while (i-- > 0)
                                closep(&fds[i]);
                        return r;
                }
        }
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(node_namespaces); i++) {
                if (fds[i] < 0)
                        continue;
                if (r == 0 && setns(fds[i], node_namespaces[i].flag) < 0)
                        r = log_error_errno(errno, "cannot join the node's %s namespace: %m",
                                            node_namespaces[i].name);
                close(fds[i]);
        }
        return r;
}

static int exec_in_node(char **command) {
        _cleanup_free_ char *cwd = get_current_dir_name();
        const char *shell = getenv("SHELL");
        char *default_command[] = { (char *)(shell && shell[0] ? shell : "/bin/sh"), NULL };
        char **argv = command ? command : default_command;

        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return log_error_errno(errno, "cannot become root in the node: %m"), EXIT_RUNTIME;
        (void)setgroups(0, NULL); /* refused when setgroups is denied; the groups are unmapped then */

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "cannot fork: %m"), EXIT_RUNTIME;
        if (pid == 0) {
                /* Same directory inside when the node sees it, else the node's root. */
                if (!cwd || chdir(cwd) < 0)
                        (void)!chdir("/");
                execvp(argv[0], argv);
                log_error_errno(errno, "cannot execute %s in the node: %m", argv[0]);
                _exit(127);
        }

        /* Like system(3): the terminal's ^C and ^\ are for the command, not for us. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return EXIT_RUNTIME;
        /* Leave at once: this process now creates children in the node's pid namespace, where
         * exit-time hooks that clone a helper (LeakSanitizer's tracer) could not reach it back. */
        fflush(stdout);
        _exit(exit_code_of(status));
}

const struct option cli_options_exec[] = {
        CLI_OPTION_HELP,
        CLI_OPTION_NODE,
        CLI_OPTION_STATE_DIR,
        {},
};

int cmd_exec(int argc, char **argv) {
        /* '+': the options end at the command, whose own options are its own. */
        struct cli_parse p = CLI_PARSE("exec", "+:h", cli_options_exec, print_exec_help);
        struct statedir sd = STATEDIR_INIT;
        _cleanup_free_ char *path = NULL;
        pid_t init_pid;
        int r;

        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        const char *node = p.node;
        r = statedir_resolve(node, p.state_dir, false, &path);
        if (r < 0)
                return EXIT_RUNTIME;
        r = statedir_open_running(&sd, node, path);
        if (r < 0)
                return EXIT_RUNTIME;
        r = statedir_read_pid(&sd, "child_pid", &init_pid);
        statedir_close(&sd);
        if (r < 0) {
                log_error("node %s is still starting; try again in a moment", node);
                return EXIT_RUNTIME;
        }
        /* Before the namespaces: the command then counts against the node's limits and goes with it. */
        r = cgroup_join_node(init_pid);
        if (r < 0 && r != -ENOMEDIUM)
                log_debug_errno(r, "exec: the command stays outside the node's cgroup: %m");
        if (join_node(init_pid) < 0)
                return EXIT_RUNTIME;
        return exec_in_node(optind < argc ? argv + optind : NULL);
}
