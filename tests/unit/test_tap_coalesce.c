/* test_tap_coalesce: slirp's segments to the node merged into TSO frames, everything else
 * passed through in order. The "tap" is a SOCK_SEQPACKET pair: one message per write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns/tap_coalesce.h"

static int pair[2];
static struct tap_coalescer coalescer;

static int setup(void **state) {
        (void)state;
        memset(&coalescer, 0, sizeof(coalescer));
        return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, pair);
}

static int teardown(void **state) {
        (void)state;
        close(pair[0]);
        close(pair[1]);
        return 0;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
        put16(p, (uint16_t)(v >> 16));
        put16(p + 2, (uint16_t)v);
}

/* An IPv4 TCP segment from 10.0.2.2:80 to 10.0.2.100:port with `payload` bytes of `fill`. */
static size_t segment(uint8_t *f, uint16_t port, uint32_t seq, size_t payload, uint8_t flags, uint8_t fill) {
        size_t length = 14 + 20 + 20 + payload;
        memset(f, 0, length);
        f[12] = 0x08;
        uint8_t *ip = f + 14, *tcp = ip + 20;
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(length - 14));
        ip[8] = 64;
        ip[9] = IPPROTO_TCP;
        memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 2, 10, 0, 2, 100 }, 8);
        put16(tcp, 80);
        put16(tcp + 2, port);
        put32(tcp + 4, seq);
        put32(tcp + 8, 777);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        put16(tcp + 14, 65535);
        memset(tcp + 20, fill, payload);
        return length;
}

/* Read one written message; returns its length, header in *h. */
static size_t next_write(struct virtio_net_hdr *h, uint8_t *frame) {
        static uint8_t message[sizeof(struct virtio_net_hdr) + 14 + 65535];
        ssize_t n = recv(pair[1], message, sizeof(message), 0);
        assert_true(n >= (ssize_t)sizeof(*h));
        memcpy(h, message, sizeof(*h));
        memcpy(frame, message + sizeof(*h), (size_t)n - sizeof(*h));
        return (size_t)n - sizeof(*h);
}

static void nothing_pending(void) {
        char byte;
        assert_int_equal(recv(pair[1], &byte, 1, 0), -1);
        assert_int_equal(errno, EAGAIN);
}

