/* engine_spawn.c: the slirp engine program, embedded, copied into a memfd and exec'd from it
 * (launcher/embedded_exec.h). */
#include "launcher/engine_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "launcher/config/embedded_programs.h"
#include "launcher/embedded_exec.h"
#include "netns/engine_exec.h"
#include "netns/slirp_engine.h"

int engine_program_open(void) {
        return embedded_program_memfd(SLIRP_ENGINE_NAME, engine_program_start, engine_program_end);
}

/* The engine's environment: none of the launcher's, only what sanitizer builds and glib's debug
 * output (libslirp logs through it) read. */
static const char *const engine_env_names[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                                "G_MESSAGES_DEBUG" };

pid_t engine_spawn(int program_fd, const struct network_options *options, int tap_fd,
                   const int tcp_listen[2], int ready_fd) {
        _cleanup_close_ int options_read = -EBADF, options_write = -EBADF;
        const struct engine_exec_record record = {
                .magic = ENGINE_EXEC_MAGIC,
                .size = sizeof(record),
                .options = *options,
                .tcp_listen = { tcp_listen[0] >= 0, tcp_listen[1] >= 0 },
        };
        char launcher_text[16], level_text[4];
        char *argv[] = { (char *)SLIRP_ENGINE_NAME, launcher_text, level_text,
                         ready_fd >= 0 ? (char *)ENGINE_EXEC_ARG_READY : NULL, NULL };
        char *envp[ELEMENTSOF(engine_env_names) + 1] = {};
        size_t n_env = 0;
        pid_t launcher = getpid();
        int pipe_fds[2];

        _Static_assert(sizeof(record) < 4096, "the record must fit in a pipe without blocking");
        for (size_t i = 0; i < ELEMENTSOF(engine_env_names); i++)
                for (char **v = environ; *v; v++) {
                        size_t len = strlen(engine_env_names[i]);
                        if (strncmp(*v, engine_env_names[i], len) == 0 && (*v)[len] == '=') {
                                envp[n_env++] = *v;
                                break;
                        }
                }
        snprintf(launcher_text, sizeof(launcher_text), "%d", (int)launcher);
        snprintf(level_text, sizeof(level_text), "%d", (int)log_get_level());
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return negative_errno();
        options_read = pipe_fds[0];
        options_write = pipe_fds[1];
        if (write(options_write, &record, sizeof(record)) != (ssize_t)sizeof(record))
                return -EIO;
        closep(&options_write);

        /* In the order of engine_exec.h's numbers, from 3. */
        const int fds[] = { tap_fd, ready_fd, options_read, tcp_listen[0], tcp_listen[1] };
        _Static_assert(ENGINE_EXEC_TAP_FD == 3 && ENGINE_EXEC_READY_FD == 4 && ENGINE_EXEC_OPTIONS_FD == 5 &&
                               ENGINE_EXEC_TCP4_FD == 6 && ENGINE_EXEC_TCP6_FD == 7,
                       "fds[] follows engine_exec.h");
        return embedded_program_spawn(program_fd, fds, ELEMENTSOF(fds), argv, envp, SIGKILL);
}
