/* embedded_exec.h: the programs the launcher carries inside its own binary (the slirp engine,
 * launcher/engine_spawn.c; the cluster program, launcher/cluster_spawn.c), copied into a sealed
 * memfd and exec'd from it (the bytes: launcher/config/embedded_programs.h).
 *
 * A sealed memfd means every start runs exactly the program the launcher was built with,
 * whatever happens to files on disk meanwhile, and usernode stays one file to install. An exec
 * rather than a fork means the program maps only its own libraries and holds no copy of the
 * launcher's memory. */
#pragma once

#include <sys/types.h>

#define EMBEDDED_EXEC_FDS_MAX 8

/* The child's exit status when it could not exec the program (as a shell's 127): the program
 * itself never exits with it, so the launcher can say which of the two failed. */
#define EMBEDDED_EXEC_FAILED 127

/* A sealed, executable memfd named NAME holding the bytes START..END (one of the programs of
 * launcher/config/embedded_programs.h: their pages are given back once copied). Returns the fd
 * (O_CLOEXEC) or a negative errno. */
int embedded_program_memfd(const char *name, const char *start, const char *end);

/* Fork and exec PROGRAM_FD with ARGV and ENVP. The child gets FDS[i] as fd 3 + i (a negative
 * entry: that number closed), nothing else beyond stdin, stdout and stderr; it gets
 * PDEATHSIG when the launcher's thread that started it ends, and an empty signal mask. Between
 * fork and exec only async-signal-safe calls: the launcher may have threads. The caller closes
 * its copies. Returns the pid or a negative errno. */
pid_t embedded_program_spawn(int program_fd, const int *fds, size_t n_fds, char *const argv[],
                             char *const envp[], int pdeathsig);