static void consecutive_segments_become_one_tso_frame(void **state) {
        static uint8_t f[2048], out[14 + 65535];
        struct virtio_net_hdr h;
        (void)state;

        for (int i = 0; i < 3; i++) {
                size_t n = segment(f, 5000, 1000 + (uint32_t)i * 1460, 1460, 0x10, (uint8_t)('a' + i));
                assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        }
        size_t n = segment(f, 5000, 1000 + 3 * 1460, 100, 0x18, 'd'); /* short, pushed: the end */
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        nothing_pending();
        assert_int_equal(tap_coalesce_flush(&coalescer, pair[0]), 0);

        size_t length = next_write(&h, out);
        assert_int_equal(length, 14 + 20 + 20 + 3 * 1460 + 100);
        assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
        assert_int_equal(h.gso_size, 1460);
        assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_int_equal(h.csum_start, 34);
        assert_int_equal(h.csum_offset, 16);
        assert_int_equal(h.hdr_len, 54);
        uint8_t *ip = out + 14, *tcp = ip + 20;
        assert_int_equal(ip[2] << 8 | ip[3], length - 14);
        uint32_t ip_sum = tap_frame_sum(ip, 20, 0);
        while (ip_sum >> 16)
                ip_sum = (ip_sum & 0xffff) + (ip_sum >> 16);
        assert_int_equal(ip_sum, 0xffff);
        assert_int_equal(tcp[13], 0x18); /* PSH of the last segment kept */
        assert_int_equal(tcp[20], 'a');
        assert_int_equal(tcp[20 + 1460], 'b');
        assert_int_equal(tcp[20 + 2 * 1460], 'c');
        assert_int_equal(tcp[20 + 3 * 1460 + 99], 'd');
        /* The TCP checksum field holds the folded pseudo-header sum, as a TSO NIC expects. */
        uint32_t pseudo = tap_frame_sum(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(length - 34);
        while (pseudo >> 16)
                pseudo = (pseudo & 0xffff) + (pseudo >> 16);
        assert_int_equal(tcp[16] << 8 | tcp[17], pseudo);
        /* Completing the checksum from there gives a valid packet. */
        uint8_t with_header[sizeof(h) + sizeof(out)];
        memcpy(with_header, &h, sizeof(h));
        memcpy(with_header + sizeof(h), out, length);
        assert_int_equal(tap_frame_finish(with_header, sizeof(h) + length), (int)sizeof(h));
        nothing_pending();
}

static void a_gap_in_sequence_or_another_flow_starts_a_new_frame(void **state) {
        static uint8_t f[2048], out[14 + 65535];
        struct virtio_net_hdr h;
        (void)state;

        size_t n = segment(f, 5000, 1000, 1460, 0x10, 'a');
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        n = segment(f, 5000, 9999, 1460, 0x10, 'b'); /* gap */
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        n = segment(f, 6000, 9999 + 1460, 1460, 0x10, 'c'); /* other flow */
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        assert_int_equal(tap_coalesce_flush(&coalescer, pair[0]), 0);
        for (char fill = 'a'; fill <= 'c'; fill++) {
                size_t length = next_write(&h, out);
                assert_int_equal(length, 14 + 20 + 20 + 1460);
                assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
                assert_int_equal(h.flags, 0);
                assert_int_equal(out[54], fill);
        }
        nothing_pending();
}

static void other_frames_pass_through_in_order(void **state) {
        static uint8_t f[2048], out[14 + 65535];
        struct virtio_net_hdr h;
        (void)state;

        size_t n = segment(f, 5000, 1000, 1460, 0x10, 'a');
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        n = segment(f, 5000, 1000 + 1460, 0, 0x11, 0); /* FIN, no data */
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        uint8_t arp[42] = { [12] = 0x08, [13] = 0x06 };
        assert_int_equal(tap_coalesce_add(&coalescer, pair[0], arp, sizeof(arp)), 0);

        assert_int_equal(next_write(&h, out), 14 + 20 + 20 + 1460);
        assert_int_equal(next_write(&h, out), 14 + 20 + 20);
        assert_int_equal(out[14 + 20 + 13], 0x11);
        assert_int_equal(next_write(&h, out), sizeof(arp));
        assert_int_equal(out[13], 0x06);
        nothing_pending();
        assert_int_equal(tap_coalesce_flush(&coalescer, pair[0]), 0);
        nothing_pending();
}

static void a_frame_never_grows_past_64_kib(void **state) {
        static uint8_t f[2048], out[14 + 65535];
        struct virtio_net_hdr h;
        size_t total = 0;
        (void)state;

        for (uint32_t i = 0; i < 50; i++) {
                size_t n = segment(f, 5000, i * 1460, 1460, 0x10, 'x');
                assert_int_equal(tap_coalesce_add(&coalescer, pair[0], f, n), 0);
        }
        assert_int_equal(tap_coalesce_flush(&coalescer, pair[0]), 0);
        for (int writes = 0; writes < 2; writes++) {
                size_t length = next_write(&h, out);
                assert_true(length - 14 <= 65535);
                total += length - 54;
        }
        assert_int_equal(total, 50 * 1460);
        nothing_pending();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(consecutive_segments_become_one_tso_frame, setup, teardown),
                cmocka_unit_test_setup_teardown(a_gap_in_sequence_or_another_flow_starts_a_new_frame, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(other_frames_pass_through_in_order, setup, teardown),
                cmocka_unit_test_setup_teardown(a_frame_never_grows_past_64_kib, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
