/* node_init.c: PID 1 of the node (being written). */
#include "netns/node_init.h"

#include "common/log.h"

_Noreturn void node_init_main(const struct node_init_config *config) {
        (void)config;
        _exit(EXIT_RUNTIME);
}
