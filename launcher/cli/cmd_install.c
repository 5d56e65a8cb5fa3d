/* cmd_install.c: `usernode install [--node NAME] [--now] [--print]` writes a systemd user unit
 * that runs the node; `usernode uninstall [--node NAME]` takes it away again. */
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/services/service.h"
#include "launcher/statedir.h"

/* Time the launcher needs beyond the services' grace periods: the engine, unmounts, cgroups. */
#define STOP_MARGIN_SEC 15

/* Services stop one after the other (reverse start order), each with its own grace period, and
 * crio only after the pod drain gave every container its grace period: the unit's TimeoutStopSec
 * is the sum, so systemd never SIGKILLs a stop that is on time. */
static unsigned long long stop_timeout_sec(const struct node_settings *s) {
        usec_t total = s->crio_pod_grace_max + SERVICE_DRAIN_MARGIN + s->crio_stop_timeout +
                       s->kubelet_stop_timeout;
        for (size_t i = 0; i < s->n_services; i++)
                total += s->services[i].stop_timeout;
        return (unsigned long long)((total + USEC_PER_SEC - 1) / USEC_PER_SEC) + STOP_MARGIN_SEC;
}

/* WORD as one argument of ExecStart=: in double quotes, with what systemd would read otherwise
 * escaped: `\\` and `"` (C escapes), `%` (a specifier: %%) and `$` (a variable: $$). A binary or
 * INI file in "~/my nodes/" or "50%/" then reaches `run` as it is. */
static char *unit_quote(const char *word) {
        size_t n = strlen(word);
        char *quoted = malloc(2 * n + 3), *p = quoted;
        if (!quoted)
                return NULL;
        *p++ = '"';
        for (; *word; word++) {
                if (*word == '\\' || *word == '"')
                        *p++ = '\\';
                else if (*word == '%' || *word == '$')
                        *p++ = *word;
                *p++ = *word;
        }
        *p++ = '"';
        *p = '\0';
        return quoted;
}

/* The unit for NODE, running EXEC. */
static char *unit_text(const char *node, const char *exec, const char *config_path,
                       unsigned long long stop_sec) {
        char *text;
        _cleanup_free_ char *config_arg = NULL, *config_quoted = NULL;
        _cleanup_free_ char *exec_quoted = unit_quote(exec);
        if (!exec_quoted)
                return NULL;
        if (config_path && (!(config_quoted = unit_quote(config_path)) ||
                            asprintf(&config_arg, " --config %s", config_quoted) < 0))
                return NULL;
        if (asprintf(&text,
                     "# Written by 'usernode install'; 'usernode uninstall --node %s' removes it.\n"
                     "[Unit]\n"
                     "Description=usernode Kubernetes node %s\n"
                     "\n"
                     "[Service]\n"
                     /* READY=1 once kubelet answers its health check; STATUS= lines on the way. */
                     "Type=notify\n"
                     "NotifyAccess=main\n"
                     "ExecStart=%s run --node %s%s\n"
                     "ExecReload=/bin/kill -HUP $MAINPID\n"
                     /* The node's cgroup subtree is the unit's own (cgroup delegate = existing). */
                     "Delegate=yes\n"
                     /* SIGTERM to the launcher only: it stops the services in order itself. */
                     "KillMode=mixed\n"
                     "Restart=on-failure\n"
                     "RestartSec=5s\n"
                     "TimeoutStopSec=%llu\n"
                     "LimitNOFILE=1048576\n"
                     "\n"
                     "[Install]\n"
                     "WantedBy=default.target\n",
                     node, node, exec_quoted, node, config_arg ? config_arg : "", stop_sec) < 0)
                return NULL;
        return text;
}

static int unit_path(const char *node, char **ret) {
        const char *base = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (base && base[0] == '/')
                return asprintf(ret, "%s/systemd/user/usernode-%s.service", base, node) < 0 ? -ENOMEM : 0;
        if (home && home[0] == '/')
                return asprintf(ret, "%s/.config/systemd/user/usernode-%s.service", home, node) < 0 ? -ENOMEM
                                                                                                    : 0;
        return -ENOENT;
}

