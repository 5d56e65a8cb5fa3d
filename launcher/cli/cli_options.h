/* cli_options.h: what the subcommands' getopt_long() parsers share.
 *
 * Every parser sets opterr = 0 and starts its optstring with ':' (after a '+' where the rest of
 * the line is a command), so getopt reports a missing value as ':' and prints nothing itself;
 * cli_option_error() then says, in one line, which option was wrong and where to look. */
#pragma once

/* Log "COMMAND: --mtu needs a value; see 'usernode COMMAND --help'" (C == ':') or
 * "COMMAND: unknown option --frob; ..." (C == '?') for the option getopt_long() just refused,
 * and return EXIT_USAGE. ARGV is the argv given to getopt_long(). COMMAND NULL: the global
 * options before any command. */
int cli_option_error(const char *command, int c, char *const *argv);
