/* cli_options.h: what the subcommands' getopt_long() parsers share.
 *
 * Every parser sets opterr = 0 and starts its optstring with ':' (after a '+' where the rest of
 * the line is a command), so getopt reports a missing value as ':' and prints nothing itself;
 * cli_option_error() then says, in one line, which option was wrong and where to look. */
#pragma once

#include <stdbool.h>

/* Log "COMMAND: --mtu needs a value; see 'usernode COMMAND --help'" (C == ':') or
 * "COMMAND: unknown option --frob; ..." (C == '?') for the option getopt_long() just refused,
 * and return EXIT_USAGE. ARGV is the argv given to getopt_long(). COMMAND NULL: the global
 * options before any command. */
int cli_option_error(const char *command, int c, char *const *argv);

/* The version of every --json output's shape (docs/JSON.md); raised when a field changes meaning
 * or goes away, not when one is added. */
#define CLI_JSON_VERSION 1

/* From now on errors are printed to stdout as {"version": 1, "error": {"message": "..."}}, one
 * object per line: what `--json` promises scripts. */
void cli_json_errors(void);

/* cli_json_errors() when ARGV (before any "--") holds --json: errors of the option parsing
 * itself are then JSON too. */
void cli_json_errors_if_asked(int argc, char *const *argv);

/* A --node value: true when it names a node (statedir_node_name_valid()); otherwise logs
 * "COMMAND: invalid node name "NAME": what is allowed" in one line and returns false. */
bool cli_node_name_ok(const char *command, const char *name);