/* systemctl --user ARGS...; its own output is the user's to see. Returns its exit status. */
static int systemctl_user(char *const *args) {
        char *argv[8] = { (char *)"systemctl", (char *)"--user" };
        size_t n = 2;
        for (; *args && n < ELEMENTSOF(argv) - 1; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return pid < 0 ? -errno : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void print_install_help(void) {
        printf("usage: usernode install [--node NAME] [--config FILE] [--now] [--print]\n"
               "\n"
               "Writes the systemd user unit usernode-NAME.service ($XDG_CONFIG_HOME/systemd/user),\n"
               "which runs 'usernode run --node NAME' with Type=notify, Delegate=yes, KillMode=mixed,\n"
               "Restart=on-failure and a TimeoutStopSec from the pod drain's and the services' stop\n"
               "timeouts, and enables it.\n"
               "\n"
               "  --node NAME    the node (default: default)\n"
               "  --config FILE  its INI file (default: $XDG_CONFIG_HOME/usernode/NAME.ini)\n"
               "  --now          start it too\n"
               "  --print        only print the unit\n"
               "  -h, --help     show this help\n");
}

const struct option cli_options_install[] = {
        CLI_OPTION_HELP,
        CLI_OPTION_NODE,
        CLI_OPTION_CONFIG,
        { "now", no_argument, NULL, 'N' },
        { "print", no_argument, NULL, 'P' },
        {},
};

int cmd_install(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("install", ":h", cli_options_install, print_install_help);
        bool now = false, print_only = false;
        char exec[PATH_MAX];
        int c;

        while ((c = cli_getopt(&p, argc, argv)) >= 0)
                switch (c) {
                case 'N':
                        now = true;
                        break;
                case 'P':
                        print_only = true;
                        break;
                }
        if (c == CLI_GETOPT_EXIT)
                return p.exit_status;
        const char *node = p.node, *config_path = p.config_path;
        if (optind < argc) {
                log_error("install: unexpected argument \"%s\"; see 'usernode install --help'",
                          argv[optind]);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *abs_config = config_path ? realpath(config_path, NULL) : NULL;
        if (config_path && !abs_config)
                return log_error_errno(errno, "install: %s: %m", config_path), EXIT_USAGE;
        /* The unit must run this very binary, wherever the user keeps it. */
        ssize_t len = readlink("/proc/self/exe", exec, sizeof(exec) - 1);
        if (len <= 0)
                return log_error_errno(errno, "install: cannot find the usernode binary: %m"), EXIT_RUNTIME;
        exec[len] = '\0';
        /* A unit file is read line by line: no quoting holds a line break. */
        if (strpbrk(exec, "\n\r") || (abs_config && strpbrk(abs_config, "\n\r"))) {
                log_error("install: the path of %s holds a line break, which a unit file cannot; move it",
                          strpbrk(exec, "\n\r") ? "the usernode binary" : "the INI file");
                return EXIT_USAGE;
        }

        struct node_settings s;
        if (node_settings_load(&s, node, "/nonexistent", abs_config) < 0)
                return EXIT_USAGE;
        _cleanup_free_ char *text = unit_text(node, exec, abs_config, stop_timeout_sec(&s));
        node_settings_done(&s);
        if (!text)
                return log_error_errno(ENOMEM, "install: %m"), EXIT_RUNTIME;
        if (print_only) {
                fputs(text, stdout);
                return 0;
        }
        _cleanup_free_ char *path = NULL, *unit = NULL;
        if (unit_path(node, &path) < 0 || asprintf(&unit, "usernode-%s.service", node) < 0)
                return log_error("install: set HOME or XDG_CONFIG_HOME"), EXIT_USAGE;
        int r = mkdir_parents(path, 0755);
        _cleanup_fclose_ FILE *f = r >= 0 ? fopen(path, "we") : NULL;
        if (!f || fputs(text, f) < 0 || fflush(f) != 0)
                return log_error_errno(errno, "install: cannot write %s: %m", path), EXIT_RUNTIME;
        printf("wrote %s\n", path);
        char *reload[] = { (char *)"daemon-reload", NULL };
        char *enable[] = { (char *)"enable", now ? (char *)"--now" : unit, now ? unit : NULL, NULL };
        if (systemctl_user(reload) != 0 || systemctl_user(enable) != 0) {
                log_error("install: systemctl --user failed (is the user's systemd running?); the unit is "
                          "in %s: "
                          "run 'systemctl --user daemon-reload && systemctl --user enable%s %s' in a login "
                          "session",
                          path, now ? " --now" : "", unit);
                return EXIT_HOST;
        }
        const struct passwd *pw = getpwuid(getuid());
        char linger[512];
        snprintf(linger, sizeof(linger), "/var/lib/systemd/linger/%s", pw ? pw->pw_name : "");
        if (access(linger, F_OK) < 0)
                printf("The node stops when you log out; to keep it (and start it at boot): sudo loginctl "
                       "enable-linger %s\n",
                       pw ? pw->pw_name : "$USER");
        return 0;
}

const struct option cli_options_uninstall[] = {
        CLI_OPTION_HELP,
        CLI_OPTION_NODE,
        {},
};

static void print_uninstall_help(void) {
        printf("usage: usernode uninstall [--node NAME]\n"
               "\n"
               "Stops and disables usernode-NAME.service and removes its unit file.\n");
}

int cmd_uninstall(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("uninstall", ":h", cli_options_uninstall, print_uninstall_help);

        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        const char *node = p.node;
        if (optind < argc) {
                log_error("uninstall: unexpected argument \"%s\"", argv[optind]);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *path = NULL, *unit = NULL;
        if (unit_path(node, &path) < 0 || asprintf(&unit, "usernode-%s.service", node) < 0)
                return log_error("uninstall: set HOME or XDG_CONFIG_HOME"), EXIT_USAGE;
        if (access(path, F_OK) < 0) {
                log_error("uninstall: %s is not installed (no %s)", unit, path);
                return EXIT_RUNTIME;
        }
        char *disable[] = { (char *)"disable", (char *)"--now", unit, NULL };
        (void)systemctl_user(disable); /* the file goes anyway: it is what install wrote */
        if (unlink(path) < 0)
                return log_error_errno(errno, "uninstall: cannot remove %s: %m", path), EXIT_RUNTIME;
        char *reload[] = { (char *)"daemon-reload", NULL };
        (void)systemctl_user(reload);
        printf("removed %s\n", path);
        return 0;
}
