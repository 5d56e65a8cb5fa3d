/* test_cgroup_fs.c: cgroup discovery against a fake tree: a made-up mountinfo and
 * /proc/self/cgroup, and plain directories and files standing in for cgroupfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup/cgroup_fs.h"
#include "common/log.h"
#include "common/macro.h"
#include "tests/unit/scratch_dir.h"

struct fake {
        char root[64]; /* the temporary directory */
        char mount[128]; /* root/cg: stands in for /sys/fs/cgroup */
        char mountinfo[128]; /* root/mountinfo */
        char self_cgroup[128]; /* root/self_cgroup */
        char own[256]; /* mount + own cgroup path */
};

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void write_textf(const char *path, const char *format, ...) _printf_(2, 3);
static void write_textf(const char *path, const char *format, ...) {
        char *text;
        va_list ap;
        va_start(ap, format);
        assert_true(vasprintf(&text, format, ap) >= 0);
        va_end(ap);
        write_text(path, text);
        free(text);
}

/* A unified host; the process sits in /user.slice/u.scope, which has the usual files. */
static int fake_setup(void **state) {
        struct fake *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        snprintf(f->root, sizeof(f->root), "/tmp/test_cgroup_fs.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        snprintf(f->mount, sizeof(f->mount), "%s/cg", f->root);
        snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->root);
        snprintf(f->self_cgroup, sizeof(f->self_cgroup), "%s/self_cgroup", f->root);
        snprintf(f->own, sizeof(f->own), "%s/user.slice/u.scope", f->mount);

        char dir[256];
        assert_int_equal(mkdir(f->mount, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/user.slice", f->mount);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkdir(f->own, 0755), 0);
        char file[320];
        snprintf(file, sizeof(file), "%s/cgroup.procs", f->own);
        write_text(file, "");
        snprintf(file, sizeof(file), "%s/cgroup.subtree_control", f->own);
        write_text(file, "");
        snprintf(file, sizeof(file), "%s/cgroup.controllers", f->own);
        write_text(file, "cpu memory pids\n");

        write_textf(
                f->mountinfo,
                "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
                "30 22 0:26 / %s rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
                f->mount);
        write_text(f->self_cgroup, "0::/user.slice/u.scope\n");
        *state = f;
        return 0;
}

static int fake_teardown(void **state) {
        struct fake *f = *state;
        assert_int_equal(scratch_dir_remove(f->root), 0);
        free(f);
        return 0;
}

static void test_unified_host_finds_the_cgroup2_mount(void **state) {
        struct fake *f = *state;
        enum cgroup_layout layout;
        _cleanup_free_ char *mount = NULL;

        assert_int_equal(cgroup_fs_find_mount(f->mountinfo, &layout, &mount), 0);
        assert_int_equal(layout, CGROUP_LAYOUT_UNIFIED);
        assert_string_equal(mount, f->mount);
}

static void test_hybrid_host_is_recognized(void **state) {
        struct fake *f = *state;
        enum cgroup_layout layout;
        _cleanup_free_ char *mount = NULL;

        write_text(f->mountinfo, "25 22 0:21 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
                                 "26 25 0:22 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                                 "27 25 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assert_int_equal(cgroup_fs_find_mount(f->mountinfo, &layout, &mount), 0);
        assert_int_equal(layout, CGROUP_LAYOUT_HYBRID);
        assert_null(mount);
}

static void test_v1_only_host_is_legacy(void **state) {
        struct fake *f = *state;
        enum cgroup_layout layout;
        _cleanup_free_ char *mount = NULL;

        write_text(f->mountinfo, "27 25 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assert_int_equal(cgroup_fs_find_mount(f->mountinfo, &layout, &mount), 0);
        assert_int_equal(layout, CGROUP_LAYOUT_LEGACY);
}

static void test_no_cgroup_mount_at_all(void **state) {
        struct fake *f = *state;
        enum cgroup_layout layout;
        _cleanup_free_ char *mount = NULL;

        write_text(f->mountinfo, "22 1 8:1 / / rw - ext4 /dev/vda rw\n");
        assert_int_equal(cgroup_fs_find_mount(f->mountinfo, &layout, &mount), 0);
        assert_int_equal(layout, CGROUP_LAYOUT_NONE);
}

static void test_mountinfo_escapes_are_undone(void **state) {
        struct fake *f = *state;
        enum cgroup_layout layout;
        _cleanup_free_ char *mount = NULL;

        write_text(f->mountinfo, "30 22 0:26 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
        assert_int_equal(cgroup_fs_find_mount(f->mountinfo, &layout, &mount), 0);
        assert_string_equal(mount, "/mnt/my cgroup");
}

static void test_own_cgroup_is_the_unified_line(void **state) {
        struct fake *f = *state;
        _cleanup_free_ char *own = NULL;

        write_text(f->self_cgroup,
                   "12:memory:/user.slice\n1:name=systemd:/user.slice/u.scope\n0::/a/b.scope\n");
        assert_int_equal(cgroup_fs_own_path(f->self_cgroup, &own), 0);
        assert_string_equal(own, "/a/b.scope");
}

static void test_own_cgroup_missing_on_v1_only_host(void **state) {
        struct fake *f = *state;
        _cleanup_free_ char *own = NULL;

        write_text(f->self_cgroup, "12:memory:/user.slice\n");
        assert_int_equal(cgroup_fs_own_path(f->self_cgroup, &own), -ENOENT);
}

static void test_discovery_of_an_owned_cgroup(void **state) {
        struct fake *f = *state;
        struct cgroup_host host = { .mountinfo = f->mountinfo,
                                    .self_cgroup = f->self_cgroup,
                                    .uid = getuid() };
        struct cgroup_discovery d;

        assert_int_equal(cgroup_discover(&host, &d), 0);
        assert_int_equal(d.layout, CGROUP_LAYOUT_UNIFIED);
        assert_string_equal(d.own, f->own);
        assert_true(d.own_writable);
        assert_string_equal(d.controllers, "cpu memory pids");
        cgroup_discovery_done(&d);
}

static void test_cgroup_of_another_user_is_not_delegated(void **state) {
        struct fake *f = *state;
        struct cgroup_host host = { .mountinfo = f->mountinfo,
                                    .self_cgroup = f->self_cgroup,
                                    .uid = getuid() + 1 };
        struct cgroup_discovery d;

        assert_int_equal(cgroup_discover(&host, &d), 0);
        assert_false(d.own_writable);
        cgroup_discovery_done(&d);
}

static void test_readonly_subtree_control_is_not_delegated(void **state) {
        struct fake *f = *state;
        char file[320];

        snprintf(file, sizeof(file), "%s/cgroup.subtree_control", f->own);
        assert_int_equal(chmod(file, 0444), 0);
        assert_false(cgroup_fs_is_owned(f->own, getuid()));
}

static void test_hybrid_discovery_stops_at_the_layout(void **state) {
        struct fake *f = *state;
        struct cgroup_host host = { .mountinfo = f->mountinfo,
                                    .self_cgroup = f->self_cgroup,
                                    .uid = getuid() };
        struct cgroup_discovery d;

        write_text(f->mountinfo, "26 25 0:22 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                                 "27 25 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assert_int_equal(cgroup_discover(&host, &d), 0);
        assert_int_equal(d.layout, CGROUP_LAYOUT_HYBRID);
        assert_null(d.own);
        cgroup_discovery_done(&d);
}

static void test_missing_controllers_are_named(void **state) {
        _cleanup_free_ char *missing = NULL, *none = NULL;
        (void)state;

        assert_int_equal(cgroup_list_missing("cpu memory pids", "cpu cpuset io memory pids", &missing), 0);
        assert_string_equal(missing, "cpuset io");
        assert_int_equal(
                cgroup_list_missing("cpuset cpu io memory pids hugetlb", "cpu cpuset io memory pids", &none),
                0);
        assert_string_equal(none, "");
}

static void test_controller_names_match_whole_words(void **state) {
        (void)state;
        assert_false(cgroup_list_contains("cpuset memory", "cpu"));
        assert_true(cgroup_list_contains("cpuset cpu", "cpu"));
        assert_false(cgroup_list_contains("", "io"));
}

static void test_enable_writes_each_controller_and_reports_them(void **state) {
        struct fake *f = *state;
        _cleanup_free_ char *enabled = NULL, *last = NULL;

        assert_int_equal(cgroup_fs_enable(f->own, "cpu memory pids", &enabled), 0);
        assert_string_equal(enabled, "cpu memory pids");
        /* cgroupfs takes one "+name" per write: the last write was "+pids" (a plain file is not truncated). */
        assert_int_equal(cgroup_fs_read(f->own, "cgroup.subtree_control", &last), 0);
        assert_memory_equal(last, "+pids", 5);
}

static void test_enable_without_subtree_control_enables_nothing(void **state) {
        struct fake *f = *state;
        _cleanup_free_ char *enabled = NULL;

        assert_int_equal(cgroup_fs_enable(f->mount, "cpu memory", &enabled), 0);
        assert_string_equal(enabled, "");
}

static void test_remove_takes_children_first(void **state) {
        struct fake *f = *state;
        char dir[320];

        snprintf(dir, sizeof(dir), "%s/node", f->mount);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/node/init", f->mount);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/node/kubepods", f->mount);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/node/kubepods/burstable", f->mount);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/node", f->mount);
        assert_int_equal(cgroup_fs_remove(dir), 0);
        assert_int_equal(access(dir, F_OK), -1);
        assert_int_equal(cgroup_fs_remove(dir), 0); /* gone already: not an error */
}

/* A real child that waits to be killed; the caller reaps it. */
static pid_t spawn_sleeper(void) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

/* Kernels before 5.14 have no cgroup.kill: cgroup_fs_kill then SIGKILLs every pid listed in
 * cgroup.procs, the subtree's children included. The fake tree has no cgroup.kill, and its
 * cgroup.events stays "populated 1", so the call ends with -ETIMEDOUT after its deadline; what
 * counts is that both real processes were killed by SIGKILL. */
static void test_kill_without_cgroup_kill_signals_every_listed_process(void **state) {
        struct fake *f = *state;
        char node[320], leaf[352], file[400];
        pid_t in_node = spawn_sleeper(), in_leaf = spawn_sleeper();
        int status;

        snprintf(node, sizeof(node), "%s/node", f->mount);
        snprintf(leaf, sizeof(leaf), "%s/services", node);
        assert_int_equal(mkdir(node, 0755), 0);
        assert_int_equal(mkdir(leaf, 0755), 0);
        snprintf(file, sizeof(file), "%s/cgroup.events", node);
        write_text(file, "populated 1\nfrozen 0\n");
        snprintf(file, sizeof(file), "%s/cgroup.procs", node);
        write_textf(file, "%d\n", (int)in_node);
        snprintf(file, sizeof(file), "%s/cgroup.procs", leaf);
        write_textf(file, "%d\n", (int)in_leaf);

        assert_int_equal(cgroup_fs_kill(node, 100), -ETIMEDOUT);
        assert_int_equal(waitpid(in_node, &status, 0), in_node);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(waitpid(in_leaf, &status, 0), in_leaf);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_kill_of_an_empty_or_missing_cgroup_is_done_at_once(void **state) {
        struct fake *f = *state;
        char node[320], file[352];

        snprintf(node, sizeof(node), "%s/node", f->mount);
        assert_int_equal(cgroup_fs_kill(node, 100), 0);
        assert_int_equal(mkdir(node, 0755), 0);
        snprintf(file, sizeof(file), "%s/cgroup.events", node);
        write_text(file, "populated 0\nfrozen 0\n");
        assert_int_equal(cgroup_fs_kill(node, 100), 0);
}

static void test_path_join_has_no_double_slash(void **state) {
        _cleanup_free_ char *a = cgroup_path_join("/sys/fs/cgroup", "/user.slice");
        _cleanup_free_ char *b = cgroup_path_join("/sys/fs/cgroup/", "node");
        (void)state;
        assert_string_equal(a, "/sys/fs/cgroup/user.slice");
        assert_string_equal(b, "/sys/fs/cgroup/node");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unified_host_finds_the_cgroup2_mount, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_hybrid_host_is_recognized, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_v1_only_host_is_legacy, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_no_cgroup_mount_at_all, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_mountinfo_escapes_are_undone, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_own_cgroup_is_the_unified_line, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_own_cgroup_missing_on_v1_only_host, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_discovery_of_an_owned_cgroup, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup_of_another_user_is_not_delegated, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_readonly_subtree_control_is_not_delegated, fake_setup,
                                                fake_teardown),
                cmocka_unit_test_setup_teardown(test_hybrid_discovery_stops_at_the_layout, fake_setup,
                                                fake_teardown),
                cmocka_unit_test(test_missing_controllers_are_named),
                cmocka_unit_test(test_controller_names_match_whole_words),
                cmocka_unit_test_setup_teardown(test_enable_writes_each_controller_and_reports_them,
                                                fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_enable_without_subtree_control_enables_nothing,
                                                fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_remove_takes_children_first, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_kill_without_cgroup_kill_signals_every_listed_process,
                                                fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_kill_of_an_empty_or_missing_cgroup_is_done_at_once,
                                                fake_setup, fake_teardown),
                cmocka_unit_test(test_path_join_has_no_double_slash),
        };
        log_set_level(LOG_LEVEL_ERROR); /* the refusals below are expected */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
