/* test_tcp_destination: where the kernel TCP path connects a node's connection (slirp's rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <string.h>

#include "common/macro.h"
#include "netns/tcp_destination.h"

static struct sockaddr_storage v4(const char *address, uint16_t port) {
        struct sockaddr_storage ss = { .ss_family = AF_INET };
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, address, &sin->sin_addr), 1);
        return ss;
}

static struct sockaddr_storage v6(const char *address, uint16_t port) {
        struct sockaddr_storage ss = { .ss_family = AF_INET6 };
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, address, &sin6->sin6_addr), 1);
        return ss;
}

static const char *text(const struct sockaddr_storage *ss) {
        static char buffer[INET6_ADDRSTRLEN + 8];
        char address[INET6_ADDRSTRLEN];
        const void *a = ss->ss_family == AF_INET
                                ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                                : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
        uint16_t port = ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                                 : ((const struct sockaddr_in6 *)ss)->sin6_port;
        inet_ntop(ss->ss_family, a, address, sizeof(address));
        snprintf(buffer, sizeof(buffer), "%s/%u", address, ntohs(port));
        return buffer;
}

static void options(struct network_options *o, bool host_loopback) {
        network_options_init_default(o);
        o->host_loopback = host_loopback;
        o->ipv6 = true;
}

static void gateway_is_host_loopback_with_host_loopback(void **state) {
        struct network_options o;
        struct sockaddr_storage in4 = v4("10.0.2.2", 8080), in6 = v6("fd00::2", 443), out, bind_to;
        (void)state;

        options(&o, true);
        assert_int_equal(tcp_destination_map(&o, &in4, &out, &bind_to), 0);
        assert_string_equal(text(&out), "127.0.0.1/8080");
        assert_int_equal(bind_to.ss_family, AF_UNSPEC);
        assert_int_equal(tcp_destination_map(&o, &in6, &out, &bind_to), 0);
        assert_string_equal(text(&out), "::1/443");
}

static void gateway_is_refused_without_host_loopback(void **state) {
        struct network_options o;
        struct sockaddr_storage in4 = v4("10.0.2.2", 8080), in6 = v6("fd00::2", 443), out, bind_to;
        (void)state;

        options(&o, false);
        assert_int_equal(tcp_destination_map(&o, &in4, &out, &bind_to), -EACCES);
        assert_int_equal(tcp_destination_map(&o, &in6, &out, &bind_to), -EACCES);
}

static void other_addresses_of_slirps_networks_are_unreachable(void **state) {
        struct network_options o;
        struct sockaddr_storage out, bind_to;
        struct sockaddr_storage dns = v4("10.0.2.3", 53), other = v4("10.0.2.77", 80),
                                dns6 = v6("fd00::3", 53);
        (void)state;

        options(&o, true);
        assert_int_equal(tcp_destination_map(&o, &dns, &out, &bind_to), -EHOSTUNREACH);
        assert_int_equal(tcp_destination_map(&o, &other, &out, &bind_to), -EHOSTUNREACH);
        assert_int_equal(tcp_destination_map(&o, &dns6, &out, &bind_to), -EHOSTUNREACH);
}

static void the_rest_is_connected_as_it_is(void **state) {
        struct network_options o;
        struct sockaddr_storage in4 = v4("192.0.2.10", 6443), in6 = v6("2001:db8::1", 80),
                                next = v4("10.0.3.1", 22), out, bind_to;
        (void)state;

        options(&o, false);
        assert_int_equal(tcp_destination_map(&o, &in4, &out, &bind_to), 0);
        assert_string_equal(text(&out), "192.0.2.10/6443");
        assert_int_equal(bind_to.ss_family, AF_UNSPEC);
        assert_int_equal(tcp_destination_map(&o, &in6, &out, &bind_to), 0);
        assert_string_equal(text(&out), "2001:db8::1/80");
        assert_int_equal(tcp_destination_map(&o, &next, &out, &bind_to), 0); /* outside the /24 */
        assert_string_equal(text(&out), "10.0.3.1/22");
}

static void outbound_addr_binds_what_leaves_the_host_not_its_loopback(void **state) {
        struct network_options o;
        struct sockaddr_storage far = v4("192.0.2.10", 80), gateway = v4("10.0.2.2", 80),
                                far6 = v6("2001:db8::1", 80), out, bind_to;
        (void)state;

        options(&o, true);
        assert_int_equal(network_options_set(&o, "outbound_addr", "192.0.2.2", NULL), 0);
        assert_int_equal(tcp_destination_map(&o, &far, &out, &bind_to), 0);
        assert_string_equal(text(&bind_to), "192.0.2.2/0");
        assert_int_equal(tcp_destination_map(&o, &gateway, &out, &bind_to), 0);
        assert_int_equal(bind_to.ss_family, AF_UNSPEC);
        /* No IPv6 outbound address: IPv6 is not bound. */
        assert_int_equal(tcp_destination_map(&o, &far6, &out, &bind_to), 0);
        assert_int_equal(bind_to.ss_family, AF_UNSPEC);
}

static void another_cidr_moves_the_gateway(void **state) {
        struct network_options o;
        struct sockaddr_storage gateway = v4("10.41.0.2", 80), old = v4("10.0.2.2", 80), out, bind_to;
        (void)state;

        options(&o, true);
        assert_int_equal(network_options_set(&o, "cidr", "10.41.0.0/16", NULL), 0);
        assert_int_equal(tcp_destination_map(&o, &gateway, &out, &bind_to), 0);
        assert_string_equal(text(&out), "127.0.0.1/80");
        assert_int_equal(tcp_destination_map(&o, &old, &out, &bind_to), 0);
        assert_string_equal(text(&out), "10.0.2.2/80");
}

static void tcp_path_takes_kernel_or_slirp(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_true(o.tcp_kernel);
        assert_int_equal(network_options_set(&o, "tcp_path", "kernel", NULL), 0);
        assert_true(o.tcp_kernel);
        assert_int_equal(network_options_set(&o, "tcp_path", "slirp", NULL), 0);
        assert_false(o.tcp_kernel);
        assert_int_equal(network_options_set(&o, "tcp_path", "fast", &allowed), -EINVAL);
        assert_string_equal(allowed, "kernel or slirp");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(gateway_is_host_loopback_with_host_loopback),
                cmocka_unit_test(gateway_is_refused_without_host_loopback),
                cmocka_unit_test(other_addresses_of_slirps_networks_are_unreachable),
                cmocka_unit_test(the_rest_is_connected_as_it_is),
                cmocka_unit_test(outbound_addr_binds_what_leaves_the_host_not_its_loopback),
                cmocka_unit_test(another_cidr_moves_the_gateway),
                cmocka_unit_test(tcp_path_takes_kernel_or_slirp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
