/* exec.c: `usernode exec` (being written). */
#include "common/log.h"
#include "launcher/commands.h"

int cmd_exec(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("exec: not implemented yet");
        return EXIT_RUNTIME;
}
