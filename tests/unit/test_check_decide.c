/* Unit tests of the checks' decisions (launcher/check/check_decide.h), from given inputs: the
 * user namespace sysctls (read from a fake /proc/sys tree too), /dev/net/tun, unprivileged ports, subordinate
 * ranges (none, too small, overlapping another owner's), delegated controllers and versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "launcher/check/check_decide.h"
#include "tests/unit/scratch_dir.h"

static char root[] = "/tmp/usernode-check-XXXXXX";

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
        return 0;
}

static int teardown(void **state) {
        (void)state;
        return scratch_dir_remove(root);
}

/* A host where nothing stops user namespaces: no Debian or AppArmor switch at all. */
static struct userns_facts open_host(void) {
        return (struct userns_facts){ .max_user_namespaces = 63000,
                                      .unprivileged_userns_clone = -1,
                                      .apparmor_restrict = -1 };
}

static enum check_state userns(const struct userns_facts *f, struct check_result *r) {
        *r = (struct check_result){};
        check_userns_decide(f, r);
        return r->state;
}

static void test_sysctl_read_from_the_tree_and_missing_is_minus_one(void **state) {
        (void)state;
        write_sysctl("user/max_user_namespaces", "63000\n");
        assert_int_equal(check_sysctl(root, "user/max_user_namespaces"), 63000);
        assert_int_equal(check_sysctl(root, "kernel/unprivileged_userns_clone"), -1);
        write_sysctl("kernel/unprivileged_userns_clone", "0\n");
        assert_int_equal(check_sysctl(root, "kernel/unprivileged_userns_clone"), 0);
}

static void test_userns_facts_read_from_the_tree(void **state) {
        char label[64];
        struct userns_facts f;
        struct check_result r;
        (void)state;
        write_sysctl("user/max_user_namespaces", "0\n");
        write_sysctl("kernel/apparmor_restrict_unprivileged_userns", "1\n");
        check_userns_read(root, label, sizeof(label), &f);
        assert_int_equal(f.max_user_namespaces, 0);
        assert_int_equal(f.apparmor_restrict, 1);
        assert_int_equal(userns(&f, &r), CHECK_FAIL);
        assert_non_null(strstr(r.detail, "user.max_user_namespaces = 0"));
        assert_non_null(strstr(r.fix, "sudo sysctl -w user.max_user_namespaces="));
}

static void test_userns_open_host_passes(void **state) {
        struct check_result r;
        struct userns_facts f = open_host();
        (void)state;
        assert_int_equal(userns(&f, &r), CHECK_PASS);
        assert_string_equal(r.detail, "enabled (user.max_user_namespaces = 63000)");
        assert_string_equal(r.fix, "");
        f.max_user_namespaces = -1; /* a kernel without the sysctl has user namespaces anyway */
        assert_int_equal(userns(&f, &r), CHECK_PASS);
}

static void test_userns_max_zero_fails_even_for_root(void **state) {
        struct check_result r;
        struct userns_facts f = open_host();
        (void)state;
        f.max_user_namespaces = 0;
        assert_int_equal(userns(&f, &r), CHECK_FAIL);
        f.privileged = true;
        assert_int_equal(userns(&f, &r), CHECK_FAIL);
}

static void test_userns_clone_zero_fails_for_users_only(void **state) {
        struct check_result r;
        struct userns_facts f = open_host();
        (void)state;
        f.unprivileged_userns_clone = 0;
        assert_int_equal(userns(&f, &r), CHECK_FAIL);
        assert_non_null(strstr(r.fix, "kernel.unprivileged_userns_clone=1"));
        f.privileged = true;
        assert_int_equal(userns(&f, &r), CHECK_PASS);
        f.privileged = false;
        f.unprivileged_userns_clone = 1;
        assert_int_equal(userns(&f, &r), CHECK_PASS);
}

