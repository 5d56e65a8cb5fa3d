/* test_tap_frame: checksums completed for frames the node's kernel left unchecksummed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netns/tap_frame.h"

/* RFC 1071 the slow, obvious way: 16-bit big-endian words. */
static uint32_t reference_sum(const uint8_t *data, size_t length) {
        uint32_t sum = 0;
        for (size_t i = 0; i < length; i += 2)
                sum += (uint32_t)data[i] << 8 | (i + 1 < length ? data[i + 1] : 0);
        return sum;
}

static uint16_t fold16(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)sum;
}

static void sum_matches_rfc1071_for_every_length_and_alignment(void **state) {
        static uint8_t data[70000];
        (void)state;
        srand(1);
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)rand();
        memset(data + 1000, 0xff, 600); /* long carries */
        for (size_t length = 0; length < 300; length++)
                for (size_t offset = 0; offset < 8; offset++)
                        assert_int_equal(fold16(tap_frame_sum(data + offset, length, 0)),
                                         fold16(reference_sum(data + offset, length)));
        assert_int_equal(fold16(tap_frame_sum(data + 3, 65535, 7)),
                         fold16(reference_sum(data + 3, 65535) + 7));
}

/* A virtio header asking for the checksum, then Ethernet + IPv4 + TCP + payload. */
static size_t build_tcp4(uint8_t *buffer, size_t payload, int protocol) {
        struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                    .csum_start = 14 + 20,
                                    .csum_offset = protocol == IPPROTO_TCP ? 16 : 6 };
        size_t l4_header = protocol == IPPROTO_TCP ? 20 : 8;
        size_t total = TAP_FRAME_HEADER_SIZE + 14 + 20 + l4_header + payload;
        uint8_t *eth = buffer + TAP_FRAME_HEADER_SIZE, *ip = eth + 14, *l4 = ip + 20;

        memset(buffer, 0, total);
        memcpy(buffer, &h, sizeof(h));
        eth[12] = 0x08;
        ip[0] = 0x45;
        ip[2] = 0x12; /* a wrong total length: the TSO case must fix it */
        ip[8] = 64;
        ip[9] = (uint8_t)protocol;
        memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 100, 127, 0, 0, 1 }, 8);
        for (size_t i = 0; i < l4_header + payload; i++)
                l4[i] = (uint8_t)(i * 7 + 3);
        return total;
}

static void ipv4_tcp_checksums_verify_after_finish(void **state) {
        static uint8_t buffer[TAP_FRAME_HEADER_SIZE + 14 + 65535];
        (void)state;
        size_t payload = 65535 - 40;
        size_t total = build_tcp4(buffer, payload, IPPROTO_TCP);
        int offset = tap_frame_finish(buffer, total);
        assert_int_equal(offset, TAP_FRAME_HEADER_SIZE);
        uint8_t *ip = buffer + offset + 14;
        size_t ip_length = total - (size_t)offset - 14;
        assert_int_equal(ip[2] << 8 | ip[3], ip_length);
        assert_int_equal(fold16(tap_frame_sum(ip, 20, 0)), 0xffff);
        uint32_t pseudo = tap_frame_sum(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(ip_length - 20);
        assert_int_equal(fold16(tap_frame_sum(ip + 20, ip_length - 20, pseudo)), 0xffff);
}

static void ipv4_udp_checksum_verifies_after_finish(void **state) {
        static uint8_t buffer[2048];
        (void)state;
        size_t total = build_tcp4(buffer, 101, IPPROTO_UDP);
        int offset = tap_frame_finish(buffer, total);
        assert_int_equal(offset, TAP_FRAME_HEADER_SIZE);
        uint8_t *ip = buffer + offset + 14;
        size_t ip_length = total - (size_t)offset - 14;
        uint32_t pseudo = tap_frame_sum(ip + 12, 8, 0) + IPPROTO_UDP + (uint32_t)(ip_length - 20);
        assert_int_equal(fold16(tap_frame_sum(ip + 20, ip_length - 20, pseudo)), 0xffff);
        assert_int_not_equal(ip[20 + 6] << 8 | ip[20 + 7], 0);
}

static void frames_without_the_flag_are_left_alone(void **state) {
        static uint8_t buffer[2048], copy[2048];
        (void)state;
        size_t total = build_tcp4(buffer, 100, IPPROTO_TCP);
        buffer[0] = 0; /* no NEEDS_CSUM */
        memcpy(copy, buffer, total);
        assert_int_equal(tap_frame_finish(buffer, total), TAP_FRAME_HEADER_SIZE);
        assert_memory_equal(buffer, copy, total);
}

static void inconsistent_frames_are_refused(void **state) {
        static uint8_t buffer[2048];
        struct virtio_net_hdr h;
        (void)state;
        assert_int_equal(tap_frame_finish(buffer, 5), -EBADMSG);
        size_t total = build_tcp4(buffer, 100, IPPROTO_TCP);
        memcpy(&h, buffer, sizeof(h));
        h.csum_start = 2000; /* beyond the frame */
        memcpy(buffer, &h, sizeof(h));
        assert_int_equal(tap_frame_finish(buffer, total), -EBADMSG);
        total = build_tcp4(buffer, 100, IPPROTO_TCP);
        buffer[TAP_FRAME_HEADER_SIZE + 12] = 0x12; /* not IP */
        assert_int_equal(tap_frame_finish(buffer, total), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sum_matches_rfc1071_for_every_length_and_alignment),
                cmocka_unit_test(ipv4_tcp_checksums_verify_after_finish),
                cmocka_unit_test(ipv4_udp_checksum_verifies_after_finish),
                cmocka_unit_test(frames_without_the_flag_are_left_alone),
                cmocka_unit_test(inconsistent_frames_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
