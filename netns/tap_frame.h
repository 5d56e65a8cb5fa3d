/* tap_frame.h: frames as the tap device carries them with offloads on.
 *
 * tap0 is created with IFF_VNET_HDR and checksum + TSO offloads: the node's kernel then hands over
 * TCP segments of up to 64 KiB whatever the MTU, with the checksum left for the reader, instead
 * of cutting them into MTU-sized frames. slirp's TCP takes segments of any size, so one read, one
 * slirp_input and one ACK carry what would otherwise be ~44 frames at MTU 1500. Every frame
 * starts with a struct virtio_net_hdr. */
#pragma once

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_FRAME_HEADER_SIZE sizeof(struct virtio_net_hdr)

/* Turn what read() returned (header + frame, `size` bytes, writable) into a plain Ethernet frame
 * with valid IP and TCP/UDP checksums, as slirp_input expects. Returns the frame's offset in
 * `buffer` (its length is size minus that), or -EBADMSG for a frame too short or inconsistent to
 * fix (the caller drops it). */
int tap_frame_finish(uint8_t *buffer, size_t size);

/* The Internet checksum (RFC 1071) of `data` added to `sum`, not folded or complemented. */
uint32_t tap_frame_sum(const uint8_t *data, size_t length, uint32_t sum);
