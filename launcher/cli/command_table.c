/* command_table.c: the subcommands, their summaries and option tables, in one place: main.c
 * dispatches with it, `usernode help` lists it, `usernode completion` generates from it. */
#include "launcher/cli/commands.h"

#include <stddef.h>

const struct cli_command cli_commands[] = {
        { "run", cmd_run, "start a node (or run CMD in fresh namespaces)", cli_options_run, "" },
        { "check", cmd_check, "check everything a node needs on this host, with the fixes",
          cli_options_check, "" },
        { "exec", cmd_exec, "run a command inside a running node", cli_options_exec, "" },
        { "ports", cmd_ports, "publish ports of a running node on the host", cli_options_ports,
          "add ls rm" },
        { "config", cmd_config, "show the configuration (--default) or what a node would render (--render)",
          cli_options_config, "" },
        { "logs", cmd_logs, "print (or follow) a node service's log", cli_options_logs,
          "crio kubelet usernode" },
        { "status", cmd_status, "show a running node and its services", cli_options_status, "" },
        { "images", cmd_images, "load images from files into a node's storage, or list them",
          cli_options_images, "load ls" },
        { "stop", cmd_stop, "stop a running node (services in reverse order, then the rest)",
          cli_options_stop, "" },
        { "ls", cmd_ls, "list your nodes, running or not", cli_options_ls, "" },
        { "rm", cmd_rm, "remove a stopped node's data and state", cli_options_rm, "NODE" },
        { "install", cmd_install, "run a node as a systemd user service (usernode-NAME.service)",
          cli_options_install, "" },
        { "uninstall", cmd_uninstall, "stop, disable and remove that service", cli_options_uninstall, "" },
        { "completion", cmd_completion, "print the bash or zsh completion script", NULL, "bash zsh" },
        { "manpage", cmd_manpage, "print the man page usernode.1 or usernode.ini.5", NULL,
          "usernode.1 usernode.ini.5" },
        {},
};
