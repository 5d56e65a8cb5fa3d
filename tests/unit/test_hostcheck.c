/* Unit tests of launcher/hostcheck.c against a fake /proc/sys tree: each switch that disables
 * unprivileged user namespaces is recognised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/log.h"
#include "launcher/hostcheck.h"
#include "tests/unit/scratch_dir.h"

static char root[] = "/tmp/usernode-hostcheck-XXXXXX";

static void write_sysctl(const char *name, const char *value) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", root, name);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(value, f);
        fclose(f);
}

static int setup(void **state) {
        char path[256];
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        if (!mkdtemp(root))
                return -1;
        snprintf(path, sizeof(path), "%s/user", root);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/kernel", root);
        mkdir(path, 0755);
        write_sysctl("user/max_user_namespaces", "63000\n");
        return 0;
}

static int teardown(void **state) {
        (void)state;
        return scratch_dir_remove(root);
}

static void reset(void) {
        char path[256];
        write_sysctl("user/max_user_namespaces", "63000\n");
        snprintf(path, sizeof(path), "%s/kernel/unprivileged_userns_clone", root);
        unlink(path);
        snprintf(path, sizeof(path), "%s/kernel/apparmor_restrict_unprivileged_userns", root);
        unlink(path);
}

static void test_host_with_user_namespaces_passes(void **state) {
        (void)state;
        reset();
        assert_int_equal(hostcheck_user_namespaces(root, NULL, false), 0);
}

static void test_max_user_namespaces_zero_is_refused_even_for_root(void **state) {
        (void)state;
        reset();
        write_sysctl("user/max_user_namespaces", "0\n");
        assert_int_equal(hostcheck_user_namespaces(root, NULL, false), -EPERM);
        assert_int_equal(hostcheck_user_namespaces(root, NULL, true), -EPERM);
}

static void test_unprivileged_userns_clone_zero_is_refused_for_users(void **state) {
        (void)state;
        reset();
        write_sysctl("kernel/unprivileged_userns_clone", "0\n");
        assert_int_equal(hostcheck_user_namespaces(root, NULL, false), -EPERM);
        assert_int_equal(hostcheck_user_namespaces(root, NULL, true), 0);
        write_sysctl("kernel/unprivileged_userns_clone", "1\n");
        assert_int_equal(hostcheck_user_namespaces(root, NULL, false), 0);
}

static void test_apparmor_restriction_is_refused_when_unconfined(void **state) {
        (void)state;
        reset();
        write_sysctl("kernel/apparmor_restrict_unprivileged_userns", "1\n");
        assert_int_equal(hostcheck_user_namespaces(root, NULL, false), -EPERM);
        assert_int_equal(hostcheck_user_namespaces(root, "unconfined\n", false), -EPERM);
}

static void test_apparmor_restriction_passes_under_a_profile(void **state) {
        (void)state;
        reset();
        write_sysctl("kernel/apparmor_restrict_unprivileged_userns", "1\n");
        assert_int_equal(hostcheck_user_namespaces(root, "usernode (enforce)\n", false), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host_with_user_namespaces_passes),
                cmocka_unit_test(test_max_user_namespaces_zero_is_refused_even_for_root),
                cmocka_unit_test(test_unprivileged_userns_clone_zero_is_refused_for_users),
                cmocka_unit_test(test_apparmor_restriction_is_refused_when_unconfined),
                cmocka_unit_test(test_apparmor_restriction_passes_under_a_profile),
        };
        return cmocka_run_group_tests_name("hostcheck", tests, setup, teardown);
}
