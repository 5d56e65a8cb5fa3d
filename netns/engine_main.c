/* engine_main.c: main() of usernode-slirp, the slirp engine as a program of its own.
 *
 * Started by the launcher (launcher/engine_spawn.c) with the fds and arguments engine_exec.h
 * names; reads its options, then runs slirp_engine_main(), which never returns. Anything wrong
 * with how it was started is a bug of the launcher: one line, exit EXIT_RUNTIME. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/exit_status.h"
#include "common/log.h"
#include "netns/engine_exec.h"
#include "netns/slirp_engine.h"

static int read_record(struct engine_exec_record *ret) {
        size_t have = 0;

        while (have < sizeof(*ret)) {
                ssize_t n = read(ENGINE_EXEC_OPTIONS_FD, (char *)ret + have, sizeof(*ret) - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -EPIPE;
                have += (size_t)n;
        }
        if (ret->magic != ENGINE_EXEC_MAGIC || ret->size != sizeof(*ret))
                return -EPROTO;
        return 0;
}

int main(int argc, char **argv) {
        struct engine_exec_record record;
        char *end = NULL;
        long launcher = 0, level = 0;
        int r;

        log_set_prefix(SLIRP_ENGINE_NAME);
        if (argc == 3 || argc == 4) {
                errno = 0;
                launcher = strtol(argv[1], &end, 10);
                if (errno != 0 || *end != '\0' || launcher <= 1)
                        launcher = 0;
                level = strtol(argv[2], &end, 10);
                if (*end != '\0' || level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG)
                        launcher = 0;
        }
        if (launcher == 0 || (argc == 4 && strcmp(argv[3], ENGINE_EXEC_ARG_READY) != 0)) {
                log_error("slirp engine: started with bad arguments; it is run by usernode only");
                return EXIT_RUNTIME;
        }
        log_set_level((enum log_level)level);
        r = read_record(&record);
        if (r < 0) {
                log_error_errno(r, "slirp engine: cannot read its options from the launcher: %m");
                return EXIT_RUNTIME;
        }
        close(ENGINE_EXEC_OPTIONS_FD);
        const int tcp_listen[2] = { record.tcp_listen[0] ? ENGINE_EXEC_TCP4_FD : -1,
                                    record.tcp_listen[1] ? ENGINE_EXEC_TCP6_FD : -1 };
        slirp_engine_main(&record.options, ENGINE_EXEC_TAP_FD, tcp_listen,
                          argc == 4 ? ENGINE_EXEC_READY_FD : -1, (pid_t)launcher);
}
