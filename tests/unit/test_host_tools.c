/* Unit tests of launcher/services/host_tools.c that need no installed tools: which CNI plugin
 * directories are rendered into crio.conf; and of tool_versions.c, the versions remembered per
 * binary file. */
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
#include "launcher/services/tool_versions.h"
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

static void test_tool_versions_are_kept_per_binary_until_it_changes(void **state) {
        char cache[256], crio[256], kubelet[256];
        unsigned major = 0, minor = 0;
        (void)state;
        snprintf(cache, sizeof(cache), "%s/tool-versions", dir);
        snprintf(crio, sizeof(crio), "%s/crio", dir);
        snprintf(kubelet, sizeof(kubelet), "%s/kubelet", dir);
        make_file(crio, 0755);
        make_file(kubelet, 0755);

        /* No cache yet: a miss, not an error. */
        assert_int_equal(tool_versions_get(cache, crio, &major, &minor), 0);
        assert_int_equal(tool_versions_put(cache, crio, 1, 33), 0);
        assert_int_equal(tool_versions_put(cache, kubelet, 1, 32), 0);
        assert_int_equal(tool_versions_get(cache, crio, &major, &minor), 1);
        assert_int_equal(major, 1);
        assert_int_equal(minor, 33);
        assert_int_equal(tool_versions_get(cache, kubelet, &major, &minor), 1);
        assert_int_equal(minor, 32);
        struct stat st;
        assert_int_equal(stat(cache, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* A new answer replaces the old entry; the other stays. */
        assert_int_equal(tool_versions_put(cache, kubelet, 1, 33), 0);
        assert_int_equal(tool_versions_get(cache, kubelet, &major, &minor), 1);
        assert_int_equal(minor, 33);
        assert_int_equal(tool_versions_get(cache, crio, &major, &minor), 1);

        /* The binary rewritten (its ctime moves, its size here too): asked again. */
        int fd = open(crio, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        assert_int_equal(tool_versions_get(cache, crio, &major, &minor), 0);
        /* Replaced by another file at the same path: a new inode. */
        assert_int_equal(unlink(kubelet), 0);
        make_file(kubelet, 0755);
        assert_int_equal(tool_versions_get(cache, kubelet, &major, &minor), 0);
        /* Gone: a miss. */
        assert_int_equal(unlink(kubelet), 0);
        assert_int_equal(tool_versions_get(cache, kubelet, &major, &minor), 0);
        assert_int_equal(tool_versions_put(cache, kubelet, 1, 33), -ENOENT);
}

static void test_tool_versions_ignore_garbage_and_stay_bounded(void **state) {
        char cache[256], bin[256];
        unsigned major = 0, minor = 0;
        (void)state;
        snprintf(cache, sizeof(cache), "%s/tool-versions-2", dir);
        FILE *f = fopen(cache, "we");
        assert_non_null(f);
        fputs("not a line of ours\n1 2 3\n\n", f);
        fclose(f);
        for (int i = 0; i < TOOL_VERSIONS_MAX + 4; i++) {
                snprintf(bin, sizeof(bin), "%s/bin-%d", dir, i);
                make_file(bin, 0755);
                assert_int_equal(tool_versions_put(cache, bin, 1, (unsigned)i), 0);
        }
        /* The newest are kept, the oldest dropped. */
        assert_int_equal(tool_versions_get(cache, bin, &major, &minor), 1);
        assert_int_equal(minor, TOOL_VERSIONS_MAX + 3);
        snprintf(bin, sizeof(bin), "%s/bin-0", dir);
        assert_int_equal(tool_versions_get(cache, bin, &major, &minor), 0);
        char line[512];
        int lines = 0;
        f = fopen(cache, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                lines++;
        fclose(f);
        assert_int_equal(lines, TOOL_VERSIONS_MAX);
        /* Paths that cannot be a line are refused. */
        assert_int_equal(tool_versions_put(cache, "relative", 1, 1), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cni_plugin_dirs_are_only_those_with_an_executable_bridge),
                cmocka_unit_test(test_cni_plugin_dirs_may_be_empty),
                cmocka_unit_test(test_tool_versions_are_kept_per_binary_until_it_changes),
                cmocka_unit_test(test_tool_versions_ignore_garbage_and_stay_bounded),
        };
        return cmocka_run_group_tests_name("host_tools", tests, setup, teardown);
}
