/* test_local_storage.c: kubelet's localStorageCapacityIsolation is on where cAdvisor measures the
 * data directory's file system, off elsewhere, and as configured when not "auto". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/magic.h>
#include <stdbool.h>

#include "launcher/services/local_storage.h"
#include "launcher/services/node_settings.h"

static void test_file_systems_cadvisor_measures(void **state) {
        (void)state;
        assert_true(local_storage_fs_measurable(EXT4_SUPER_MAGIC));
        assert_true(local_storage_fs_measurable(XFS_SUPER_MAGIC));
        assert_true(local_storage_fs_measurable(BTRFS_SUPER_MAGIC));
        assert_true(local_storage_fs_measurable(TMPFS_MAGIC));
        assert_true(local_storage_fs_measurable(0x794c7630)); /* overlay */
        assert_true(local_storage_fs_measurable(NFS_SUPER_MAGIC));
        /* statfs's f_type is a signed long: a magic with the top bit set may come sign-extended. */
        assert_true(local_storage_fs_measurable((long)(int32_t)BTRFS_SUPER_MAGIC));
}

static void test_file_systems_it_does_not(void **state) {
        (void)state;
        assert_false(local_storage_fs_measurable(0x2fc12fc1)); /* zfs: only with the zfs command */
        assert_false(local_storage_fs_measurable(0x65735546)); /* fuse */
        assert_false(local_storage_fs_measurable(V9FS_MAGIC));
        assert_false(local_storage_fs_measurable(PROC_SUPER_MAGIC));
        assert_false(local_storage_fs_measurable(SYSFS_MAGIC));
        assert_false(local_storage_fs_measurable(RAMFS_MAGIC));
}

static struct node_settings settings_with(const char *mode, const char *data_dir) {
        struct node_settings s;
        assert_int_equal(node_settings_init(&s, "t", "/run/user/1000/usernode/t", data_dir,
                                            "/nonexistent/config", NULL),
                         0);
        assert_int_equal(settings_set(&s.kubelet_local_storage, mode), 0);
        return s;
}

/* auto: the nearest existing directory counts (the data directory does not exist yet). */
static void test_auto_follows_the_data_directory(void **state) {
        (void)state;
        struct node_settings s = settings_with("auto", "/dev/shm/no/such/usernode/t"); /* tmpfs */
        local_storage_decide(&s);
        assert_true(s.local_storage_isolation);
        node_settings_done(&s);

        s = settings_with("auto", "/proc/self/usernode/t"); /* procfs */
        local_storage_decide(&s);
        assert_false(s.local_storage_isolation);
        node_settings_done(&s);
}

static void test_true_and_false_are_kept_whatever_the_file_system(void **state) {
        (void)state;
        struct node_settings s = settings_with("true", "/proc/self/usernode/t");
        local_storage_decide(&s);
        assert_true(s.local_storage_isolation);
        node_settings_done(&s);

        s = settings_with("false", "/dev/shm/usernode/t");
        local_storage_decide(&s);
        assert_false(s.local_storage_isolation);
        node_settings_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_file_systems_cadvisor_measures),
                cmocka_unit_test(test_file_systems_it_does_not),
                cmocka_unit_test(test_auto_follows_the_data_directory),
                cmocka_unit_test(test_true_and_false_are_kept_whatever_the_file_system),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
