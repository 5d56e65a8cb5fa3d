/* test_network_options: [network] keys: defaults, accepted values, refused values, layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <string.h>

#include "common/macro.h"
#include "netns/network_options.h"

static const char *address(struct in_addr a) {
        static char text[4][INET_ADDRSTRLEN];
        static int next;
        char *t = text[next++ % 4];
        return inet_ntop(AF_INET, &a, t, INET_ADDRSTRLEN);
}

static void defaults_are_slirp4netns_layout_with_large_mtu(void **state) {
        struct network_options o;
        struct network_layout l;
        (void)state;

        network_options_init_default(&o);
        network_options_layout(&o, &l);
        assert_int_equal(o.mtu, 65520);
        assert_false(o.host_loopback);
        assert_false(o.ipv6);
        assert_true(o.sandbox);
        assert_string_equal(address(o.network), "10.0.2.0");
        assert_int_equal(o.prefix_len, 24);
        assert_string_equal(address(l.guest), "10.0.2.100");
        assert_string_equal(address(l.gateway), "10.0.2.2");
        assert_string_equal(address(l.nameserver), "10.0.2.3");
        assert_string_equal(address(l.netmask), "255.255.255.0");
        assert_int_equal(network_options_check(&o), 0);
}

static void mtu_accepts_1280_to_65520(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "mtu", "1280", &allowed), 0);
        assert_int_equal(o.mtu, 1280);
        assert_int_equal(network_options_set(&o, "mtu", "65520", &allowed), 0);
        assert_int_equal(o.mtu, 65520);
        assert_int_equal(network_options_set(&o, "mtu", "1500", &allowed), 0);
        assert_int_equal(o.mtu, 1500);
}

static void mtu_refuses_out_of_range_and_garbage(void **state) {
        static const char *const bad[] = { "1279",  "65521", "0",   "-1500",
                                           "1500x", "",      "abc", "99999999999999999999" };
        struct network_options o;
        (void)state;

        network_options_init_default(&o);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *allowed = NULL;
                assert_int_equal(network_options_set(&o, "mtu", bad[i], &allowed), -EINVAL);
                assert_non_null(strstr(allowed, "1280 to 65520"));
                assert_int_equal(o.mtu, 65520);
        }
}

static void cidr_accepts_networks_up_to_slash_30(void **state) {
        struct network_options o;
        struct network_layout l;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "cidr", "10.41.0.0/16", &allowed), 0);
        network_options_layout(&o, &l);
        assert_string_equal(address(l.guest), "10.41.0.100");
        assert_string_equal(address(l.gateway), "10.41.0.2");
        assert_string_equal(address(l.nameserver), "10.41.0.3");

        assert_int_equal(network_options_set(&o, "cidr", "192.168.7.0/29", &allowed), 0);
        network_options_layout(&o, &l);
        assert_string_equal(address(l.guest), "192.168.7.6");
        assert_string_equal(address(l.gateway), "192.168.7.2");
        assert_string_equal(address(l.nameserver), "192.168.7.3");

        assert_int_equal(network_options_set(&o, "cidr", "192.168.7.4/30", &allowed), 0);
        network_options_layout(&o, &l);
        assert_string_equal(address(l.guest), "192.168.7.5");
        assert_string_equal(address(l.gateway), "192.168.7.6");
}

static void cidr_refuses_smaller_than_slash_30_and_host_bits(void **state) {
        static const char *const bad[] = { "10.0.2.0/31", "10.0.2.0/32", "10.0.2.1/24", "10.0.2.0",
                                           "10.0.2.0/",   "10.0.2.0/0",  "fd00::/64",   "10.0.2.0/24x",
                                           "/24",         "10.0.2.0/-8" };
        struct network_options o;
        (void)state;

        network_options_init_default(&o);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *allowed = NULL;
                assert_int_equal(network_options_set(&o, "cidr", bad[i], &allowed), -EINVAL);
                assert_non_null(strstr(allowed, "/30"));
        }
        assert_int_equal(o.prefix_len, 24);
}

/* 127.0.0.0/8 used to be accepted and left the node without a network. */
static void cidr_refuses_networks_that_carry_no_traffic(void **state) {
        static const char *const bad[] = {
                "127.0.0.0/8",  "127.1.0.0/16", "0.0.0.0/8",   "0.0.0.0/1",
                "224.0.0.0/24", "240.0.0.0/8",  "128.0.0.0/1", "255.255.255.0/24"
        };
        struct network_options o;
        (void)state;

        network_options_init_default(&o);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *allowed = NULL;
                if (network_options_set(&o, "cidr", bad[i], &allowed) != -EINVAL)
                        fail_msg("cidr = %s was accepted", bad[i]);
                assert_non_null(strstr(allowed, "loopback"));
        }
        assert_int_equal(network_options_set(&o, "cidr", "126.0.0.0/8", NULL), 0);
        assert_int_equal(network_options_set(&o, "cidr", "128.0.0.0/2", NULL), 0);
}