static void test_userns_apparmor_fails_unconfined_passes_under_a_profile(void **state) {
        struct check_result r;
        struct userns_facts f = open_host();
        (void)state;
        f.apparmor_restrict = 1;
        assert_int_equal(userns(&f, &r), CHECK_FAIL); /* no label: AppArmor absent from /proc */
        assert_non_null(strstr(r.detail, "restricted by AppArmor"));
        assert_non_null(strstr(r.fix, "'userns,'"));
        f.apparmor_label = "unconfined\n";
        assert_int_equal(userns(&f, &r), CHECK_FAIL);
        f.apparmor_label = "usernode (enforce)\n";
        assert_int_equal(userns(&f, &r), CHECK_PASS);
        f.apparmor_label = "unconfined\n";
        f.privileged = true;
        assert_int_equal(userns(&f, &r), CHECK_PASS);
        f.privileged = false;
        f.apparmor_restrict = 0;
        assert_int_equal(userns(&f, &r), CHECK_PASS);
}

static void test_tun_fix_follows_the_errno_and_the_network_mode(void **state) {
        struct check_result r = {};
        (void)state;
        check_tun_decide(0, NULL, &r);
        assert_int_equal(r.state, CHECK_PASS);
        check_tun_decide(EACCES, NULL, &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_string_equal(r.detail, "/dev/net/tun may not be opened by this user (Permission denied)");
        assert_non_null(strstr(r.fix, "chmod 0666 /dev/net/tun"));
        assert_non_null(strstr(r.fix, "--net=host"));
        check_tun_decide(ENOENT, "slirp", &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_non_null(strstr(r.detail, "/dev/net/tun is missing"));
        assert_non_null(strstr(r.fix, "modprobe tun"));
        assert_null(strstr(r.fix, "chmod")); /* a mode cannot fix a missing device */
        check_tun_decide(EIO, "slirp", &r);
        assert_int_equal(r.state, CHECK_FAIL);
        /* only the node's own network (slirp) needs it */
        check_tun_decide(EACCES, "host", &r);
        assert_int_equal(r.state, CHECK_PASS);
        check_tun_decide(ENOENT, "none", &r);
        assert_int_equal(r.state, CHECK_PASS);
}

static void test_unprivileged_ports(void **state) {
        struct check_result r = {};
        (void)state;
        check_unprivileged_ports_decide(-1, &r);
        assert_int_equal(r.state, CHECK_WARN);
        check_unprivileged_ports_decide(4096, &r);
        assert_int_equal(r.state, CHECK_WARN);
        assert_string_equal(r.fix, "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=1024");
        check_unprivileged_ports_decide(1024, &r);
        assert_int_equal(r.state, CHECK_PASS);
        assert_string_equal(r.fix, "");
        check_unprivileged_ports_decide(0, &r);
        assert_int_equal(r.state, CHECK_PASS);
        assert_non_null(strstr(r.detail, "every host port"));
}

static void test_subids_none_fails_small_or_overlapping_warns(void **state) {
        struct check_result r = {};
        (void)state;
        check_subids_decide("alice", "/etc/subuid", "--add-subuids", 0, 0, NULL, &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_string_equal(r.fix, "sudo usermod --add-subuids 100000-165535 alice (a range no other user "
                                   "has in /etc/subuid)");
        check_subids_decide("alice", "/etc/subuid", "--add-subuids", 1, 65535, NULL, &r);
        assert_int_equal(r.state, CHECK_WARN);
        assert_non_null(strstr(r.detail, "65535 ids"));
        check_subids_decide("alice", "/etc/subuid", "--add-subuids", 2, 131072, "bob (line 2)", &r);
        assert_int_equal(r.state, CHECK_WARN);
        assert_non_null(strstr(r.detail, "overlap those of bob (line 2)"));
        check_subids_decide("alice", "/etc/subgid", "--add-subgids", 2, 65536, NULL, &r);
        assert_int_equal(r.state, CHECK_PASS);
        assert_string_equal(r.detail, "65536 ids in 2 ranges of /etc/subgid");
}

static bool overlap(const char *text, const struct id_range *ranges, int n, char *who, size_t size) {
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        assert_non_null(f);
        bool found = check_subids_overlap(f, "alice", 1000, ranges, n, who, size);
        fclose(f);
        return found;
}

static void test_subids_overlap_names_the_other_owner_and_its_line(void **state) {
        const struct id_range mine[] = { { .start = 100000, .count = 65536 },
                                         { .start = 300000, .count = 10 } };
        char who[64] = "";
        (void)state;
        /* Adjacent ranges, the user's own lines (by name and by uid) and bad lines do not count. */
        assert_false(
                overlap("alice:100000:65536\n1000:300000:10\nbob:165536:65536\nbad line\ncarol:99999:1\n",
                        mine, 2, who, sizeof(who)));
        assert_true(overlap("alice:100000:65536\nbob:165535:65536\n", mine, 2, who, sizeof(who)));
        assert_string_equal(who, "bob (line 2)");
        /* the second range of the user's overlaps: the third line */
        assert_true(
                overlap("alice:100000:65536\nbob:200000:1000\ncarol:300009:5\n", mine, 2, who, sizeof(who)));
        assert_string_equal(who, "carol (line 3)");
        /* a range that holds the user's whole range */
        assert_true(overlap("dave:0:4294967295\n", mine, 1, who, sizeof(who)));
}

static void test_controllers_delegated_missing_or_unreadable(void **state) {
        struct check_result r = {};
        (void)state;
        check_controllers_decide("cpuset cpu io memory hugetlb pids", false, &r);
        assert_int_equal(r.state, CHECK_PASS);
        check_controllers_decide("cpu memory pids", false, &r);
        assert_int_equal(r.state, CHECK_WARN);
        assert_non_null(strstr(r.detail, "cpuset io not delegated"));
        assert_non_null(strstr(r.fix, "Delegate=cpu cpuset io memory pids"));
        assert_non_null(strstr(r.fix, "/etc/systemd/system/user@.service.d/delegate.conf"));
        check_controllers_decide("cpu memory pids", true, &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_non_null(strstr(r.detail, "[cgroup] require = true"));
        check_controllers_decide(NULL, false, &r);
        assert_int_equal(r.state, CHECK_WARN);
        check_controllers_decide(NULL, true, &r);
        assert_int_equal(r.state, CHECK_FAIL);
}

static void test_versions_against_the_minimum(void **state) {
        struct check_result r = {};
        (void)state;
        check_version_decide("/usr/bin/crio", true, 1, 30, 1, 28, "fix it", &r);
        assert_int_equal(r.state, CHECK_PASS);
        assert_string_equal(r.detail, "/usr/bin/crio 1.30");
        check_version_decide("/usr/bin/crio", true, 1, 28, 1, 28, "fix it", &r);
        assert_int_equal(r.state, CHECK_PASS);
        check_version_decide("/usr/bin/crio", true, 1, 27, 1, 28, "fix it", &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_string_equal(r.detail, "/usr/bin/crio is 1.27, older than 1.28");
        assert_string_equal(r.fix, "fix it");
        check_version_decide("/usr/bin/crio", true, 0, 99, 1, 28, "fix it", &r);
        assert_int_equal(r.state, CHECK_FAIL);
        check_version_decide("/usr/bin/crio", false, 0, 0, 1, 28, "fix it", &r);
        assert_int_equal(r.state, CHECK_FAIL);
        assert_non_null(strstr(r.detail, "cannot read its version"));
        /* no minimum (conmon, pinns): any version, or none, will do */
        check_version_decide("/usr/bin/conmon", false, 0, 0, 0, 0, "fix it", &r);
        assert_int_equal(r.state, CHECK_PASS);
        check_version_decide("/usr/bin/conmon", true, 2, 1, 0, 0, "fix it", &r);
        assert_int_equal(r.state, CHECK_PASS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sysctl_read_from_the_tree_and_missing_is_minus_one),
                cmocka_unit_test(test_userns_facts_read_from_the_tree),
                cmocka_unit_test(test_userns_open_host_passes),
                cmocka_unit_test(test_userns_max_zero_fails_even_for_root),
                cmocka_unit_test(test_userns_clone_zero_fails_for_users_only),
                cmocka_unit_test(test_userns_apparmor_fails_unconfined_passes_under_a_profile),
                cmocka_unit_test(test_tun_fix_follows_the_errno_and_the_network_mode),
                cmocka_unit_test(test_unprivileged_ports),
                cmocka_unit_test(test_subids_none_fails_small_or_overlapping_warns),
                cmocka_unit_test(test_subids_overlap_names_the_other_owner_and_its_line),
                cmocka_unit_test(test_controllers_delegated_missing_or_unreadable),
                cmocka_unit_test(test_versions_against_the_minimum),
        };
        return cmocka_run_group_tests_name("check_decide", tests, setup, teardown);
}
