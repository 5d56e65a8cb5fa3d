/* main.c: the usernode command line: global options and dispatch to a subcommand. */
#include <getopt.h>
#include <string.h>

#include "common/heap.h"
#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/services/oci_runtime.h"

/* The Makefile passes `git describe` of the tree the binary was built from. */
#ifndef USERNODE_VERSION
#define USERNODE_VERSION "0.1.0-unknown"
#endif

static size_t n_commands(void) {
        size_t n = 0;
        while (cli_commands[n].name)
                n++;
        return n;
}

static void print_help(void) {
        printf("usage: usernode [--debug] COMMAND [OPTIONS]\n"
               "\n"
               "Runs a Kubernetes worker node as an ordinary user.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < n_commands(); i++)
                printf("  %-11s %s\n", cli_commands[i].name, cli_commands[i].summary);
        printf("  %-11s %s\n", "help", "show this help");
        printf("\n"
               "Global options:\n"
               "  --debug      log every step\n"
               "  --version    print the version and exit\n"
               "\n"
               "Run 'usernode help COMMAND' (or 'usernode COMMAND --help') for the options of a\n"
               "command.\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "debug", no_argument, NULL, 'd' },
                {},
        };
        int c;

        /* First: the launcher and its fork, the node init, live as long as the node (heap.h). */
        (void)heap_pin_thresholds();

        /* CRI-O runs this binary as its OCI runtime through a symlink (oci_runtime.h). */
        if (argc > 0 && oci_runtime_wrapper_invoked(argv[0]))
                return oci_runtime_wrapper_main(argc, argv);

        /* '+': stop at the subcommand; its options are its own. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
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
                        return cli_option_error(NULL, c, argv);
                }

        if (optind >= argc) {
                log_error("no command given; see 'usernode help'");
                return EXIT_USAGE;
        }
        int first = optind;
        const char *name = argv[first];
        if (strcmp(name, "help") == 0 && first + 1 < argc) {
                /* `usernode help CMD` is `usernode CMD --help`. */
                static char help_flag[] = "--help";
                for (size_t i = 0; i < n_commands(); i++)
                        if (strcmp(argv[first + 1], cli_commands[i].name) == 0) {
                                char *help_argv[] = { argv[first + 1], help_flag, NULL };
                                optind = 0;
                                return cli_commands[i].run(2, help_argv);
                        }
                log_error("help: unknown command \"%s\"; see 'usernode help'", argv[first + 1]);
                return EXIT_USAGE;
        }
        if (strcmp(name, "help") == 0) {
                print_help();
                return 0;
        }
        for (size_t i = 0; i < n_commands(); i++)
                if (strcmp(name, cli_commands[i].name) == 0) {
                        optind = 0; /* reset getopt for the subcommand's own parser */
                        return cli_commands[i].run(argc - first, argv + first);
                }
        log_error("unknown command \"%s\"; see 'usernode help'", name);
        return EXIT_USAGE;
}
