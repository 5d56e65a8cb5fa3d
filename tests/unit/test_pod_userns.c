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

/* A node map of `ids` ids in all as idmap_build makes it for one range: the user (1000), then
 * the subordinate ids from 100000 in one line. */
static void one_line(struct pod_userns_map *m, uint64_t ids) {
        m->n = 1;
        m->lines[0] = (struct pod_userns_map_line){ 0, 1000, 1 };
        if (ids > 1)
                m->lines[m->n++] = (struct pod_userns_map_line){ 1, 100000, (uint32_t)(ids - 1) };
}

/* A node map of the user's ranges (host start, count), not adjacent to each other. */
static void lines_of(struct pod_userns_map *m, const uint32_t (*ranges)[2], size_t n) {
        uint32_t inner = 1;
        m->n = 1;
        m->lines[0] = (struct pod_userns_map_line){ 0, 1000, 1 };
        for (size_t i = 0; i < n; i++) {
                m->lines[m->n++] = (struct pod_userns_map_line){ inner, ranges[i][0], ranges[i][1] };
                inner += ranges[i][1];
        }
}

/* The slice of a node whose maps are one line each, of `uids` and `gids` ids in all. */
static void slice_of(uint64_t uids, uint64_t gids, struct pod_userns *s) {
        static struct pod_userns_map u, g;
        one_line(&u, uids);
        one_line(&g, gids);
        pod_userns_slice(&u, &g, s);
}

/* A host of one range of `subids` from 100000, whose free start is `free_start`. */
static void one_range_host(struct pod_userns_host *h, uint64_t subids, uint64_t free_start) {
        *h = (struct pod_userns_host){ .getsubids = true, .user = "alice", .free_start = free_start };
        one_line(&h->uids, node_ids(subids));
        one_line(&h->gids, node_ids(subids));
}

/* 100000:65536 as most hosts have it, then 300000:720896 added later: not adjacent on the host,
 * so two map lines meeting at node id 65537, inside the first pod's block. */
static const uint32_t SCATTERED[][2] = { { 100000, 65536 }, { 300000, 720896 } };

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
        slice_of(node_ids(65536), node_ids(65536), &s);
        assert_int_equal(s.pods, 0);
        assert_int_equal(s.count, 0);
}

static void test_twelve_times_65536_subids_hold_eleven_pods_above_the_nodes_own(void **state) {
        struct pod_userns s;
        (void)state;
        slice_of(node_ids(12 * 65536), node_ids(12 * 65536), &s);
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
        slice_of(2 * PER_POD, 2 * PER_POD, &s);
        assert_int_equal(s.pods, 1);
        slice_of(2 * PER_POD - 1, 2 * PER_POD - 1, &s);
        assert_int_equal(s.pods, 0);
        slice_of(5 * PER_POD + 65535, 5 * PER_POD + 65535, &s);
        assert_int_equal(s.pods, 4);
}

static void test_the_smaller_of_uid_and_gid_maps_decides(void **state) {
        struct pod_userns s;
        (void)state;
        /* kubelet refuses different `getsubids` and `getsubids -g` output: one range for both. */
        slice_of(node_ids(20 * 65536), node_ids(3 * 65536), &s);
        assert_int_equal(s.pods, 2);
        slice_of(node_ids(3 * 65536), node_ids(20 * 65536), &s);
        assert_int_equal(s.pods, 2);
}

static void test_a_whole_id_space_fits_32_bits(void **state) {
        struct pod_userns s;
        (void)state;
        slice_of(UINT32_MAX, UINT32_MAX, &s);
        assert_int_equal(s.pods, 65534);
        assert_true((uint64_t)s.start + s.count <= UINT32_MAX);
        assert_kubelet_accepts(&s, 65534);
}

static void test_ids_missing_counts_a_new_range_as_a_line_of_its_own(void **state) {
        struct pod_userns_host h;
        (void)state;
        /* 100000:65536 ends at 165536; usermod's range from 196608 is a new line at node id
         * 65537, inside block 1: the 110 pods must be blocks 2..111 of it, up to node id
         * 112*65536, so 112*65536 - 65537 ids, whole pods: 111*65536. (Counting ids alone said
         * 111*65536 - 65537, which left 109.) */
        one_range_host(&h, 65536, 196608);
        assert_int_equal(pod_userns_ids_missing(&h, 110), 111 * 65536);
        /* A range from 165536 continues the line: blocks 1..110, 110*65536 ids more. */
        one_range_host(&h, 65536, 165536);
        assert_int_equal(pod_userns_ids_missing(&h, 110), 110 * 65536);
        /* The VM's 65536 x 12 in one line (100000..886431), free start 917504: 11 pods fit; for
         * 12 a new line from node id 786433 must hold all 12, blocks 13..24 (12*65536 - 1 ids
         * would not reach), 13*65536. */
        one_range_host(&h, 12 * 65536, 917504);
        assert_int_equal(pod_userns_ids_missing(&h, 11), 0);
        assert_int_equal(pod_userns_ids_missing(&h, 12), 13 * 65536);
        /* What it says to add gives that many pods. */
        struct pod_userns s;
        const uint32_t after[][2] = { { 100000, 12 * 65536 }, { 917504, 13 * 65536 } };
        lines_of(&h.uids, after, 2);
        lines_of(&h.gids, after, 2);
        pod_userns_slice(&h.uids, &h.gids, &s);
        assert_int_equal(s.pods, 12);
}

