/* cmd_nodes.c: `usernode ls [--json]` (the user's nodes, running or not) and
 * `usernode rm [--force] NAME` (a stopped node's data and state, gone). */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/api/control_api.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/services/node_settings.h"
#include "launcher/statedir.h"
#include "launcher/userns_remove.h"

#define NODES_MAX 1024
/* Longest `rm --force` waits for a running node to stop: its grace periods, plus a margin. */
#define RM_STOP_WAIT_SEC 300

struct node_entry {
        char *name;
        char *data_dir; /* NULL when it does not exist */
        char *config; /* NULL when there is no file */
        char *state_dir; /* NULL when it does not exist */
        bool running;
        pid_t pid; /* 0 when unknown */
};

static bool exists(const char *path) {
        struct stat st;
        return path && lstat(path, &st) == 0;
}

/* Whether NODE's state dir is locked by a run, and its launcher's pid. */
static bool node_running(const char *state_dir, pid_t *ret_pid) {
        char path[4200];
        *ret_pid = 0;
        snprintf(path, sizeof(path), "%s/lock", state_dir);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
                return false;
        snprintf(path, sizeof(path), "%s/pid", state_dir);
        FILE *f = fopen(path, "re");
        int pid;
        if (f) {
                if (fscanf(f, "%d", &pid) == 1)
                        *ret_pid = pid;
                fclose(f);
        }
        return true;
}

static void entry_fill(struct node_entry *e, const char *name) {
        char *p = NULL;
        *e = (struct node_entry){ .name = strdup(name) };
        if (node_data_dir(name, &p) >= 0 && exists(p))
                e->data_dir = p;
        else
                free(p);
        p = NULL;
        if (config_default_path(name, &p) >= 0 && exists(p))
                e->config = p;
        else
                free(p);
        p = NULL;
        if (statedir_resolve(name, NULL, false, &p) >= 0 && exists(p)) {
                e->state_dir = p;
                e->running = node_running(p, &e->pid);
        } else
                free(p);
}

static void entry_done(struct node_entry *e) {
        free(e->name);
        free(e->data_dir);
        free(e->config);
        free(e->state_dir);
}

/* Node names found in DIR: its subdirectories, or with SUFFIX its files NAME.SUFFIX. */
static void collect(const char *dir, const char *suffix, char **names, size_t *n) {
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d)) && *n < NODES_MAX) {
                char name[256];
                snprintf(name, sizeof(name), "%s", de->d_name);
                if (suffix) {
                        size_t len = strlen(name), s = strlen(suffix);
                        if (len <= s || strcmp(name + len - s, suffix) != 0)
                                continue;
                        name[len - s] = '\0';
                } else if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (!statedir_node_name_valid(name))
                        continue;
                bool seen = false;
                for (size_t i = 0; i < *n && !seen; i++)
                        seen = strcmp(names[i], name) == 0;
                if (!seen && (names[*n] = strdup(name)))
                        (*n)++;
        }
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The parent directory of `usernode`'s per-node path for a probe name. */
static char *root_of(int (*path_of)(const char *, char **), const char *tail) {
        char *p = NULL;
        if (path_of(tail, &p) < 0)
                return NULL;
        char *slash = strrchr(p, '/');
        if (slash)
                *slash = '\0';
        return p;
}

static int state_dir_of(const char *node, char **ret) {
        return statedir_resolve(node, NULL, false, ret);
}

static void print_ls_help(void) {
        printf("usage: usernode ls [--json]\n"
               "\n"
               "Lists your nodes, running or not: every node with a data dir, a configuration file or\n"
               "a state dir.\n"
               "\n"
               "  --json      as JSON (docs/JSON.md)\n"
               "  -h, --help  show this help\n");
}

static json_object *string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

const struct option cli_options_ls[] = {
        CLI_OPTION_HELP,
        CLI_OPTION_JSON,
        {},
};

