/* commands.h: the subcommands of the usernode CLI. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code (README.md, "Exit codes"). */
#pragma once

#include <getopt.h>

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ports(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_images(int argc, char **argv);

/* Each command's getopt_long() table: the parser's, and what `usernode completion` completes. */
extern const struct option cli_options_run[], cli_options_exec[], cli_options_ports[], cli_options_config[],
        cli_options_logs[], cli_options_status[], cli_options_check[], cli_options_ls[], cli_options_rm[],
        cli_options_install[], cli_options_uninstall[], cli_options_images[], cli_options_stop[];

struct cli_command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
        const struct option *options;
        const char *words; /* what follows the options, for completion: "VERBS add ls rm", "SERVICE" */
};

/* Every command, in the order `usernode help` lists them; NULL-named at the end. */
extern const struct cli_command cli_commands[];

int cmd_completion(int argc, char **argv);
int cmd_manpage(int argc, char **argv);