/* `usernode config --default` prints "outbound_addr = " empty: it must mean the default. */
static void empty_outbound_addr_is_any(void **state) {
        struct network_options o;
        (void)state;
        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "outbound_addr", "127.0.0.1", NULL), 0);
        assert_true(o.has_outbound_addr);
        assert_int_equal(network_options_set(&o, "outbound_addr", "", NULL), 0);
        assert_false(o.has_outbound_addr);
        assert_false(o.has_outbound_addr6);
}

static void slash_30_needs_an_explicit_nameserver(void **state) {
        struct network_options o;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "cidr", "10.0.2.0/30", NULL), 0);
        assert_int_equal(network_options_check(&o), -EINVAL);
        assert_int_equal(network_options_set(&o, "dns", "192.0.2.53", NULL), 0);
        assert_int_equal(network_options_check(&o), 0);
}

static void booleans_take_the_usual_spellings(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "host_loopback", "true", &allowed), 0);
        assert_true(o.host_loopback);
        assert_int_equal(network_options_set(&o, "host_loopback", "no", &allowed), 0);
        assert_false(o.host_loopback);
        assert_int_equal(network_options_set(&o, "ipv6", "On", &allowed), 0);
        assert_true(o.ipv6);
        assert_int_equal(network_options_set(&o, "sandbox", "0", &allowed), 0);
        assert_false(o.sandbox);
        assert_int_equal(network_options_set(&o, "sandbox", "maybe", &allowed), -EINVAL);
        assert_non_null(strstr(allowed, "true or false"));
        assert_false(o.sandbox);
}

static void outbound_addr_takes_one_address_per_family(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "outbound_addr", "192.0.2.7", &allowed), 0);
        assert_true(o.has_outbound_addr);
        assert_false(o.has_outbound_addr6);
        assert_int_equal(network_options_set(&o, "outbound_addr", "192.0.2.7,2001:db8::7", &allowed), 0);
        assert_true(o.has_outbound_addr6);
        assert_int_equal(network_options_set(&o, "outbound_addr", "eth0", &allowed), -EINVAL);
        assert_int_equal(network_options_set(&o, "outbound_addr", "192.0.2.7,192.0.2.8", &allowed), -EINVAL);
        assert_int_equal(network_options_set(&o, "outbound_addr", ",", &allowed), -EINVAL);
        assert_true(o.has_outbound_addr && o.has_outbound_addr6); /* unchanged by the refusals */
}

static void dns_is_slirp_or_up_to_three_addresses(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        _cleanup_free_ char *resolv = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "dns", "192.0.2.53,2001:db8::53", &allowed), 0);
        assert_int_equal(o.n_dns, 2);
        assert_int_equal(network_render_resolv_conf(&o, &resolv), 0);
        assert_non_null(strstr(resolv, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n"));
        assert_null(strstr(resolv, "10.0.2.3"));
        assert_int_equal(network_options_set(&o, "dns", "1.1.1.1,1.0.0.1,8.8.8.8,8.8.4.4", &allowed),
                         -EINVAL);
        assert_int_equal(network_options_set(&o, "dns", "resolver.example", &allowed), -EINVAL);
        assert_int_equal(o.n_dns, 2);
        assert_int_equal(network_options_set(&o, "dns", "slirp", &allowed), 0);
        assert_int_equal(o.n_dns, 0);
}

static void resolv_conf_names_the_forwarder_by_default(void **state) {
        struct network_options o;
        _cleanup_free_ char *resolv = NULL, *hosts = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_render_resolv_conf(&o, &resolv), 0);
        assert_non_null(strstr(resolv, "\nnameserver 10.0.2.3\n"));
        assert_int_equal(network_render_hosts(&o, "node1", &hosts), 0);
        assert_non_null(strstr(hosts, "127.0.0.1\tlocalhost\n"));
        assert_non_null(strstr(hosts, "10.0.2.100\tnode1\n"));
}

static void unknown_key_is_reported_as_such(void **state) {
        struct network_options o;
        const char *allowed = NULL;
        (void)state;

        network_options_init_default(&o);
        assert_int_equal(network_options_set(&o, "mtu_size", "1500", &allowed), -ENOENT);
        assert_null(allowed);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(defaults_are_slirp4netns_layout_with_large_mtu),
                cmocka_unit_test(mtu_accepts_1280_to_65520),
                cmocka_unit_test(mtu_refuses_out_of_range_and_garbage),
                cmocka_unit_test(cidr_accepts_networks_up_to_slash_30),
                cmocka_unit_test(cidr_refuses_smaller_than_slash_30_and_host_bits),
                cmocka_unit_test(cidr_refuses_networks_that_carry_no_traffic),
                cmocka_unit_test(empty_outbound_addr_is_any),
                cmocka_unit_test(slash_30_needs_an_explicit_nameserver),
                cmocka_unit_test(booleans_take_the_usual_spellings),
                cmocka_unit_test(outbound_addr_takes_one_address_per_family),
                cmocka_unit_test(dns_is_slirp_or_up_to_three_addresses),
                cmocka_unit_test(resolv_conf_names_the_forwarder_by_default),
                cmocka_unit_test(unknown_key_is_reported_as_such),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
