/* Unit tests of launcher/config/config.c: defaults, file, flags, and the errors that name file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/config/config.h"
#include "launcher/config/config_schema.h"

static char dir[] = "/tmp/usernode-config-XXXXXX";
static char path[256];
static char stderr_path[256];

static void write_ini(const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Load the ini text with stderr captured; returns the result and leaves stderr's text in `out`. */
static int load_capturing(struct config *c, const char *text, char *out, size_t size) {
        int saved = dup(STDERR_FILENO);
        int fd = open(stderr_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(saved >= 0 && fd >= 0);
        write_ini(text);
        dup2(fd, STDERR_FILENO);
        int r = config_load_file(c, path, true);
        dup2(saved, STDERR_FILENO);
        close(saved);
        ssize_t n = pread(fd, out, size - 1, 0);
        out[n > 0 ? n : 0] = '\0';
        close(fd);
        return r;
}

static int setup(void **state) {
        (void)state;
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/node.ini", dir);
        snprintf(stderr_path, sizeof(stderr_path), "%s/stderr", dir);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        unlink(path);
        unlink(stderr_path);
        return rmdir(dir);
}

static void test_unset_keys_have_the_schema_default(void **state) {
        struct config *c;
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_string_equal(config_get(c, "network", "mode"),
                            config_schema_find("network", "mode")->default_value);
        assert_string_equal(config_origin(c, "network", "mode"), "default");
        config_free(c);
}

static void test_file_overrides_default_and_flag_overrides_file(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "# comment\n[network]\nmode = none\n", err, sizeof(err)), 0);
        assert_string_equal(config_get(c, "network", "mode"), "none");
        assert_string_equal(strrchr(config_origin(c, "network", "mode"), ':'), ":3");
        assert_int_equal(config_set(c, "network", "mode", "host", "--net"), 0);
        assert_string_equal(config_get(c, "network", "mode"), "host");
        assert_string_equal(config_origin(c, "network", "mode"), "--net");
        config_free(c);
}

static void test_unknown_section_is_reported_with_its_line(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "[network]\nmode = none\n\n[netwrk]\n", err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "node.ini:4: unknown section [netwrk]"));
        config_free(c);
}

/* Found by fuzz_config (tests/fuzz): iniparser files [network:mtu] under [network] as a key
 * without a value, which reached the validation as NULL (a segfault of `usernode run`). */
static void test_a_section_named_like_a_key_of_another_is_an_unknown_section_not_a_crash(void **state) {
        struct config *c = NULL;
        char err[1024];
        (void)state;

        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "[network]\nmtu = 1500\n[network:mtu]\n", err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "unknown section [network:mtu]"));
        config_free(c);
}

static void test_unknown_key_is_reported_with_its_line(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "[network]\n\n  Mod = host\n", err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "node.ini:3: unknown key \"mod\" in [network]"));
        config_free(c);
}

static void test_bad_value_names_key_value_and_what_is_allowed(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "[network]\nmode = bridge\n", err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "node.ini:2: [network] mode = \"bridge\": use one of: slirp host none"));
        config_free(c);
}

static void test_key_outside_any_section_is_rejected(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "mode = host\n[network]\n", err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "node.ini:1: \"mode\" stands before any [section]"));
        config_free(c);
}

static void test_syntax_error_is_one_line_naming_the_file(void **state) {
        struct config *c;
        char err[1024];
        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(load_capturing(c, "[network\nmode = host\n", err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "not a valid INI file"));
        assert_ptr_equal(strchr(err, '\n'), strrchr(err, '\n'));
        config_free(c);
}

static void test_missing_optional_file_is_skipped_missing_required_is_an_error(void **state) {
        struct config *c;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(config_load_file(c, "/nonexistent/usernode.ini", false), 0);
        assert_int_equal(config_load_file(c, "/nonexistent/usernode.ini", true), -ENOENT);
        config_free(c);
}

static void test_booleans(void **state) {
        (void)state;
        assert_int_equal(config_parse_bool("yes"), 1);
        assert_int_equal(config_parse_bool("TRUE"), 1);
        assert_int_equal(config_parse_bool("off"), 0);
        assert_int_equal(config_parse_bool("0"), 0);
        assert_int_equal(config_parse_bool("maybe"), -EINVAL);
}

/* configs/usernode.ini shows every key, commented, with the default the code really uses. */
static void test_default_file_documents_every_key_with_its_default(void **state) {
        const char *ini = config_default_ini();
        (void)state;
        for (unsigned i = 0; i < config_schema_size; i++) {
                const struct config_key *k = &config_schema[i];
                char header[128], line[512];
                if (strchr(k->section, '*'))
                        snprintf(header, sizeof(header), "[%.*s", (int)(strlen(k->section) - 1), k->section);
                else
                        snprintf(header, sizeof(header), "[%s]", k->section);
                const char *in_section = strstr(ini, header);
                if (!in_section)
                        fail_msg("configs/usernode.ini has no section %s", header);
                snprintf(line, sizeof(line), "# %s = %s\n", k->key,
                         k->default_value ? k->default_value : "");
                const char *found = strstr(in_section, line);
                const char *next = strstr(in_section + 1, "\n[");
                if (!found || (next && found > next))
                        fail_msg("configs/usernode.ini: [%s] lacks the line \"# %s = %s\"", k->section,
                                 k->key, k->default_value ? k->default_value : "");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unset_keys_have_the_schema_default),
                cmocka_unit_test(test_file_overrides_default_and_flag_overrides_file),
                cmocka_unit_test(test_unknown_section_is_reported_with_its_line),
                cmocka_unit_test(
                        test_a_section_named_like_a_key_of_another_is_an_unknown_section_not_a_crash),
                cmocka_unit_test(test_unknown_key_is_reported_with_its_line),
                cmocka_unit_test(test_bad_value_names_key_value_and_what_is_allowed),
                cmocka_unit_test(test_key_outside_any_section_is_rejected),
                cmocka_unit_test(test_syntax_error_is_one_line_naming_the_file),
                cmocka_unit_test(test_missing_optional_file_is_skipped_missing_required_is_an_error),
                cmocka_unit_test(test_booleans),
                cmocka_unit_test(test_default_file_documents_every_key_with_its_default),
        };
        return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
