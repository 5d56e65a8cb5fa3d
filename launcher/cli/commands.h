/* commands.h: the subcommands of the usernode CLI. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code (README.md, "Exit codes"). */
#pragma once

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ports(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_images(int argc, char **argv);
