/* run.c: `usernode run` (being written). */
#include "common/log.h"
#include "launcher/commands.h"

int cmd_run(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("run: not implemented yet");
        return EXIT_RUNTIME;
}
