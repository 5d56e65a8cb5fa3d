/* cmd_logs.c: `usernode logs NAME [-f] [-n N] [--since WHEN]`: a service's log from DATA/logs,
 * oldest rotated file first; -f follows it across rotations, as `tail -F` would. Lines start with
 * the UTC time they were written (service_log.h), which --since compares as text. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/services/node_settings.h"
#include "launcher/services/service_log.h"

/* Rotated files kept at most (the [supervisor] log_keep limit). */
#define LOGS_MAX_FILES 100

static void print_help(void) {
        printf("usage: usernode logs [--node NAME] [-f] [-n N] [--since WHEN] SERVICE\n"
               "\n"
               "Prints the output of a node's service (crio, kubelet, or a [service:NAME]), each line\n"
               "with the UTC time it was written; 'usernode logs usernode' prints the node's own\n"
               "events (starts, readiness, restarts, reloads and their failures).\n"
               "\n"
               "  -f, --follow    keep printing what the service writes\n"
               "  -n, --lines N   only the last N lines (then follow, with -f)\n"
               "  --since WHEN    only lines written since WHEN: a duration back from now (10min,\n"
               "                  30s, 2h) or a UTC time 2026-12-01T10:00:00\n"
               "  --node NAME     the node (default: default)\n"
               "\n"
               "Under systemd (JOURNAL_STREAM set) the services log to the journal instead:\n"
               "  journalctl --user -t SERVICE\n");
}

static int copy_fd(int fd) {
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
                        return -EIO;
        fflush(stdout);
        return n < 0 ? -errno : 0;
}

/* Which lines of the history are printed: since a stamp, the last N. */
struct line_filter {
        char since[SERVICE_LOG_STAMP_LEN + 1]; /* "" for all */
        bool passing; /* the decision for a line without a stamp of its own (a continuation) */
        size_t tail; /* 0: every line */
        char **ring; /* the last `tail` lines passed, oldest at ring[next % tail] */
        size_t next;
};

static bool stamped(const char *line) {
        /* "YYYY-MM-DDTHH:MM:SS.ffffffZ " */
        return strlen(line) >= SERVICE_LOG_STAMP_LEN && line[4] == '-' && line[10] == 'T' &&
               line[26] == 'Z' && line[27] == ' ';
}

static void filter_line(struct line_filter *f, const char *line) {
        if (!f->since[0])
                f->passing = true;
        else if (stamped(line))
                f->passing = strncmp(line, f->since, SERVICE_LOG_STAMP_LEN - 1) >= 0;
        if (!f->passing)
                return;
        if (f->tail == 0) {
                fputs(line, stdout);
                return;
        }
        char **slot = &f->ring[f->next++ % f->tail];
        free(*slot);
        *slot = strdup(line);
}

static void filter_file(struct line_filter *f, FILE *file) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        while (getline(&line, &size, file) > 0)
                filter_line(f, line);
}

static void filter_done(struct line_filter *f) {
        for (size_t i = 0; f->tail && i < f->tail; i++) {
                char **slot = &f->ring[(f->next + i) % f->tail];
                if (*slot)
                        fputs(*slot, stdout);
                free(*slot);
        }
        free(f->ring);
        fflush(stdout);
}

/* --since: "10min" back from now, or "2026-12-01T10:00:00" (UTC; a trailing Z allowed). */
static int parse_since(const char *text, char out[SERVICE_LOG_STAMP_LEN + 1]) {
        struct tm tm = {};
        time_t when;
        usec_t back;
        const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end && (*end == '\0' || strcmp(end, "Z") == 0))
                when = timegm(&tm);
        else if (parse_duration(text, &back) == 0)
                when = time(NULL) - (time_t)(back / USEC_PER_SEC);
        else
                return -EINVAL;
        gmtime_r(&when, &tm);
        strftime(out, SERVICE_LOG_STAMP_LEN + 1, "%Y-%m-%dT%H:%M:%S.000000Z ", &tm);
        return 0;
}

