/* setup_child.c: run a step of the node's setup in a short-lived child (see setup_child.h). */
#include "launcher/node/setup_child.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/exit_status.h"
#include "common/log.h"

int setup_child_run(const char *what, int (*fn)(void *userdata), void *userdata) {
        int status;

        fflush(NULL); /* or output buffered so far would be written twice */
        pid_t pid = fork();
        if (pid < 0) {
                log_error_errno(errno, "cannot fork to set up %s: %m", what);
                return EXIT_RUNTIME;
        }
        if (pid == 0) {
                int code = fn(userdata);
                fflush(NULL);
                _exit(code);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        log_error_errno(errno, "cannot wait for the setup of %s: %m", what);
                        return EXIT_RUNTIME;
                }
        if (WIFSIGNALED(status)) {
                log_error("the setup of %s (pid %d) was killed by SIG%s", what, (int)pid,
                          sigabbrev_np(WTERMSIG(status)) ?: "?");
                return EXIT_RUNTIME;
        }
        return exit_code_of(status);
}
