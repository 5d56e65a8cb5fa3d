/* tap_coalesce.h: slirp's TCP segments to the node merged into large GSO frames.
 *
 * slirp cuts what it reads from a host socket into MSS-sized segments (1460 bytes at MTU 1500),
 * each one a write to the tap and one packet for the node's kernel to process. Consecutive
 * segments of one flow in the same round are merged here into one frame of up to 64 KiB marked
 * as TSO (struct virtio_net_hdr, gso_size = the MSS), as a NIC's GRO would: the node's TCP takes
 * it as one segment, and if the node forwards it (to a pod) its kernel cuts it up again. Frames
 * that cannot be merged pass through unchanged, in order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns/tap_frame.h"

#define TAP_COALESCE_MAX 65535 /* an IPv4 packet's largest total length */

struct tap_coalescer {
        size_t length; /* bytes of the pending frame (Ethernet header on), 0: none pending */
        size_t segment_size; /* payload of its first segment: the gso_size */
        size_t n_segments;
        uint32_t next_seq; /* the sequence number a segment must have to be appended */
        bool sealed; /* the last segment was short or pushed: nothing may follow it */
        uint8_t header[TAP_FRAME_HEADER_SIZE];
        uint8_t frame[14 + TAP_COALESCE_MAX];
};

/* Queue `frame` (an Ethernet frame with valid checksums, as slirp's send_packet gives it) for
 * `tap_fd`, merging it into the pending frame when it continues it, else writing the pending
 * frame first. Returns 0 or a negative errno from the write (-EAGAIN: the tap queue is full, the
 * frame is dropped, TCP resends it). */
int tap_coalesce_add(struct tap_coalescer *c, int tap_fd, const uint8_t *frame, size_t length);

/* Write the pending frame, if any. Call before waiting for events. */
int tap_coalesce_flush(struct tap_coalescer *c, int tap_fd);
