/* cli_options.h: what the subcommands' getopt_long() parsers share.
 *
 * Every parser sets opterr = 0 and starts its optstring with ':' (after a '+' where the rest of
 * the line is a command), so getopt reports a missing value as ':' and prints nothing itself;
 * cli_option_error() then says, in one line, which option was wrong and where to look. */
#pragma once

#include <getopt.h>
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

/* The options many subcommands take, each once in their option tables: */
enum {
        CLI_OPT_NODE = 0x200, /* --node NAME, checked by cli_node_name_ok() */
        CLI_OPT_CONFIG, /* --config FILE */
        CLI_OPT_STATE_DIR, /* --state-dir DIR */
        CLI_OPT_JSON, /* --json */
};
#define CLI_OPTION_HELP \
        { "help", no_argument, NULL, 'h' }
#define CLI_OPTION_NODE \
        { "node", required_argument, NULL, CLI_OPT_NODE }
#define CLI_OPTION_CONFIG \
        { "config", required_argument, NULL, CLI_OPT_CONFIG }
#define CLI_OPTION_STATE_DIR \
        { "state-dir", required_argument, NULL, CLI_OPT_STATE_DIR }
#define CLI_OPTION_JSON \
        { "json", no_argument, NULL, CLI_OPT_JSON }

/* What cli_getopt() parses: set the first four (or usage for help), read the values after. */
struct cli_parse {
        const char *command; /* for messages: "ports", "images load" */
        /* getopt_long()'s: ":h" (options anywhere after the verb), "+:h" (up to the first
         * argument: what follows is a command or a sub-verb's), more short options after */
        const char *optstring;
        const struct option *options;
        void (*help)(void); /* prints the command's --help */
        const char *usage; /* or, with help NULL, the text --help prints */

        const char *node; /* "default" unless --node was given */
        const char *config_path, *state_dir; /* NULL unless given */
        bool json;
        int exit_status; /* what the command returns when cli_getopt() gave CLI_GETOPT_EXIT */
};

#define CLI_PARSE(command_, optstring_, options_, help_)                                         \
        (struct cli_parse) {                                                                     \
                .command = command_, .optstring = optstring_, .options = options_, .help = help_ \
        }

#define CLI_GETOPT_DONE (-1) /* options over: the arguments start at optind */
#define CLI_GETOPT_EXIT (-2) /* --help printed (exit_status 0), or an error logged (EXIT_USAGE) */

/* getopt_long() over ARGV (opterr off) taking care of -h/--help, the CLI_OPT_* options and the
 * refused ones; returns the next option of the command's own, CLI_GETOPT_DONE or
 * CLI_GETOPT_EXIT:
 *
 *         while ((c = cli_getopt(&p, argc, argv)) >= 0)
 *                 switch (c) { case 'f': force = true; break; }
 *         if (c == CLI_GETOPT_EXIT)
 *                 return p.exit_status;
 */
int cli_getopt(struct cli_parse *p, int argc, char **argv);
