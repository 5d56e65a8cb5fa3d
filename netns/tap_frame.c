/* tap_frame.c: completing the checksums the node's kernel left to the tap reader. */
#include "netns/tap_frame.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define ETH_HEADER 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

uint32_t tap_frame_sum(const uint8_t *data, size_t length, uint32_t sum) {
        uint64_t s = 0;
        size_t i = 0;

        /* The ones' complement sum does not depend on byte order (RFC 1071): add native 64-bit
         * words with end-around carry, fold, and swap to network order once at the end. */
        for (; i + 8 <= length; i += 8) {
                uint64_t word;
                memcpy(&word, data + i, 8);
                s += word;
                s += s < word;
        }
        for (; i + 2 <= length; i += 2) {
                uint16_t half;
                memcpy(&half, data + i, 2);
                s += half;
                s += s < half;
        }
        if (i < length) {
                uint16_t last = 0;
                memcpy(&last, data + i, 1); /* padded with a zero byte, in memory order */
                s += last;
                s += s < last;
        }
        s = (s & 0xffffffff) + (s >> 32);
        s = (s & 0xffffffff) + (s >> 32);
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        return sum + ntohs((uint16_t)s);
}

static uint16_t fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) {
        return (uint16_t)(p[0] << 8 | p[1]);
}

/* Fix the IP header's own length fields and checksum and compute the L4 checksum at
 * l4 + csum_offset over l4..end, with the pseudo-header of the packet's addresses. */
static int finish_ip(uint8_t *frame, size_t length, size_t l4, size_t csum_offset) {
        uint8_t *ip = frame + ETH_HEADER;
        size_t ip_length = length - ETH_HEADER;
        uint32_t sum;
        uint8_t protocol;

        if (l4 <= ETH_HEADER || l4 + csum_offset + 2 > length)
                return -EBADMSG;
        size_t l4_length = length - l4;

        switch (get16(frame + 12)) {
        case ETHERTYPE_IPV4: {
                size_t header = (size_t)(ip[0] & 0x0f) * 4;
                if (ip_length < 20 || header < 20 || ETH_HEADER + header > l4 || ip_length > 0xffff)
                        return -EBADMSG;
                protocol = ip[9];
                /* A TSO super-segment's IPv4 total length already covers it; make sure. */
                put16(ip + 2, (uint16_t)ip_length);
                put16(ip + 10, 0);
                put16(ip + 10, fold(tap_frame_sum(ip, header, 0)));
                sum = tap_frame_sum(ip + 12, 8, 0); /* source and destination */
                break;
        }
        case ETHERTYPE_IPV6:
                if (ip_length < 40 || ip_length - 40 > 0xffff)
                        return -EBADMSG;
                /* Extension headers are not used for TCP or UDP by the node's stack; the protocol is
                 * the one whose checksum sits at csum_offset. */
                protocol = ip[6];
                if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
                        protocol = csum_offset == 16  ? IPPROTO_TCP
                                   : csum_offset == 6 ? IPPROTO_UDP
                                                      : protocol;
                put16(ip + 4, (uint16_t)(ip_length - 40));
                sum = tap_frame_sum(ip + 8, 32, 0);
                break;
        default:
                return -EBADMSG;
        }

        sum += protocol;
        sum += (uint32_t)(l4_length >> 16) + (uint32_t)(l4_length & 0xffff);
        put16(frame + l4 + csum_offset, 0);
        sum = tap_frame_sum(frame + l4, l4_length, sum);
        uint16_t check = fold(sum);
        if (check == 0 && protocol == IPPROTO_UDP)
                check = 0xffff; /* 0 means "no checksum" in UDP */
        put16(frame + l4 + csum_offset, check);
        return 0;
}

int tap_frame_finish(uint8_t *buffer, size_t size) {
        struct virtio_net_hdr header;

        if (size < TAP_FRAME_HEADER_SIZE + ETH_HEADER)
                return -EBADMSG;
        memcpy(&header, buffer, sizeof(header));
        uint8_t *frame = buffer + TAP_FRAME_HEADER_SIZE;
        size_t length = size - TAP_FRAME_HEADER_SIZE;

        if (header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
                int r = finish_ip(frame, length, header.csum_start, header.csum_offset);
                if (r < 0)
                        return r;
        }
        return (int)TAP_FRAME_HEADER_SIZE;
}
