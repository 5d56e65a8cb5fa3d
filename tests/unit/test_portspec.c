/* test_portspec.c: the port spec grammar, `[HOST_IP:]HOST_PORT:NODE_PORT[:NODE_IP][/tcp|/udp]`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "netns/portspec.h"

static void assert_canonical(const char *text, const char *expected) {
        struct port_spec spec;
        char error[256] = "", canonical[PORTSPEC_STRING_MAX];

        if (portspec_parse(text, &spec, error, sizeof(error)) < 0)
                fail_msg("\"%s\" rejected: %s", text, error);
        assert_int_equal(portspec_format(&spec, canonical, sizeof(canonical)), 0);
        assert_string_equal(canonical, expected);
}

static void assert_rejected(const char *text, const char *reason_part) {
        struct port_spec spec;
        char error[256] = "";

        assert_int_equal(portspec_parse(text, &spec, error, sizeof(error)), -EINVAL);
        assert_null(strchr(error, '\n'));
        if (!strstr(error, reason_part))
                fail_msg("\"%s\": error \"%s\" does not mention \"%s\"", text, error, reason_part);
}

static void test_two_fields_default_to_any_address_and_tcp(void **state) {
        (void)state;
        assert_canonical("8080:80", "0.0.0.0:8080:80/tcp");
}

static void test_host_address_and_protocol_are_kept(void **state) {
        (void)state;
        assert_canonical("127.0.0.1:10250:10250/tcp", "127.0.0.1:10250:10250/tcp");
        assert_canonical("127.0.0.1:5353:53/udp", "127.0.0.1:5353:53/udp");
        assert_canonical("9000:9000/udp", "0.0.0.0:9000:9000/udp");
}

static void test_ipv6_host_address_in_brackets(void **state) {
        (void)state;
        assert_canonical("[::1]:8080:80", "[::1]:8080:80/tcp");
        assert_canonical("[::]:8080:80/udp", "[::]:8080:80/udp");
        assert_canonical("[fe80::1:2]:8080:80", "[fe80::1:2]:8080:80/tcp");
}

static void test_fourth_field_is_node_address(void **state) {
        struct port_spec spec;
        char error[256];
        (void)state;

        assert_canonical("0.0.0.0:8080:80:10.0.2.100/tcp", "0.0.0.0:8080:80:10.0.2.100/tcp");
        assert_canonical("[::1]:8080:80:[::1]", "[::1]:8080:80:[::1]/tcp");
        /* The default node address is not printed. */
        assert_canonical("127.0.0.1:8080:80:127.0.0.1", "127.0.0.1:8080:80/tcp");
        assert_int_equal(portspec_parse("1.2.3.4:8080:80:10.0.0.9/udp", &spec, error, sizeof(error)), 0);
        assert_int_equal(spec.node.family, AF_INET);
        assert_int_equal(spec.protocol, IPPROTO_UDP);
}

static void test_range_form(void **state) {
        struct port_spec spec;
        char error[256];
        (void)state;

        assert_canonical("8000-8010:8000-8010", "0.0.0.0:8000-8010:8000-8010/tcp");
        assert_canonical("127.0.0.1:18000-18002:8000-8002/udp", "127.0.0.1:18000-18002:8000-8002/udp");
        assert_int_equal(portspec_parse("8000-8010:9000-9010", &spec, error, sizeof(error)), 0);
        assert_int_equal(spec.host_port, 8000);
        assert_int_equal(spec.node_port, 9000);
        assert_int_equal(spec.count, 11);
        /* A one-port range is the single port. */
        assert_canonical("80-80:80-80", "0.0.0.0:80:80/tcp");
}

static void test_sockaddr_of_each_port_in_range(void **state) {
        struct port_spec spec;
        struct sockaddr_storage ss;
        char error[256];
        (void)state;

        assert_int_equal(portspec_parse("[::1]:8000-8002:9000-9002", &spec, error, sizeof(error)), 0);
        assert_int_equal(portspec_host_sockaddr(&spec, 2, &ss), sizeof(struct sockaddr_in6));
        assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 8002);
        assert_int_equal(portspec_node_sockaddr(&spec, 1, &ss), sizeof(struct sockaddr_in));
        assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9001);
        assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

