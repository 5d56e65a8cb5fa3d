/* fuzz_dial.c: libFuzzer target for the dial protocol (netns/dial.c): the input is one message
 * on the dial channel, header and all, both ways: as an answer the launcher receives
 * (dial_recv), and as a request the dial helper in the node init serves from its event loop.
 *
 * The helper connects where a request says: the target runs in a network namespace of its own
 * (made at start), where only an unconfigured loopback exists, so nothing leaves the machine. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/channel.h"
#include "common/log.h"
#include "netns/dial.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static event_loop *event;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        log_set_level(LOG_LEVEL_ERROR);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
                perror("fuzz_dial: a network namespace of its own is required (unshare)");
                exit(77);
        }
        if (event_loop_new(&event) < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int fds[2], sock = -1;
        struct dial_answer answer;
        struct dial_helper *helper = NULL;

        if (size > sizeof(struct channel_message) + 16)
                return 0;
        /* The launcher's side: an answer from the helper. */
        if (dial_pair(fds) < 0)
                abort();
        if (send(fds[1], data, size, MSG_DONTWAIT) != (ssize_t)size)
                abort();
        if (dial_recv(fds[0], &answer, &sock) >= 0 && sock >= 0)
                close(sock);
        close(fds[0]);
        close(fds[1]);

        /* The helper's side: a request from the launcher, served until nothing is left to do. */
        if (dial_pair(fds) < 0)
                abort();
        if (dial_helper_new(event, fds[1], &helper) < 0)
                abort();
        if (send(fds[0], data, size, MSG_DONTWAIT) != (ssize_t)size)
                abort();
        for (int i = 0; i < 8 && event_loop_run_once(event, 0) > 0; i++)
                ;
        for (;;) {
                int r = dial_recv(fds[0], &answer, &sock);
                if (sock >= 0)
                        close(sock);
                sock = -1;
                if (r < 0 && r != -EBADMSG && r != -EMFILE)
                        break; /* -EAGAIN: all read */
        }
        dial_helper_free(helper);
        close(fds[0]);
        return 0;
}
