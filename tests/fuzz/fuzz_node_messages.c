/* fuzz_node_messages.c: libFuzzer target for the launcher <-> init channel (common/channel.c)
 * and what the launcher makes of the init's messages (launcher/api/node_status.c): the input is
 * one SEQPACKET message as the init could send it, header and all; whatever channel_recv()
 * accepts goes to node_status_on_message(), and the table is rendered as node.status does. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/channel.h"
#include "common/log.h"
#include "launcher/api/node_status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pair[2] = { -1, -1 };
static struct node_status status;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        log_set_level(LOG_LEVEL_ERROR);
        unsetenv("NOTIFY_SOCKET"); /* node_status says READY=1 / STATUS= to systemd otherwise */
        if (channel_pair(pair) < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct channel_message message;
        int fd = -1;

        if (size > sizeof(message) + 16)
                return 0;
        if (send(pair[0], data, size, MSG_DONTWAIT) != (ssize_t)size)
                abort();
        if (channel_recv(pair[1], &message, &fd) == 0) {
                if (fd >= 0)
                        close(fd);
                (void)node_status_on_message(&status, &message);
                json_object_put(node_status_to_json(&status));
        }
        /* The table lives across inputs, as in a launcher, but not without bound. */
        if (status.n_services > 64) {
                node_status_done(&status);
                status = (struct node_status){};
        }
        return 0;
}
