/* time_alternately: wall time from exec to exit of several commands, run in turn.
 *
 *   time_alternately RUNS NAME1 CMD1... ::: NAME2 CMD2... [::: ...]
 *
 * Runs command 1, 2, ..., 1, 2, ... RUNS rounds, so a noisy neighbour slows all of them alike,
 * and prints per command: NAME median_ms p10_ms p90_ms failures. Used by scripts/bench/. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define MAX_COMMANDS 8
#define MAX_RUNS 1000

struct command {
        char *name;
        char **argv;
        double ms[MAX_RUNS];
        int failures;
};

static int compare_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
        static struct command commands[MAX_COMMANDS];
        int n_commands = 0, runs;

        if (argc < 4 || (runs = atoi(argv[1])) < 1 || runs > MAX_RUNS) {
                fprintf(stderr, "usage: time_alternately RUNS(1-%d) NAME CMD... [::: NAME CMD...]\n",
                        MAX_RUNS);
                return 2;
        }
        for (int i = 2; i < argc && n_commands < MAX_COMMANDS;) {
                struct command *c = &commands[n_commands++];
                c->name = argv[i++];
                c->argv = &argv[i];
                while (i < argc && strcmp(argv[i], ":::") != 0)
                        i++;
                if (i < argc)
                        argv[i++] = NULL; /* terminate this command's argv */
        }

        for (int run = 0; run < runs; run++)
                for (int k = 0; k < n_commands; k++) {
                        struct command *c = &commands[k];
                        pid_t pid;
                        int status;
                        double start = now_ms();
                        if (posix_spawnp(&pid, c->argv[0], NULL, NULL, c->argv, environ) != 0) {
                                perror(c->argv[0]);
                                return 1;
                        }
                        waitpid(pid, &status, 0);
                        c->ms[run] = now_ms() - start;
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                c->failures++;
                }

        for (int k = 0; k < n_commands; k++) {
                struct command *c = &commands[k];
                qsort(c->ms, (size_t)runs, sizeof(double), compare_double);
                printf("%s %.2f %.2f %.2f %d\n", c->name, c->ms[runs / 2], c->ms[runs / 10],
                       c->ms[runs - 1 - runs / 10], c->failures);
        }
        return 0;
}