static void test_scattered_ranges_lose_the_block_that_straddles_their_lines(void **state) {
        struct pod_userns_host h = { .getsubids = true, .user = "alice", .free_start = 1048576 };
        struct pod_userns s;
        (void)state;
        lines_of(&h.uids, SCATTERED, 2);
        lines_of(&h.gids, SCATTERED, 2);
        /* 786433 ids as for one range, but block 1 (65536..131071) holds node ids of both lines:
         * the pods are blocks 2..11. */
        pod_userns_slice(&h.uids, &h.gids, &s);
        assert_int_equal(s.start, 2 * 65536);
        assert_int_equal(s.pods, 10);
        assert_int_equal(s.count, 10 * 65536);
        assert_kubelet_accepts(&s, 10);
        assert_true(pod_userns_slice_fits(&h.uids, &s));
        assert_int_equal(pod_userns_pods_by_count(&h), 11);
        char *why = pod_userns_why_fewer(&h, &s);
        assert_non_null(why);
        assert_non_null(strstr(why, "2 map lines"));
        assert_non_null(strstr(why, "10 where the ids alone would hold 11"));
        free(why);
        /* What counting ids alone gave, 11 pods from 65536, puts a pod across the lines. */
        const struct pod_userns eleven = { .start = 65536, .count = 11 * 65536, .pods = 11 };
        assert_false(pod_userns_slice_fits(&h.uids, &eleven));
}

static void test_the_longest_run_of_usable_blocks_is_kubelets(void **state) {
        /* Node ids 1..196608, 196609..327680, 327681..720896: blocks 1-2, 4 and 6-10 lie within
         * a line; kubelet takes one range, the longest: 6-10. */
        const uint32_t ranges[][2] = { { 100000, 3 * 65536 }, { 500000, 2 * 65536 }, { 900000, 6 * 65536 } };
        struct pod_userns_host h = { .getsubids = true, .user = "alice", .free_start = 1310720 };
        struct pod_userns s;
        (void)state;
        lines_of(&h.uids, ranges, 3);
        lines_of(&h.gids, ranges, 3);
        pod_userns_slice(&h.uids, &h.gids, &s);
        assert_int_equal(s.start, 6 * 65536);
        assert_int_equal(s.pods, 5);
        assert_int_equal(pod_userns_pods_by_count(&h), 10);
        assert_kubelet_accepts(&s, 5);
}

static void test_lines_meeting_at_a_block_boundary_make_one_run(void **state) {
        struct pod_userns_map m = { .n = 3 };
        struct pod_userns s;
        (void)state;
        m.lines[0] = (struct pod_userns_map_line){ 0, 1000, 1 };
        m.lines[1] = (struct pod_userns_map_line){ 1, 100000, 131071 };
        m.lines[2] = (struct pod_userns_map_line){ 131072, 400000, 131072 };
        /* Block 1 in the first line, 2 and 3 in the second: one run of three. */
        pod_userns_slice(&m, &m, &s);
        assert_int_equal(s.start, 65536);
        assert_int_equal(s.pods, 3);
}

static void test_each_block_must_lie_within_a_line_of_both_maps(void **state) {
        struct pod_userns_map u, g;
        struct pod_userns s;
        (void)state;
        one_line(&u, node_ids(12 * 65536));
        lines_of(&g, SCATTERED, 2);
        pod_userns_slice(&u, &g, &s);
        assert_int_equal(s.start, 2 * 65536);
        assert_int_equal(s.pods, 10);
        pod_userns_slice(&g, &u, &s);
        assert_int_equal(s.pods, 10);
}

