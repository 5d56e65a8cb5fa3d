/* Unit tests of launcher/services/pod_userns.c (kubelet's slice of the node's ids for pods with
 * hostUsers: false, and maxPods) and launcher/node/kubelet_user.c (the node's "kubelet" line). The
 * constraints are kubelet 1.33's (pkg/kubelet/userns/userns_manager.go MakeUserNsManager): start a
 * multiple of idsPerPod and >= idsPerPod, length a multiple, length/idsPerPod >= maxPods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/node/kubelet_user.h"
#include "launcher/check/pod_userns_check.h"
#include "launcher/services/node_settings.h"
#include "launcher/services/pod_userns.h"

#define PER_POD POD_USERNS_IDS_PER_POD

/* The ids of a node whose user has `subids` subordinate ids (idmap_build: own id + ranges). */
static uint64_t node_ids(uint64_t subids) {
        return 1 + subids;
}

/* What kubelet checks before it starts, for a slice and a maxPods. */
static void assert_kubelet_accepts(const struct pod_userns *s, uint32_t max_pods) {
        assert_true(s->start % PER_POD == 0);
        assert_true(s->start >= PER_POD);
        assert_true(s->count % PER_POD == 0);
        assert_true(s->count / PER_POD >= max_pods);
}

static void test_the_common_65536_subids_leave_no_slice(void **state) {
        struct pod_userns s;
        (void)state;
        pod_userns_slice(node_ids(65536), node_ids(65536), &s);
        assert_int_equal(s.pods, 0);
        assert_int_equal(s.count, 0);
}

static void test_twelve_times_65536_subids_hold_eleven_pods_above_the_nodes_own(void **state) {
        struct pod_userns s;
        (void)state;
        pod_userns_slice(node_ids(12 * 65536), node_ids(12 * 65536), &s);
        assert_int_equal(s.start, 65536);
        assert_int_equal(s.pods, 11);
        assert_int_equal(s.count, 11 * 65536);
        /* Inside the node's map: the last id of the slice is mapped. */
        assert_true((uint64_t)s.start + s.count <= node_ids(12 * 65536));
        assert_kubelet_accepts(&s, 11);
}

static void test_slice_ends_at_the_last_whole_pod(void **state) {
        struct pod_userns s;
        (void)state;
        /* 2*65536 ids: exactly one pod; one id fewer: none. */
        pod_userns_slice(2 * PER_POD, 2 * PER_POD, &s);
        assert_int_equal(s.pods, 1);
        pod_userns_slice(2 * PER_POD - 1, 2 * PER_POD - 1, &s);
        assert_int_equal(s.pods, 0);
        pod_userns_slice(5 * PER_POD + 65535, 5 * PER_POD + 65535, &s);
        assert_int_equal(s.pods, 4);
}

static void test_the_smaller_of_uid_and_gid_maps_decides(void **state) {
        struct pod_userns s;
        (void)state;
        /* kubelet refuses different `getsubids` and `getsubids -g` output: one range for both. */
        pod_userns_slice(node_ids(20 * 65536), node_ids(3 * 65536), &s);
        assert_int_equal(s.pods, 2);
        pod_userns_slice(node_ids(3 * 65536), node_ids(20 * 65536), &s);
        assert_int_equal(s.pods, 2);
}

static void test_a_whole_id_space_fits_32_bits(void **state) {
        struct pod_userns s;
        (void)state;
        pod_userns_slice(UINT32_MAX, UINT32_MAX, &s);
        assert_int_equal(s.pods, 65534);
        assert_true((uint64_t)s.start + s.count <= UINT32_MAX);
        assert_kubelet_accepts(&s, 65534);
}

static void test_ids_missing_counts_from_the_nodes_size(void **state) {
        (void)state;
        /* 65536 subids, 110 pods: 111*65536 ids needed, 65537 there. */
        assert_int_equal(pod_userns_ids_missing(node_ids(65536), 110), 111 * 65536 - 65537);
        assert_int_equal(pod_userns_ids_missing(node_ids(12 * 65536), 11), 0);
        assert_int_equal(pod_userns_ids_missing(node_ids(12 * 65536), 12), 65535);
}

