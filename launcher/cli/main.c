/* main.c: the usernode command line: global options and dispatch to a subcommand. */
#include <getopt.h>
#include <string.h>

#include "common/log.h"
#include "launcher/cli/commands.h"
#include "launcher/services/oci_runtime.h"

#ifndef USERNODE_VERSION
#define USERNODE_VERSION "0.1.0"
#endif

struct command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
        { "run", cmd_run, "start a node (or run CMD in fresh namespaces)" },
        { "exec", cmd_exec, "run a command inside a running node" },
        { "ports", cmd_ports, "publish ports of a running node on the host" },
        { "config", cmd_config,
          "show the configuration (--default) or what a node would render (--render)" },
        { "logs", cmd_logs, "print (or follow) a node service's log" },
        { "status", cmd_status, "show a running node and its services" },
        { "images", cmd_images, "load images from files into a node's storage, or list them" },
        { "stop", cmd_stop, "stop a running node (services in reverse order, then the rest)" },
};

static void print_help(void) {
        printf("usage: usernode [--debug] COMMAND [OPTIONS]\n"
               "\n"
               "Runs a Kubernetes worker node as an ordinary user.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-8s %s\n", commands[i].name, commands[i].summary);
        printf("  %-8s %s\n", "help", "show this help");
        printf("\n"
               "Global options:\n"
               "  --debug      log every step\n"
               "  --version    print the version and exit\n"
               "\n"
               "Run 'usernode COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "debug", no_argument, NULL, 'd' },
                {},
        };
        int c;

        /* CRI-O runs this binary as its OCI runtime through a symlink (oci_runtime.h). */
        if (argc > 0 && oci_runtime_wrapper_invoked(argv[0]))
                return oci_runtime_wrapper_main(argc, argv);

        /* '+': stop at the subcommand; its options are its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        print_help();
                        return 0;
                case 'V':
                        printf("usernode %s\n", USERNODE_VERSION);
                        return 0;
                case 'd':
                        log_set_level(LOG_LEVEL_DEBUG);
                        break;
                default:
                        log_error("unknown option; see 'usernode help'");
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("no command given; see 'usernode help'");
                return EXIT_USAGE;
        }
        int first = optind;
        const char *name = argv[first];
        if (strcmp(name, "help") == 0) {
                print_help();
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(name, commands[i].name) == 0) {
                        optind = 0; /* reset getopt for the subcommand's own parser */
                        return commands[i].run(argc - first, argv + first);
                }
        log_error("unknown command \"%s\"; see 'usernode help'", name);
        return EXIT_USAGE;
}
