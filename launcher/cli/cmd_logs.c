/* cmd_logs.c: `usernode logs NAME [-f]`: a service's log from DATA/logs, oldest rotated file
 * first; -f follows it across rotations, as `tail -F` would. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/services/node_settings.h"
#include "launcher/services/service_log.h"

/* Rotated files kept at most (the [supervisor] log_keep limit). */
#define LOGS_MAX_FILES 100

static void print_help(void) {
        printf("usage: usernode logs [--node NAME] [-f] SERVICE\n"
               "\n"
               "Prints the output of a node's service (crio, kubelet, or a [service:NAME]).\n"
               "\n"
               "  -f, --follow   keep printing what the service writes\n"
               "  --node NAME    the node (default: default)\n"
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

int cmd_logs(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "follow", no_argument, NULL, 'f' },
                { "node", required_argument, NULL, 'n' },
                {},
        };
        const char *node = "default";
        bool follow_mode = false;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hf", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        print_help();
                        return 0;
                case 'f':
                        follow_mode = true;
                        break;
                case 'n':
                        node = optarg;
                        break;
                default:
                        return cli_option_error("logs", c, argv);
                }
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
        /* Oldest first, so the output reads in the order it was written. */
        for (unsigned n = LOGS_MAX_FILES; n >= 1; n--) {
                _cleanup_free_ char *old = service_log_path(dir, service, n);
                _cleanup_close_ int fd = old ? open(old, O_RDONLY | O_CLOEXEC) : -EBADF;
                if (fd >= 0)
                        copy_fd(fd);
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                log_error_errno(
                        errno,
                        "logs: no log of \"%s\" in %s (%m); services log to the journal under systemd: "
                        "journalctl --user -t %s",
                        service, dir, service);
                return EXIT_RUNTIME;
        }
        copy_fd(fd);
        if (!follow_mode) {
                close(fd);
                return 0;
        }
        int r = follow(dir, path, fd);
        return r < 0 ? EXIT_RUNTIME : 0;
}
