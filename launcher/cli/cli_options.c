/* cli_options.c: one line for each option getopt refused, naming it as the user wrote it. */
#include "launcher/cli/cli_options.h"

#include <ctype.h>
#include <stdio.h>
#include <getopt.h>
#include <string.h>

#include "common/log.h"

int cli_option_error(const char *command, int c, char *const *argv) {
        const char *arg = optind > 0 ? argv[optind - 1] : NULL;
        char name[64];

        /* A long option is named as written, without "=VALUE". optopt of a long option is its
         * `val`, which need not be a character (printing it with %c gave "-\x04"). */
        if (arg && strncmp(arg, "--", 2) == 0 && arg[2])
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
        else if (optopt > 0 && optopt < 0x80 && isgraph(optopt))
                snprintf(name, sizeof(name), "-%c", optopt);
        else
                snprintf(name, sizeof(name), "%s", arg ? arg : "?");
        if (!command)
                log_error("%s %s; see 'usernode help'", c == ':' ? "a value is needed by" : "unknown option",
                          name);
        else if (c == ':')
                log_error("%s: %s needs a value; see 'usernode %s --help'", command, name, command);
        else
                log_error("%s: unknown option %s; see 'usernode %s --help'", command, name, command);
        return EXIT_USAGE;
}
