/* cmd_config.c: `usernode config`: show the configuration. */
#include <getopt.h>
#include <stdio.h>

#include "common/log.h"
#include "launcher/commands.h"
#include "launcher/config.h"

static void print_config_help(void) {
        printf("usage: usernode config --default\n"
               "\n"
               "  --default   print the default configuration file (every key, commented, with its "
               "default)\n");
}

int cmd_config(int argc, char **argv) {
        enum { OPT_DEFAULT = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "default", no_argument, NULL, OPT_DEFAULT },
                {},
        };
        bool show_default = false;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        print_config_help();
                        return 0;
                case OPT_DEFAULT:
                        show_default = true;
                        break;
                default:
                        log_error("config: unknown option %s; see 'usernode config --help'",
                                  argv[optind - 1]);
                        return EXIT_USAGE;
                }
        if (!show_default) {
                log_error("config: say what to show, e.g. 'usernode config --default'");
                return EXIT_USAGE;
        }
        fputs(config_default_ini(), stdout);
        return 0;
}
