/* fuzz_tap.c: libFuzzer target for tap frames (netns/tap_frame.c, netns/tap_coalesce.c): the
 * input is a sequence of frames (2-byte big-endian length, then the bytes), each a virtio header
 * and an Ethernet frame. Each goes through tap_frame_finish() as the node's kernel would hand it
 * over, and its Ethernet part through the coalescer as slirp's output to the node, over a
 * SEQPACKET "tap". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns/tap_coalesce.h"
#include "netns/tap_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tap_coalescer coalescer;
static uint8_t frame[TAP_FRAME_HEADER_SIZE + TAP_COALESCE_MAX + 14],
        sink[TAP_FRAME_HEADER_SIZE + 14 + TAP_COALESCE_MAX];

static void drain(int fd) {
        while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
                ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int tap[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, tap) < 0)
                abort();
        memset(&coalescer, 0, sizeof(coalescer));
        while (size >= 2) {
                size_t length = (size_t)data[0] << 8 | data[1];
                data += 2;
                size -= 2;
                if (length > size)
                        length = size;
                if (length > sizeof(frame))
                        length = sizeof(frame);
                /* From the node: checksums completed in place. */
                memcpy(frame, data, length);
                int offset = tap_frame_finish(frame, length);
                if (offset >= 0 && (size_t)offset > length)
                        abort();
                (void)tap_frame_sum(data, length, 0);
                /* To the node: the same frame without its virtio header, as slirp gives it,
                 * merged into TSO frames where they continue each other. */
                if (length >= TAP_FRAME_HEADER_SIZE)
                        (void)tap_coalesce_add(&coalescer, tap[0], data + TAP_FRAME_HEADER_SIZE,
                                               length - TAP_FRAME_HEADER_SIZE);
                drain(tap[1]);
                data += length;
                size -= length;
        }
        (void)tap_coalesce_flush(&coalescer, tap[0]);
        drain(tap[1]);
        close(tap[0]);
        close(tap[1]);
        return 0;
}
