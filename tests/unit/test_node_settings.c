/* test_node_settings.c: values of the node's INI sections are parsed or rejected with what is
 * allowed; [service:NAME] sections become services of the plan in `after` order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "launcher/node_settings_ini.h"
#include "launcher/service.h"

static void test_durations_and_sizes_parse_with_units(void **state) {
        (void)state;
        usec_t d;
        uint64_t n;
        assert_int_equal(parse_duration("150ms", &d), 0);
        assert_int_equal(d, 150 * USEC_PER_MSEC);
        assert_int_equal(parse_duration("2min", &d), 0);
        assert_int_equal(d, 120 * USEC_PER_SEC);
        assert_int_equal(parse_duration("7", &d), 0);
        assert_int_equal(d, 7 * USEC_PER_SEC);
        assert_int_equal(parse_duration("1 s", &d), -EINVAL);
        assert_int_equal(parse_duration("-1s", &d), -EINVAL);
        assert_int_equal(parse_duration("10parsecs", &d), -EINVAL);
        assert_int_equal(parse_size("10M", &n), 0);
        assert_int_equal(n, 10 * 1024 * 1024);
        assert_int_equal(parse_size("4096", &n), 0);
        assert_int_equal(n, 4096);
        assert_int_equal(parse_size("1T", &n), -EINVAL);
}

static void test_known_keys_set_their_field(void **state) {
        (void)state;
        struct node_settings s;
        assert_int_equal(node_settings_init(&s, "n", "/s", "/d", "/c", NULL), 0);
        assert_int_equal(node_settings_set(&s, "crio", "restart", "never", "t.ini"), 0);
        assert_int_equal(s.crio_restart, RESTART_NEVER);
        assert_int_equal(node_settings_set(&s, "kubelet", "healthz_port", "12345", "t.ini"), 0);
        assert_int_equal(s.healthz_port, 12345);
        assert_int_equal(node_settings_set(&s, "supervisor", "restart_delay_max", "5s", "t.ini"), 0);
        assert_int_equal(s.restart_delay_max, 5 * USEC_PER_SEC);
        assert_int_equal(node_settings_set(&s, "cni", "ip_masq", "false", "t.ini"), 0);
        assert_false(s.cni_ip_masq);
        node_settings_done(&s);
}

static void test_unknown_keys_and_bad_values_are_rejected(void **state) {
        (void)state;
        struct node_settings s;
        assert_int_equal(node_settings_init(&s, "n", "/s", "/d", "/c", NULL), 0);
        assert_int_equal(node_settings_set(&s, "crio", "colour", "blue", "t.ini"), -EINVAL);
        assert_int_equal(node_settings_set(&s, "crio", "restart", "sometimes", "t.ini"), -EINVAL);
        assert_int_equal(node_settings_set(&s, "kubelet", "healthz_port", "70000", "t.ini"), -EINVAL);
        assert_int_equal(node_settings_set(&s, "supervisor", "log_keep", "0", "t.ini"), -EINVAL);
        assert_string_equal(node_settings_allowed("crio", "restart"), "always, on-failure or never");
        node_settings_done(&s);
}

static void test_service_sections_become_extra_services(void **state) {
        (void)state;
        struct node_settings s;
        assert_int_equal(node_settings_init(&s, "n", "/s", "/d", "/c", NULL), 0);
        assert_int_equal(node_settings_set(&s, "service:kube-proxy", "command", "kube-proxy --v=2", "t.ini"),
                         0);
        assert_int_equal(node_settings_set(&s, "service:kube-proxy", "restart", "always", "t.ini"), 0);
        assert_int_equal(s.n_services, 1);
        assert_string_equal(s.services[0].name, "kube-proxy");
        assert_int_equal(s.services[0].restart, RESTART_ALWAYS);
        assert_int_equal(node_settings_set(&s, "service:Bad/Name", "command", "x", "t.ini"), -EINVAL);
        assert_int_equal(node_settings_set(&s, "service:crio", "command", "x", "t.ini"), -EINVAL);
        node_settings_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations_and_sizes_parse_with_units),
                cmocka_unit_test(test_known_keys_set_their_field),
                cmocka_unit_test(test_unknown_keys_and_bad_values_are_rejected),
                cmocka_unit_test(test_service_sections_become_extra_services),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
