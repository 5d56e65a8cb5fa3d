/* exit_status.h: a child's wait status as the exit code a shell would report. */
#pragma once

#include <sys/wait.h>

#include "common/macro.h"

/* WEXITSTATUS when it exited, 128+N when signal N killed it, else EXIT_RUNTIME. */
static inline int exit_code_of(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_RUNTIME;
}