static void test_max_pods_auto_is_the_slice_at_most_110(void **state) {
        struct pod_userns s;
        uint32_t max;
        (void)state;
        slice_of(node_ids(12 * 65536), node_ids(12 * 65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 11);
        slice_of(node_ids(1000 * 65536), node_ids(1000 * 65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 110);
        assert_kubelet_accepts(&s, max);
}

static void test_max_pods_auto_without_slice_keeps_kubelets_default(void **state) {
        struct pod_userns s;
        uint32_t max;
        (void)state;
        slice_of(node_ids(65536), node_ids(65536), &s);
        assert_int_equal(pod_userns_max_pods(&s, 0, &max), 0);
        assert_int_equal(max, 110);
}

static void test_configured_max_pods_must_fit_the_slice(void **state) {
        struct pod_userns s;
        uint32_t max = 0;
        (void)state;
        slice_of(node_ids(12 * 65536), node_ids(12 * 65536), &s);
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
        struct pod_userns_host host;
        struct node_settings s;
        (void)state;
        one_range_host(&host, 12 * 65536, 100000);
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
        struct pod_userns_host host;
        struct node_settings s;
        (void)state;
        one_range_host(&host, 12 * 65536, 100000);
        host.getsubids = false;
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

static void test_decide_with_scattered_ranges_stops_a_max_pods_that_straddles(void **state) {
        struct pod_userns_host h = { .getsubids = true, .user = "alice", .free_start = 1048576 };
        struct node_settings s;
        (void)state;
        lines_of(&h.uids, SCATTERED, 2);
        lines_of(&h.gids, SCATTERED, 2);
        log_set_level(LOG_LEVEL_ERROR);
        settings(&s, 0);
        assert_int_equal(pod_userns_decide(&s, &h), 0);
        assert_int_equal(s.pod_userns.start, 2 * 65536);
        assert_int_equal(s.pod_userns.pods, 10);
        assert_int_equal(s.kubelet_max_pods, 10);
        node_settings_done(&s);
        /* 11 by the count of ids, which pinns would have failed on (EPERM) for the eleventh. */
        settings(&s, 11);
        assert_int_equal(pod_userns_decide(&s, &h), -ERANGE);
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
        /* As /proc/self/uid_map reads inside the node: the user, then two ranges adjacent on
         * the host, which idmap_build joins into one line. */
        assert_int_equal(kubelet_user_ids_mapped("         0       1000          1\n"
                                                 "         1     100000     786432\n",
                                                 &eleven),
                         1);
        /* newuidmap failed: only the user's own id. */
        assert_int_equal(kubelet_user_ids_mapped("         0       1000          1\n", &eleven), 0);
        /* One id short at the end (the slice ends at 786431). */
        assert_int_equal(kubelet_user_ids_mapped("0 1000 1\n1 100000 786430\n", &eleven), 0);
        assert_int_equal(kubelet_user_ids_mapped("nonsense\n", &eleven), -EINVAL);
        /* Mapped, but across two lines at node id 65537: block 1 would straddle them. As the
         * kernel shows lines, sorted by host id, not by node id. */
        const char *scattered = "0 1000 1\n65537 300000 720896\n1 400000 65536\n";
        assert_int_equal(kubelet_user_ids_mapped(scattered, &eleven), 0);
        const struct pod_userns ten = { .start = 2 * 65536, .count = 10 * 65536, .pods = 10 };
        assert_int_equal(kubelet_user_ids_mapped(scattered, &ten), 1);
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
        pod_userns_check_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_common_65536_subids_leave_no_slice),
                cmocka_unit_test(test_twelve_times_65536_subids_hold_eleven_pods_above_the_nodes_own),
                cmocka_unit_test(test_slice_ends_at_the_last_whole_pod),
                cmocka_unit_test(test_the_smaller_of_uid_and_gid_maps_decides),
                cmocka_unit_test(test_a_whole_id_space_fits_32_bits),
                cmocka_unit_test(test_ids_missing_counts_a_new_range_as_a_line_of_its_own),
                cmocka_unit_test(test_scattered_ranges_lose_the_block_that_straddles_their_lines),
                cmocka_unit_test(test_the_longest_run_of_usable_blocks_is_kubelets),
                cmocka_unit_test(test_lines_meeting_at_a_block_boundary_make_one_run),
                cmocka_unit_test(test_each_block_must_lie_within_a_line_of_both_maps),
                cmocka_unit_test(test_max_pods_auto_is_the_slice_at_most_110),
                cmocka_unit_test(test_max_pods_auto_without_slice_keeps_kubelets_default),
                cmocka_unit_test(test_configured_max_pods_must_fit_the_slice),
                cmocka_unit_test(test_max_pods_values),
                cmocka_unit_test(test_usermod_command_adds_whole_pods_from_the_free_start),
                cmocka_unit_test(test_decide_gives_kubelet_the_slice_and_max_pods),
                cmocka_unit_test(test_decide_without_getsubids_makes_no_kubelet_user),
                cmocka_unit_test(test_decide_with_scattered_ranges_stops_a_max_pods_that_straddles),
                cmocka_unit_test(test_kubelet_line_takes_the_highest_free_system_uid),
                cmocka_unit_test(test_kubelet_line_after_a_last_line_without_newline),
                cmocka_unit_test(test_existing_kubelet_user_is_kept),
                cmocka_unit_test(test_slice_is_mapped_by_the_nodes_own_map_only_when_covered),
                cmocka_unit_test(test_check_on_this_host_is_consistent),
        };
        return cmocka_run_group_tests_name("pod_userns", tests, NULL, NULL);
}