static int follow(const char *dir, const char *path, int fd) {
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC);
        struct stat st;
        if (in < 0 || inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
                return log_error_errno(errno, "cannot watch %s: %m", dir);
        for (;;) {
                struct pollfd p = { .fd = in, .events = POLLIN };
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return -errno;
                char events[4096];
                if (read(in, events, sizeof(events)) < 0 && errno != EINTR)
                        return -errno;
                copy_fd(fd);
                /* Rotated: the name now points at a new file; finish the old one, then switch. */
                struct stat cur;
                if (fstat(fd, &st) == 0 && stat(path, &cur) == 0 && cur.st_ino != st.st_ino) {
                        int n = open(path, O_RDONLY | O_CLOEXEC);
                        if (n >= 0) {
                                close(fd);
                                fd = n;
                                copy_fd(fd);
                        }
                }
        }
}

const struct option cli_options_logs[] = {
        CLI_OPTION_HELP,
        { "follow", no_argument, NULL, 'f' },
        CLI_OPTION_NODE,
        { "lines", required_argument, NULL, 'n' },
        { "since", required_argument, NULL, 'S' },
        {},
};

int cmd_logs(int argc, char **argv) {
        struct cli_parse p = CLI_PARSE("logs", ":hfn:", cli_options_logs, print_help);
        bool follow_mode = false;
        struct line_filter filter = {};
        int c;

        while ((c = cli_getopt(&p, argc, argv)) >= 0)
                switch (c) {
                case 'f':
                        follow_mode = true;
                        break;
                case 'n': {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || optarg[0] == '-' || n > 1000000) {
                                log_error("logs: -n \"%s\": give a number of lines from 0 to 1000000",
                                          optarg);
                                return EXIT_USAGE;
                        }
                        filter.tail = n;
                        if (n == 0)
                                filter.since[0] = '~'; /* later than any stamp: nothing */
                        break;
                }
                case 'S':
                        if (parse_since(optarg, filter.since) < 0) {
                                log_error("logs: --since \"%s\": give a duration back from now (10min, 30s, "
                                          "2h) "
                                          "or a UTC time like 2026-12-01T10:00:00",
                                          optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
        if (c == CLI_GETOPT_EXIT)
                return p.exit_status;
        const char *node = p.node;
        if (optind + 1 != argc) {
                log_error("logs: give one service name, e.g. 'usernode logs kubelet'");
                return EXIT_USAGE;
        }
        const char *service = argv[optind];
        if (!service[0] || strchr(service, '/') || service[0] == '.') {
                log_error("logs: \"%s\" is not a service name", service);
                return EXIT_USAGE;
        }

        _cleanup_free_ char *data_dir = NULL, *dir = NULL, *path = NULL;
        if (node_data_dir(node, &data_dir) < 0 || asprintf(&dir, "%s/logs", data_dir) < 0 ||
            !(path = service_log_path(dir, service, 0))) {
                log_error("logs: cannot find the data dir of node \"%s\"; set HOME or XDG_DATA_HOME", node);
                return EXIT_RUNTIME;
        }
        /* Before the ring is allocated: this error path then has nothing to free. */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                log_error_errno(
                        errno,
                        "logs: no log of \"%s\" in %s (%m); services log to the journal under systemd: "
                        "journalctl --user -t %s",
                        service, dir, service);
                return EXIT_RUNTIME;
        }
        if (filter.tail > 0 && !(filter.ring = calloc(filter.tail, sizeof(char *)))) {
                close(fd);
                return log_error_errno(ENOMEM, "logs: %m"), EXIT_RUNTIME;
        }
        /* Oldest first, so the output reads in the order it was written. */
        for (unsigned n = LOGS_MAX_FILES; n >= 1; n--) {
                _cleanup_free_ char *old = service_log_path(dir, service, n);
                _cleanup_fclose_ FILE *f = old ? fopen(old, "re") : NULL;
                if (f)
                        filter_file(&filter, f);
        }
        /* The FILE reads through a duplicate of fd, which shares its offset: fd is then at the end,
         * where following goes on. */
        int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        FILE *current = dup_fd >= 0 ? fdopen(dup_fd, "r") : NULL;
        if (current) {
                filter_file(&filter, current);
                fclose(current);
        } else if (dup_fd >= 0)
                close(dup_fd);
        filter_done(&filter);
        if (!follow_mode) {
                close(fd);
                return 0;
        }
        int r = follow(dir, path, fd);
        return r < 0 ? EXIT_RUNTIME : 0;
}