static void test_malformed_specs_are_rejected_with_a_reason(void **state) {
        (void)state;
        assert_rejected("", "expected");
        assert_rejected("8080", "expected");
        assert_rejected("1:2:3:4:5", "expected");
        assert_rejected("8080:", "node port");
        assert_rejected(":80", "host port");
        assert_rejected("0:80", "out of range");
        assert_rejected("8080:0", "out of range");
        assert_rejected("65536:80", "out of range");
        assert_rejected("99999999999999999999:80", "out of range");
        assert_rejected("-1:80", "not a port");
        assert_rejected("+80:80", "not a port");
        assert_rejected(" 80:80", "not a port");
        assert_rejected("80 :80", "not a port");
        assert_rejected("http:80", "not a port");
        assert_rejected("8080:80/sctp", "protocol");
        assert_rejected("8080:80/", "protocol");
        assert_rejected("8080:80/TCP", "protocol");
        assert_rejected("8080:80/tcp/udp", "node port");
        assert_rejected("8010-8000:80-90", "ends before");
        assert_rejected("8000-8010:8000-8005", "same length");
        assert_rejected("8000-:80", "not a port");
        assert_rejected("8000-8001-8002:80", "not a port");
        assert_rejected("localhost:8080:80", "IPv4");
        assert_rejected("1.2.3:8080:80", "IPv4");
        assert_rejected("::1:8080:80", "expected");
        assert_rejected("[::1:8080:80", "expected");
        assert_rejected("[1.2.3.4]:8080:80", "IPv6");
        assert_rejected("[]:8080:80", "IPv6");
        assert_rejected(":8080:80", "host address is empty");
        assert_rejected("0.0.0.0:8080:80:0.0.0.0", "not an address to connect to");
        assert_rejected("0.0.0.0:8080:80:", "node address is empty");
        assert_rejected("0.0.0.0:8080:80:nodename", "node address");
}

static void test_overly_long_spec_is_rejected(void **state) {
        char text[1024];
        (void)state;

        memset(text, '1', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        assert_rejected(text, "too long");
}

static void test_overlap_same_protocol_and_shared_port(void **state) {
        struct port_spec a, b;
        char error[256];
        (void)state;

        assert_int_equal(portspec_parse("8000-8010:8000-8010", &a, error, sizeof(error)), 0);
        assert_int_equal(portspec_parse("127.0.0.1:8010:80", &b, error, sizeof(error)), 0);
        assert_true(portspec_overlaps(&a, &b));
        assert_int_equal(portspec_parse("127.0.0.1:8011:80", &b, error, sizeof(error)), 0);
        assert_false(portspec_overlaps(&a, &b));
        assert_int_equal(portspec_parse("8005:80/udp", &b, error, sizeof(error)), 0);
        assert_false(portspec_overlaps(&a, &b));
        assert_int_equal(portspec_parse("[::1]:8005:80", &b, error, sizeof(error)), 0);
        assert_false(portspec_overlaps(&a, &b));
        assert_int_equal(portspec_parse("127.0.0.1:9000:80", &a, error, sizeof(error)), 0);
        assert_int_equal(portspec_parse("127.0.0.2:9000:80", &b, error, sizeof(error)), 0);
        assert_false(portspec_overlaps(&a, &b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_two_fields_default_to_any_address_and_tcp),
                cmocka_unit_test(test_host_address_and_protocol_are_kept),
                cmocka_unit_test(test_ipv6_host_address_in_brackets),
                cmocka_unit_test(test_fourth_field_is_node_address),
                cmocka_unit_test(test_range_form),
                cmocka_unit_test(test_sockaddr_of_each_port_in_range),
                cmocka_unit_test(test_malformed_specs_are_rejected_with_a_reason),
                cmocka_unit_test(test_overly_long_spec_is_rejected),
                cmocka_unit_test(test_overlap_same_protocol_and_shared_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
