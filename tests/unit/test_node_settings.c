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
        assert_int_equal(config_set(c, "service:x", "command", "echo 'open", "t.ini:7"), -EINVAL);
        assert_int_equal(config_set(c, "service:x", "environment", "NOEQUALS", "t.ini:8"), -EINVAL);
        config_free(c);
}

/* wordexp(3) used to expand $HOME, ~ and globs in the launcher at load time. */
static void test_command_words_are_split_without_any_expansion(void **state) {
        (void)state;
        char **words = NULL;
        assert_int_equal(
                node_config_split_words("sh -c 'echo $HOME; ls *' ~ $(id) \"a b\" c\\ d /*", &words, NULL),
                0);
        const char *want[] = { "sh", "-c", "echo $HOME; ls *", "~", "$(id)", "a b", "c d", "/*" };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(words[i], want[i]);
        assert_null(words[ELEMENTSOF(want)]);
        strv_freep(&words);
        assert_int_equal(node_config_split_words("  ", &words, NULL), 0);
        assert_null(words[0]);
        strv_freep(&words);
        char *why = NULL;
        assert_int_equal(node_config_split_words("echo \"open", &words, &why), -EINVAL);
        assert_non_null(why);
        free(why);
}

static void load_text(const char *text, int want) {
        char path[] = "/tmp/test-node-settings-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        struct node_settings s;
        int r = node_settings_load(&s, "n", "/s", path);
        unlink(path);
        if (r != want)
                fail_msg("loading gave %d, not %d:\n%s", r, want, text);
        if (r >= 0)
                node_settings_done(&s);
}

/* A copy of the default file with "# " removed from line LINE (0: none; -1: every key line) and
 * from the [service:...] header when that line is in its block. */
static char *uncommented(int line) {
        const char *ini = config_default_ini();
        char *out = malloc(strlen(ini) + 1), *o = out;
        const char *service = strstr(ini, "\n# [service:") + 1;
        int n = 0;
        bool in_service = false;
        assert_non_null(out);
        for (const char *p = ini; *p;) {
                const char *nl = strchrnul(p, '\n');
                n++;
                bool key_line = strncmp(p, "# ", 2) == 0 && memchr(p, '=', (size_t)(nl - p)) &&
                                strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_") > 0 &&
                                p[2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_")] == ' ';
                in_service = in_service || p == service;
                bool take = key_line && (line == -1 || line == n);
                if (p == service) {
                        /* the header goes with any line of its block */
                        int m = n;
                        bool any = line == -1;
                        for (const char *q = p; *q && !any;
                             q = *strchrnul(q, '\n') ? strchrnul(q, '\n') + 1 : "")
                                any = m++ == line;
                        take = any;
                }
                if (take)
                        p += 2;
                memcpy(o, p, (size_t)(nl - p));
                o += nl - p;
                if (*nl)
                        *o++ = '\n';
                p = *nl ? nl + 1 : nl;
        }
        *o = '\0';
        return out;
}

/* `usernode config --default > f.ini` used to fail at [node]; "# outbound_addr = " uncommented too. */
static void test_default_file_loads_back_with_any_line_uncommented(void **state) {
        (void)state;
        const char *ini = config_default_ini();
        int lines = 0, keys = 0;
        for (const char *p = ini; *p; p++)
                lines += *p == '\n';
        load_text(ini, 0);
        for (int i = 1; i <= lines; i++) {
                char *text = uncommented(i);
                keys += strcmp(text, ini) != 0;
                load_text(text, 0);
                free(text);
        }
        char *all = uncommented(-1);
        load_text(all, 0);
        free(all);
        assert_true(keys >= 40);
}

static void test_zero_restart_delay_is_refused(void **state) {
        (void)state;
        /* It used to mean 1 s without a word. */
        load_text("[supervisor]\nrestart_delay_min = 0s\n", -EINVAL);
        load_text("[supervisor]\nrestart_delay_min = 2min\nrestart_delay_max = 1min\n", -EINVAL);
        load_text("[crio]\nready_timeout = 0\n", -EINVAL);
        load_text("[supervisor]\nrestart_delay_min = 10ms\n", 0);
        load_text("[cni]\nsubnet = 127.0.0.0/16\n", -EINVAL);
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
                cmocka_unit_test(test_command_words_are_split_without_any_expansion),
                cmocka_unit_test(test_default_file_loads_back_with_any_line_uncommented),
                cmocka_unit_test(test_zero_restart_delay_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
