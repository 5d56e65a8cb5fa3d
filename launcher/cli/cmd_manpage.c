/* cmd_manpage.c: `usernode manpage usernode.1|usernode.ini.5`: the man pages in roff, generated
 * from the sources the program itself uses: each command's --help text and option table
 * (command_table.c) and the configuration schema (config_schema.c), so they cannot drift. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/cli/commands.h"
#include "launcher/config/config.h"
#include "launcher/config/config_schema.h"

/* TEXT with roff's special characters escaped: backslash, and a leading . or '. */
static void roff(FILE *out, const char *text) {
        bool line_start = true;
        for (const char *p = text; *p; p++) {
                if (line_start && (*p == '.' || *p == '\''))
                        fputs("\\&", out);
                if (*p == '\\')
                        fputs("\\e", out);
                else if (*p == '-')
                        fputs("\\-", out);
                else
                        fputc(*p, out);
                line_start = *p == '\n';
        }
}

/* What `usernode CMD --help` prints, captured. */
static void print_command_help(const struct cli_command *c) {
        char name[64], flag[] = "--help";
        snprintf(name, sizeof(name), "%s", c->name);
        char *argv[] = { name, flag, NULL };
        FILE *tmp = tmpfile();
        if (!tmp)
                return;
        fflush(stdout);
        int saved = dup(STDOUT_FILENO);
        dup2(fileno(tmp), STDOUT_FILENO);
        optind = 0;
        c->run(2, argv);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        rewind(tmp);
        char line[1024];
        printf(".nf\n");
        while (fgets(line, sizeof(line), tmp))
                roff(stdout, line);
        printf(".fi\n");
        fclose(tmp);
}

static void page_usernode(void) {
        printf(".TH USERNODE 1 \"\" \"usernode\" \"User Commands\"\n"
               ".SH NAME\nusernode \\- a Kubernetes worker node for an ordinary user\n"
               ".SH SYNOPSIS\n.B usernode\n[\\-\\-debug] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
               ".SH DESCRIPTION\n"
               "usernode runs CRI\\-O and kubelet inside user, mount, pid, uts, ipc, cgroup and network\n"
               "namespaces of an unprivileged user, with the user's subordinate ids, an embedded slirp\n"
               "network and a delegated cgroup v2 subtree. Options may stand anywhere after the command;\n"
               "\\fBusernode help\\fR \\fICOMMAND\\fR shows a command's options.\n"
               ".SH COMMANDS\n");
        for (const struct cli_command *c = cli_commands; c->name; c++) {
                printf(".SS %s\n", c->name);
                roff(stdout, c->summary);
                printf(".\n");
                print_command_help(c);
        }
        printf(".SH EXIT STATUS\n"
               ".TP\n0\nsuccess (run with a command: the command's own status)\n"
               ".TP\n1\na runtime failure\n"
               ".TP\n2\na usage or configuration error\n"
               ".TP\n3\nthe host is not ready; \\fBusernode check\\fR says what to fix\n"
               ".SH FILES\n"
               ".TP\n$XDG_CONFIG_HOME/usernode/NODE.ini\nthe node's configuration, see "
               "\\fBusernode.ini\\fR(5)\n"
               ".TP\n$XDG_DATA_HOME/usernode/NODE/\nimages, containers, volumes, logs (logs/NAME.log)\n"
               ".TP\n$XDG_RUNTIME_DIR/usernode/NODE/\nthe running node's state: lock, pids, api.sock\n"
               ".SH SEE ALSO\n\\fBusernode.ini\\fR(5), \\fBsystemd.unit\\fR(5), \\fBkubelet\\fR(8)\n");
}

static void page_ini(void) {
        const char *last = "";
        printf(".TH USERNODE.INI 5 \"\" \"usernode\" \"File Formats\"\n"
               ".SH NAME\nusernode.ini \\- the configuration of a usernode node\n"
               ".SH DESCRIPTION\n"
               "$XDG_CONFIG_HOME/usernode/NODE.ini, or the file given with \\-\\-config. Lines are\n"
               "[section] headers, key = value pairs and comments starting with # or ; (a whole line).\n"
               "A value is the rest of its line, taken as written; a value ending in a backslash\n"
               "continues on the next line. A section or a key given twice, an unknown one, or a bad\n"
               "value stops usernode with FILE:LINE and what is allowed. Files over 1 MiB and files\n"
               "that are not regular are refused. Command\\-line flags override the file.\n"
               "\\fBusernode config \\-\\-default\\fR prints every key with its default.\n");
        for (unsigned i = 0; i < config_schema_size; i++) {
                const struct config_key *k = &config_schema[i];
                if (strcmp(k->section, last) != 0) {
                        printf(".SH [%s]\n",
                               strcmp(k->section, "service:*") == 0 ? "service:NAME" : k->section);
                        last = k->section;
                }
                printf(".TP\n.B %s\n", k->key);
                if (k->default_value && k->default_value[0]) {
                        printf("(default: ");
                        roff(stdout, k->default_value);
                        printf(") ");
                }
                roff(stdout, k->help ? k->help : "");
                printf("\n");
        }
        printf(".SH SEE ALSO\n\\fBusernode\\fR(1)\n");
}

int cmd_manpage(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "usernode.1") == 0)
                page_usernode();
        else if (argc == 2 && strcmp(argv[1], "usernode.ini.5") == 0)
                page_ini();
        else if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
                printf("usage: usernode manpage usernode.1|usernode.ini.5\n"
                       "\n"
                       "Prints a man page in roff: make install installs both.\n");
        else {
                log_error("manpage: give usernode.1 or usernode.ini.5");
                return EXIT_USAGE;
        }
        return 0;
}
