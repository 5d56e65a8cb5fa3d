/* test_node_settings.c: the node's service sections of the configuration become struct
 * node_settings; bad values are refused when set; [service:NAME] sections become services. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "launcher/config/config.h"
#include "launcher/services/node_settings_config.h"

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

static void test_defaults_match_the_schema(void **state) {
        (void)state;
        struct config *c;
        struct node_settings s;
        setenv("HOME", "/home/alice", 1);
        unsetenv("XDG_DATA_HOME");
        unsetenv("XDG_CONFIG_HOME");
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(node_settings_from_config(&s, c, "n", "/run/user/1/usernode/n", NULL), 0);
        assert_int_equal(s.crio_ready_timeout, 60 * USEC_PER_SEC);
        assert_int_equal(s.restart_reset_after, 120 * USEC_PER_SEC);
        assert_int_equal(s.log_max_size, 10 * 1024 * 1024);
        assert_int_equal(s.log_keep, 3);
        assert_int_equal(s.healthz_port, 10248);
        assert_string_equal(s.static_pod_path, "/home/alice/.local/share/usernode/n/static-pods");
        assert_string_equal(s.kubelet_dropin_dir, "/home/alice/.config/usernode/n.kubelet.d");
        assert_null(s.config_path); /* reloads read the default file, if there is one by then */
        node_settings_done(&s);
        config_free(c);
}

static void test_known_keys_set_their_field(void **state) {
        (void)state;
        struct config *c;
        struct node_settings s;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(config_set(c, "crio", "restart", "never", "t.ini:1"), 0);
        assert_int_equal(config_set(c, "kubelet", "healthz_port", "12345", "t.ini:2"), 0);
        assert_int_equal(config_set(c, "supervisor", "restart_delay_max", "5s", "t.ini:3"), 0);
        assert_int_equal(config_set(c, "cni", "ip_masq", "false", "t.ini:4"), 0);
        assert_int_equal(node_settings_from_config(&s, c, "n", "/s", "t.ini"), 0);
        assert_int_equal(s.crio_restart, RESTART_NEVER);
        assert_int_equal(s.healthz_port, 12345);
        assert_int_equal(s.restart_delay_max, 5 * USEC_PER_SEC);
        assert_false(s.cni_ip_masq);
        node_settings_done(&s);
        config_free(c);
}

static void test_bad_values_are_refused_when_set(void **state) {
        (void)state;
        struct config *c;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(config_set(c, "crio", "colour", "blue", "t.ini:1"), -EINVAL);
        assert_int_equal(config_set(c, "crio", "restart", "sometimes", "t.ini:2"), -EINVAL);
        assert_int_equal(config_set(c, "kubelet", "healthz_port", "70000", "t.ini:3"), -EINVAL);
        assert_int_equal(config_set(c, "supervisor", "log_keep", "0", "t.ini:4"), -EINVAL);
        assert_int_equal(config_set(c, "supervisor", "restart_delay_min", "soon", "t.ini:5"), -EINVAL);
        assert_int_equal(config_set(c, "cni", "subnet", "10.88.0.0", "t.ini:6"), -EINVAL);
        assert_int_equal(config_set(c, "service:x", "command", "echo $(id)", "t.ini:7"), -EINVAL);
        assert_int_equal(config_set(c, "service:x", "environment", "NOEQUALS", "t.ini:8"), -EINVAL);
        config_free(c);
}

static void test_service_sections_of_a_file_become_extra_services(void **state) {
        (void)state;
        char path[] = "/tmp/test-node-settings-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs("[service:kube-proxy]\ncommand = kube-proxy --v=2\nrestart = always\n"
              "[service:flannel]\ncommand = flanneld\nafter = kube-proxy\n",
              f);
        fclose(f);
        struct node_settings s;
        assert_int_equal(node_settings_load(&s, "n", "/s", path), 0);
        assert_int_equal(s.n_services, 2);
        assert_string_equal(s.services[0].name, "kube-proxy");
        assert_string_equal(s.services[0].command, "kube-proxy --v=2");
        assert_int_equal(s.services[0].restart, RESTART_ALWAYS);
        assert_string_equal(s.services[1].name, "flannel");
        assert_string_equal(s.services[1].after, "kube-proxy");
        assert_int_equal(s.services[1].restart, RESTART_ON_FAILURE);
        node_settings_done(&s);
        unlink(path);
}

static void test_a_service_named_crio_is_refused(void **state) {
        (void)state;
        struct config *c;
        struct node_settings s;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(config_load_file(c, "/dev/null", true), 0);
        config_free(c);
        char path[] = "/tmp/test-node-settings-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs("[service:crio]\ncommand = crio\n", f);
        fclose(f);
        assert_int_equal(node_settings_load(&s, "n", "/s", path), -EINVAL);
        unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations_and_sizes_parse_with_units),
                cmocka_unit_test(test_defaults_match_the_schema),
                cmocka_unit_test(test_known_keys_set_their_field),
                cmocka_unit_test(test_bad_values_are_refused_when_set),
                cmocka_unit_test(test_service_sections_of_a_file_become_extra_services),
                cmocka_unit_test(test_a_service_named_crio_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
