/* Unit tests of launcher/services/host_tools.c that need no installed tools: which CNI plugin
 * directories are rendered into crio.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "launcher/services/host_tools.h"
#include "tests/unit/scratch_dir.h"

static char dir[] = "/tmp/usernode-host-tools-XXXXXX";

static int setup(void **state) {
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        return scratch_dir_remove(dir);
}

static void make_file(const char *path, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(chmod(path, mode), 0);
}

static void test_cni_plugin_dirs_are_only_those_with_an_executable_bridge(void **state) {
        char with[256], without[256], not_exec[256], missing[256], file[300];
        _cleanup_strv_free_ char **dirs = NULL;
        (void)state;
        snprintf(with, sizeof(with), "%s/with", dir);
        snprintf(without, sizeof(without), "%s/without", dir);
        snprintf(not_exec, sizeof(not_exec), "%s/not-exec", dir);
        snprintf(missing, sizeof(missing), "%s/missing", dir);
        assert_int_equal(mkdir(with, 0755), 0);
        assert_int_equal(mkdir(without, 0755), 0);
        assert_int_equal(mkdir(not_exec, 0755), 0);
        snprintf(file, sizeof(file), "%s/bridge", with);
        make_file(file, 0755);
        snprintf(file, sizeof(file), "%s/portmap", without);
        make_file(file, 0755);
        snprintf(file, sizeof(file), "%s/bridge", not_exec);
        make_file(file, 0644);

        const char *const candidates[] = { missing, without, not_exec, with, NULL };
        assert_int_equal(host_tools_cni_plugin_dirs(candidates, &dirs), 0);
        assert_non_null(dirs);
        /* Even for root, access(X_OK) needs an x bit, which 0644 lacks. */
        assert_string_equal(dirs[0], with);
        assert_null(dirs[1]);
}

static void test_cni_plugin_dirs_may_be_empty(void **state) {
        char missing[256];
        _cleanup_strv_free_ char **dirs = NULL;
        (void)state;
        snprintf(missing, sizeof(missing), "%s/nothing-here", dir);
        const char *const candidates[] = { missing, NULL };
        assert_int_equal(host_tools_cni_plugin_dirs(candidates, &dirs), 0);
        assert_non_null(dirs);
        assert_null(dirs[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cni_plugin_dirs_are_only_those_with_an_executable_bridge),
                cmocka_unit_test(test_cni_plugin_dirs_may_be_empty),
        };
        return cmocka_run_group_tests_name("host_tools", tests, setup, teardown);
}