static void test_max_pods_auto_is_the_slice_at_most_110(void **state) {
        struct pod_userns s;
        uint32_t max;
        (void)state;
        pod_userns_slice(node_ids(12 * 65536), node_ids(12 * 65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 11);
        pod_userns_slice(node_ids(1000 * 65536), node_ids(1000 * 65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 110);
        assert_kubelet_accepts(&s, max);
}

static void test_max_pods_auto_without_slice_keeps_kubelets_default(void **state) {
        struct pod_userns s;
        uint32_t max;
        (void)state;
        pod_userns_slice(node_ids(65536), node_ids(65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 110);
}

static void test_configured_max_pods_must_fit_the_slice(void **state) {
        struct pod_userns s;
        uint32_t max = 0;
        (void)state;
        pod_userns_slice(node_ids(12 * 65536), node_ids(12 * 65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 11, &max), 0);
        assert_int_equal(max, 11);
        assert_int_equal(pod_userns_max_pods(&s, 5, &max), 0);
        assert_int_equal(max, 5);
        assert_int_equal(pod_userns_max_pods(&s, 12, &max), -ERANGE);
}

static void test_max_pods_values(void **state) {
        uint32_t n = 7;
        (void)state;
        assert_int_equal(pod_userns_parse_max_pods("auto", &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(pod_userns_parse_max_pods("11", &n), 0);
        assert_int_equal(n, 11);
        assert_int_equal(pod_userns_parse_max_pods("65535", &n), 0);
        assert_int_equal(pod_userns_validate_max_pods("0"), -EINVAL);
        assert_int_equal(pod_userns_validate_max_pods("65536"), -EINVAL);
        assert_int_equal(pod_userns_validate_max_pods("-1"), -EINVAL);
        assert_int_equal(pod_userns_validate_max_pods("12x"), -EINVAL);
        assert_int_equal(pod_userns_validate_max_pods(""), -EINVAL);
}

static void test_usermod_command_adds_whole_pods_from_the_free_start(void **state) {
        const struct pod_userns_host host = { .user = "alice", .free_start = 196608 };
        (void)state;
        char *cmd = pod_userns_usermod_command(&host, 65535);
        assert_string_equal(cmd,
                            "sudo usermod --add-subuids 196608-262143 --add-subgids 196608-262143 alice");
        free(cmd);
        cmd = pod_userns_usermod_command(&host, 65537);
        assert_string_equal(cmd,
                            "sudo usermod --add-subuids 196608-327679 --add-subgids 196608-327679 alice");
        free(cmd);
}

static void settings(struct node_settings *s, uint32_t max_pods) {
        assert_int_equal(node_settings_init(s, "n", "/run/n", "/data/n", "/config", NULL), 0);
        s->max_pods = max_pods;
}

static void test_decide_gives_kubelet_the_slice_and_max_pods(void **state) {
        const struct pod_userns_host host = {
                .node_uids = node_ids(12 * 65536),
                .node_gids = node_ids(12 * 65536),
                .getsubids = true,
                .user = "alice",
                .free_start = 100000,
        };
        struct node_settings s;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        settings(&s, 0);
        assert_int_equal(pod_userns_decide(&s, &host), 0);
        assert_int_equal(s.pod_userns.pods, 11);
        assert_int_equal(s.kubelet_max_pods, 11);
        node_settings_done(&s);
        settings(&s, 12);
        assert_int_equal(pod_userns_decide(&s, &host), -ERANGE);
        node_settings_done(&s);
}

static void test_decide_without_getsubids_makes_no_kubelet_user(void **state) {
        const struct pod_userns_host host = {
                .node_uids = node_ids(12 * 65536),
                .node_gids = node_ids(12 * 65536),
                .getsubids = false,
                .user = "alice",
                .free_start = 100000,
        };
        struct node_settings s;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        /* kubelet 1.33 with a "kubelet" user and no getsubids on PATH refuses to start. */
        settings(&s, 0);
        assert_int_equal(pod_userns_decide(&s, &host), 0);
        assert_int_equal(s.pod_userns.pods, 0);
        assert_int_equal(s.kubelet_max_pods, 110);
        node_settings_done(&s);
        settings(&s, 5);
        assert_int_equal(pod_userns_decide(&s, &host), -ENOENT);
        node_settings_done(&s);
}

static void test_kubelet_line_takes_the_highest_free_system_uid(void **state) {
        char *out = NULL;
        (void)state;
        assert_int_equal(kubelet_user_passwd("root:x:0:0:root:/root:/bin/bash\n"
                                             "a:x:999:999::/:/bin/false\nb:x:998:998::/:/bin/false\n"
                                             "vmuser:x:1000:1000::/home/vmuser:/bin/bash\n",
                                             &out),
                         0);
        assert_non_null(strstr(out, "\nkubelet:x:997:997:"));
        assert_non_null(strstr(out, "vmuser:x:1000:1000::/home/vmuser:/bin/bash\nkubelet:"));
        free(out);
}

static void test_kubelet_line_after_a_last_line_without_newline(void **state) {
        char *out = NULL;
        (void)state;
        assert_int_equal(kubelet_user_passwd("root:x:0:0:root:/root:/bin/bash", &out), 0);
        assert_non_null(strstr(out, "/bin/bash\nkubelet:x:999:999:"));
        assert_int_equal(out[strlen(out) - 1], '\n');
        free(out);
}

static void test_existing_kubelet_user_is_kept(void **state) {
        const char *passwd = "root:x:0:0::/:/bin/sh\nkubelet:x:500:500::/:/bin/false\n";
        char *out = NULL;
        (void)state;
        assert_int_equal(kubelet_user_passwd(passwd, &out), 0);
        assert_string_equal(out, passwd);
        free(out);
}

static void test_slice_is_mapped_by_the_nodes_own_map_only_when_covered(void **state) {
        const struct pod_userns eleven = { .start = 65536, .count = 11 * 65536, .pods = 11 };
        (void)state;
        /* As /proc/self/uid_map reads inside the node: the user, then two ranges. */
        assert_int_equal(kubelet_user_ids_mapped("         0       1000          1\n"
                                                 "         1     100000      65536\n"
                                                 "     65537     165536     720896\n",
                                                 &eleven),
                         1);
        /* newuidmap failed: only the user's own id. */
        assert_int_equal(kubelet_user_ids_mapped("         0       1000          1\n", &eleven), 0);
        /* One id short at the end (the slice ends at 786431). */
        assert_int_equal(kubelet_user_ids_mapped("0 1000 1\n1 100000 786430\n", &eleven), 0);
        assert_int_equal(kubelet_user_ids_mapped("nonsense\n", &eleven), -EINVAL);
}

static void test_check_on_this_host_is_consistent(void **state) {
        struct pod_userns_check c;
        (void)state;
        assert_int_equal(pod_userns_check_run(NULL, &c), 0);
        assert_non_null(c.user);
        assert_true(c.node_uids >= 1);
        if (c.possible) {
                assert_true(c.slice.pods > 0);
                assert_true(c.getsubids && c.map_helpers && c.kernel_ok);
                assert_true(c.max_pods >= 1);
        }
        /* The usermod command is there exactly when ids are missing for 110 pods. */
        assert_true((c.ids_missing > 0) == (c.usermod != NULL));
        json_object *o = pod_userns_check_json(&c);
        assert_non_null(o);
        json_object *v;
        assert_true(json_object_object_get_ex(o, "possible", &v));
        assert_int_equal(json_object_get_boolean(v), c.possible);
        assert_true(json_object_object_get_ex(o, "idsMissing", &v));
        assert_int_equal(json_object_get_int64(v), (int64_t)c.ids_missing);
        json_object_put(o);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        pod_userns_check_print(&c, f);
        fclose(f);
        assert_non_null(strstr(text, "pods with their own user namespace (hostUsers: false): "));
        free(text);
        pod_userns_check_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_common_65536_subids_leave_no_slice),
                cmocka_unit_test(test_twelve_times_65536_subids_hold_eleven_pods_above_the_nodes_own),
                cmocka_unit_test(test_slice_ends_at_the_last_whole_pod),
                cmocka_unit_test(test_the_smaller_of_uid_and_gid_maps_decides),
                cmocka_unit_test(test_a_whole_id_space_fits_32_bits),
                cmocka_unit_test(test_ids_missing_counts_from_the_nodes_size),
                cmocka_unit_test(test_max_pods_auto_is_the_slice_at_most_110),
                cmocka_unit_test(test_max_pods_auto_without_slice_keeps_kubelets_default),
                cmocka_unit_test(test_configured_max_pods_must_fit_the_slice),
                cmocka_unit_test(test_max_pods_values),
                cmocka_unit_test(test_usermod_command_adds_whole_pods_from_the_free_start),
                cmocka_unit_test(test_decide_gives_kubelet_the_slice_and_max_pods),
                cmocka_unit_test(test_decide_without_getsubids_makes_no_kubelet_user),
                cmocka_unit_test(test_kubelet_line_takes_the_highest_free_system_uid),
                cmocka_unit_test(test_kubelet_line_after_a_last_line_without_newline),
                cmocka_unit_test(test_existing_kubelet_user_is_kept),
                cmocka_unit_test(test_slice_is_mapped_by_the_nodes_own_map_only_when_covered),
                cmocka_unit_test(test_check_on_this_host_is_consistent),
        };
        return cmocka_run_group_tests_name("pod_userns", tests, NULL, NULL);
}
