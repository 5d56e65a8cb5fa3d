/* tap_coalesce.c: merging consecutive IPv4 TCP segments of one flow into one TSO frame. */
#include "netns/tap_coalesce.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define ETH_HEADER 14
#define IPV4_HEADER 20 /* slirp sends no IP options */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

static uint16_t get16(const uint8_t *p) {
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static uint16_t fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)sum;
}

/* The TCP header offset and payload length of an IPv4 TCP data segment with only ACK (and PSH)
 * set, or 0 when the frame is anything else. */
static size_t tcp_payload(const uint8_t *frame, size_t length, size_t *ret_tcp_header) {
        if (length < ETH_HEADER + IPV4_HEADER + 20 || get16(frame + 12) != 0x0800)
                return 0;
        const uint8_t *ip = frame + ETH_HEADER, *tcp = ip + IPV4_HEADER;
        if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || (get16(ip + 6) & 0x3fff) != 0 ||
            get16(ip + 2) != length - ETH_HEADER)
                return 0; /* options, not TCP, a fragment, or padded */
        size_t tcp_header = (size_t)(tcp[12] >> 4) * 4;
        if (tcp_header < 20 || ETH_HEADER + IPV4_HEADER + tcp_header >= length)
                return 0; /* no payload */
        if ((tcp[13] & ~TCP_FLAG_PSH) != TCP_FLAG_ACK)
                return 0;
        *ret_tcp_header = tcp_header;
        return length - ETH_HEADER - IPV4_HEADER - tcp_header;
}

/* Whether `frame` continues the pending one: same addresses, ports, ACK, window and options,
 * the next sequence number, and room left. */
static bool continues(const struct tap_coalescer *c, const uint8_t *frame, size_t tcp_header,
                      size_t payload) {
        const uint8_t *ip = frame + ETH_HEADER, *tcp = ip + IPV4_HEADER;
        const uint8_t *pip = c->frame + ETH_HEADER, *ptcp = pip + IPV4_HEADER;

        if (c->length == 0 || c->sealed || payload > c->segment_size)
                return false;
        if (c->length + payload > ETH_HEADER + TAP_COALESCE_MAX)
                return false;
        if ((size_t)(ptcp[12] >> 4) * 4 != tcp_header)
                return false;
        return memcmp(frame, c->frame, ETH_HEADER) == 0 && ip[1] == pip[1] && ip[8] == pip[8] &&
               memcmp(ip + 12, pip + 12, 8) == 0 && /* addresses */
               memcmp(tcp, ptcp, 4) == 0 && /* ports */
               get32(tcp + 4) == c->next_seq && memcmp(tcp + 8, ptcp + 8, 4) == 0 && /* ack */
               memcmp(tcp + 14, ptcp + 14, 2) == 0 && /* window */
               memcmp(tcp + 20, ptcp + 20, tcp_header - 20) == 0; /* options */
}

static int write_frame(int tap_fd, const uint8_t *header, const uint8_t *frame, size_t length) {
        struct iovec iov[2] = {
                { .iov_base = (void *)header, .iov_len = TAP_FRAME_HEADER_SIZE },
                { .iov_base = (void *)frame, .iov_len = length },
        };
        ssize_t n;

        do
                n = writev(tap_fd, iov, 2);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : 0;
}

int tap_coalesce_flush(struct tap_coalescer *c, int tap_fd) {
        static const struct virtio_net_hdr plain = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
        size_t length = c->length;

        if (length == 0)
                return 0;
        c->length = 0;
        if (c->n_segments == 1)
                return write_frame(tap_fd, (const uint8_t *)&plain, c->frame, length);

        /* One IPv4 packet now: its length and header checksum, and the TCP checksum left for the
         * receiver, seeded with the pseudo-header as a NIC with TSO expects it. */
        uint8_t *ip = c->frame + ETH_HEADER, *tcp = ip + IPV4_HEADER;
        size_t tcp_header = (size_t)(tcp[12] >> 4) * 4;
        size_t tcp_length = length - ETH_HEADER - IPV4_HEADER;
        put16(ip + 2, (uint16_t)(length - ETH_HEADER));
        put16(ip + 10, 0);
        put16(ip + 10, (uint16_t)~fold(tap_frame_sum(ip, IPV4_HEADER, 0)));
        uint32_t pseudo = tap_frame_sum(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)tcp_length;
        put16(tcp + 16, fold(pseudo));

        struct virtio_net_hdr h = {
                .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                .hdr_len = (uint16_t)(ETH_HEADER + IPV4_HEADER + tcp_header),
                .gso_size = (uint16_t)c->segment_size,
                .csum_start = ETH_HEADER + IPV4_HEADER,
                .csum_offset = 16,
        };
        memcpy(c->header, &h, sizeof(h));
        return write_frame(tap_fd, c->header, c->frame, length);
}

int tap_coalesce_add(struct tap_coalescer *c, int tap_fd, const uint8_t *frame, size_t length) {
        static const struct virtio_net_hdr plain = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
        size_t tcp_header = 0;
        size_t payload = tcp_payload(frame, length, &tcp_header);
        int r;

        if (payload > 0 && continues(c, frame, tcp_header, payload)) {
                size_t offset = ETH_HEADER + IPV4_HEADER + tcp_header;
                memcpy(c->frame + c->length, frame + offset, payload);
                c->length += payload;
                c->n_segments++;
                c->next_seq += (uint32_t)payload;
                uint8_t flags = frame[ETH_HEADER + IPV4_HEADER + 13];
                c->frame[ETH_HEADER + IPV4_HEADER + 13] |= flags & TCP_FLAG_PSH;
                c->sealed = payload < c->segment_size || (flags & TCP_FLAG_PSH);
                return 0;
        }

        r = tap_coalesce_flush(c, tap_fd);
        if (r < 0 && r != -EAGAIN)
                return r;
        /* Nothing to merge, or no room for a second segment (MTU 65520): no copy, out at once. */
        if (payload == 0 || length + payload > sizeof(c->frame))
                return write_frame(tap_fd, (const uint8_t *)&plain, frame, length);

        /* The start of a new run. */
        memcpy(c->frame, frame, length);
        c->length = length;
        c->segment_size = payload;
        c->n_segments = 1;
        c->next_seq = get32(frame + ETH_HEADER + IPV4_HEADER + 4) + (uint32_t)payload;
        c->sealed = frame[ETH_HEADER + IPV4_HEADER + 13] & TCP_FLAG_PSH;
        return 0;
}