int cmd_ls(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("ls", ":h", cli_options_ls, print_ls_help);
        char *names[NODES_MAX];
        size_t n = 0;

        cli_json_errors_if_asked(argc, argv);
        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        bool json = p.json;
        if (optind < argc) {
                log_error("ls: unexpected argument \"%s\"; see 'usernode ls --help'", argv[optind]);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *data_root = root_of(node_data_dir, "x");
        _cleanup_free_ char *config_root = NULL, *state_root = root_of(state_dir_of, "x");
        if (node_config_dir(&config_root) < 0)
                config_root = NULL;
        collect(data_root, NULL, names, &n);
        collect(config_root, ".ini", names, &n);
        collect(state_root, NULL, names, &n);
        qsort(names, n, sizeof(*names), compare_names);

        json_object *root = json ? json_object_new_object() : NULL,
                    *list = json ? json_object_new_array() : NULL;
        if (!json)
                printf("%-20s %-8s %8s  %s\n", "NAME", "STATE", "PID", "DATA");
        for (size_t i = 0; i < n; i++) {
                struct node_entry e;
                entry_fill(&e, names[i]);
                if (json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(e.name));
                        json_object_object_add(o, "state",
                                               json_object_new_string(e.running ? "running" : "stopped"));
                        json_object_object_add(o, "pid", e.pid > 0 ? json_object_new_int(e.pid) : NULL);
                        json_object_object_add(o, "data_dir", string_or_null(e.data_dir));
                        json_object_object_add(o, "config_file", string_or_null(e.config));
                        json_object_object_add(o, "state_dir", string_or_null(e.state_dir));
                        json_object_array_add(list, o);
                } else {
                        char pid[16] = "-";
                        if (e.pid > 0)
                                snprintf(pid, sizeof(pid), "%d", (int)e.pid);
                        printf("%-20s %-8s %8s  %s\n", e.name, e.running ? "running" : "stopped", pid,
                               e.data_dir ?: "-");
                }
                entry_done(&e);
                free(names[i]);
        }
        if (json) {
                json_object_object_add(root, "version", json_object_new_int(CLI_JSON_VERSION));
                json_object_object_add(root, "nodes", list);
                printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                            JSON_C_TO_STRING_SPACED |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(root);
        }
        return 0;
}

static void print_rm_help(void) {
        printf("usage: usernode rm [--force] NAME\n"
               "\n"
               "Removes a stopped node's data ($XDG_DATA_HOME/usernode/NAME: images, containers, pod\n"
               "volumes, logs), files of its subordinate ids included (removed from inside a user\n"
               "namespace with the node's ids), and its state dir. The configuration file stays.\n"
               "\n"
               "  --force     stop the node first if it runs\n"
               "  -h, --help  show this help\n");
}

/* Ask the running node to stop, then wait, bounded, until its lock is free. */
static int stop_and_wait(const char *node, const char *state_dir) {
        json_object *result = NULL;
        char error[1024];
        pid_t pid;
        int r = control_api_call(state_dir, "node.stop", NULL, &result, error, sizeof(error));
        json_object_put(result);
        if (r < 0)
                return log_error_errno(r, "rm: cannot stop node %s: %s", node, error);
        for (int i = 0; i < RM_STOP_WAIT_SEC * 20; i++) {
                if (!node_running(state_dir, &pid))
                        return 0;
                struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return log_error_errno(ETIMEDOUT, "rm: node %s did not stop within %ds", node, RM_STOP_WAIT_SEC);
}

const struct option cli_options_rm[] = {
        CLI_OPTION_HELP,
        { "force", no_argument, NULL, 'f' },
        {},
};

int cmd_rm(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("rm", ":hf", cli_options_rm, print_rm_help);
        bool force = false;
        int c, r = 0;

        while ((c = cli_getopt(&p, argc, argv)) >= 0)
                force = true; /* -f, --force */
        if (c == CLI_GETOPT_EXIT)
                return p.exit_status;
        if (optind + 1 != argc) {
                log_error("rm: give one node name, e.g. 'usernode rm default'; 'usernode ls' lists them");
                return EXIT_USAGE;
        }
        const char *node = argv[optind];
        if (!cli_node_name_ok("rm", node))
                return EXIT_USAGE;
        struct node_entry e;
        entry_fill(&e, node);
        if (!e.data_dir && !e.state_dir) {
                log_error("rm: no node %s (no data dir, no state dir); 'usernode ls' lists the nodes", node);
                entry_done(&e);
                return EXIT_RUNTIME;
        }
        if (e.running && !force) {
                log_error("rm: node %s is running (pid %d); stop it with 'usernode stop --node %s', or use "
                          "'usernode rm --force %s'",
                          node, (int)e.pid, node, node);
                entry_done(&e);
                return EXIT_RUNTIME;
        }
        if (e.running)
                r = stop_and_wait(node, e.state_dir);
        if (r >= 0 && e.data_dir)
                r = userns_remove_tree(e.data_dir);
        if (r >= 0 && e.state_dir && exists(e.state_dir))
                r = userns_remove_tree(e.state_dir);
        entry_done(&e);
        return r < 0 ? EXIT_RUNTIME : 0;
}
