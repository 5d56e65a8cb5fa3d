/* Unit tests of launcher/idmap.c and idmap_libsubid.c: reading subordinate ranges (from the file,
 * from the libsubid child) and building the node's id map. */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/idmap.h"
#include "launcher/services/pod_userns.h"

static int parse(const char *text, const char *user, uint32_t id, struct id_range **ranges) {
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        assert_non_null(f);
        int n = idmap_parse_subid_file(f, "subuid", user, id, ranges);
        fclose(f);
        return n;
}

static void test_ranges_are_found_by_user_name(void **state) {
        struct id_range *r = NULL;
        (void)state;
        assert_int_equal(parse("bob:100000:65536\nalice:165536:65536\n", "alice", 1000, &r), 1);
        assert_int_equal(r[0].start, 165536);
        assert_int_equal(r[0].count, 65536);
        free(r);
}

static void test_ranges_are_found_by_numeric_uid(void **state) {
        struct id_range *r = NULL;
        (void)state;
        assert_int_equal(parse("1000:200000:1000\nalice:300000:5\n", "alice", 1000, &r), 2);
        assert_int_equal(r[0].start, 200000);
        assert_int_equal(r[1].start, 300000);
        free(r);
}

static void test_comments_blank_and_malformed_lines_are_skipped(void **state) {
        struct id_range *r = NULL;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        assert_int_equal(parse("# comment\n\nalice\nalice:x:5\nalice:10:0\nalice:-1:5\n"
                               "alice:4294967295:2\nalice:7:3\n",
                               "alice", 1000, &r),
                         1);
        assert_int_equal(r[0].start, 7);
        assert_int_equal(r[0].count, 3);
        free(r);
}

static void test_no_entry_means_no_ranges(void **state) {
        struct id_range *r = NULL;
        (void)state;
        assert_int_equal(parse("bob:100000:65536\n", "alice", 1000, &r), 0);
        free(r);
}

static void test_map_starts_with_own_id_then_ranges_from_inner_one(void **state) {
        struct id_range ranges[] = { { 100000, 65536 }, { 300000, 10 } };
        struct id_mapping m;
        (void)state;
        idmap_build(1000, ranges, 2, "alice", ID_KIND_UID, &m);
        assert_int_equal(m.n_extents, 3);
        assert_int_equal(m.extents[0].inner, 0);
        assert_int_equal(m.extents[0].outer, 1000);
        assert_int_equal(m.extents[0].count, 1);
        assert_int_equal(m.extents[1].inner, 1);
        assert_int_equal(m.extents[1].outer, 100000);
        assert_int_equal(m.extents[2].inner, 65537);
        assert_int_equal(m.extents[2].outer, 300000);
        assert_int_equal(idmap_size(&m), 1 + 65536 + 10);
}

/* The VM's user has 100000:65536 and 165536:720896: one line, so that every 65536-id slice kubelet
 * gives a pod lies within a line of the node's map (the kernel refuses a pod's map otherwise). */
static void test_adjacent_ranges_share_one_line(void **state) {
        struct id_range ranges[] = { { 100000, 65536 }, { 165536, 720896 }, { 900000, 10 } };
        struct id_mapping m;
        (void)state;
        idmap_build(1000, ranges, 3, "alice", ID_KIND_UID, &m);
        assert_int_equal(m.n_extents, 3);
        assert_int_equal(m.extents[1].inner, 1);
        assert_int_equal(m.extents[1].outer, 100000);
        assert_int_equal(m.extents[1].count, 65536 + 720896);
        assert_int_equal(m.extents[2].inner, 1 + 65536 + 720896);
        assert_int_equal(m.extents[2].outer, 900000);
        assert_int_equal(idmap_size(&m), 1 + 65536 + 720896 + 10);
}

/* From /etc/subuid ranges to kubelet's slice, as run.c does it: adjacent ranges hold 11 pods,
 * the same ids scattered hold 10 (block 65536..131071 would straddle the two lines). */
static void test_scattered_ranges_give_kubelet_only_blocks_within_a_line(void **state) {
        struct id_range adjacent[] = { { 100000, 65536 }, { 165536, 720896 } };
        struct id_range scattered[] = { { 100000, 65536 }, { 300000, 720896 } };
        struct pod_userns_map *map = malloc(sizeof(*map));
        struct id_mapping m;
        struct pod_userns s;
        (void)state;
        assert_non_null(map);
        idmap_build(1000, adjacent, 2, "alice", ID_KIND_UID, &m);
        idmap_to_pod_userns_map(&m, map);
        assert_int_equal(map->n, 2);
        pod_userns_slice(map, map, &s);
        assert_int_equal(s.start, 65536);
        assert_int_equal(s.pods, 11);
        idmap_build(1000, scattered, 2, "alice", ID_KIND_UID, &m);
        idmap_to_pod_userns_map(&m, map);
        assert_int_equal(map->n, 3);
        assert_int_equal(map->lines[2].inner, 65537);
        assert_int_equal(map->lines[2].outer, 300000);
        pod_userns_slice(map, map, &s);
        assert_int_equal(s.start, 131072);
        assert_int_equal(s.pods, 10);
        free(map);
}

static void test_range_containing_own_id_is_skipped(void **state) {
        struct id_range ranges[] = { { 500, 1000 }, { 100000, 5 } };
        struct id_mapping m;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        idmap_build(1000, ranges, 2, "alice", ID_KIND_UID, &m);
        assert_int_equal(m.n_extents, 2);
        assert_int_equal(m.extents[1].outer, 100000);
        assert_int_equal(m.extents[1].inner, 1);
}

static void test_overlapping_ranges_are_skipped(void **state) {
        struct id_range ranges[] = { { 100000, 100 }, { 100050, 100 }, { 200000, 1 } };
        struct id_mapping m;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        idmap_build(1000, ranges, 3, "alice", ID_KIND_GID, &m);
        assert_int_equal(m.n_extents, 3);
        assert_int_equal(m.extents[2].outer, 200000);
        assert_int_equal(m.extents[2].inner, 101);
}

static void test_map_is_capped_at_the_kernel_limit(void **state) {
        struct id_range ranges[400];
        struct id_mapping m;
        (void)state;
        log_set_level(LOG_LEVEL_ERROR);
        for (size_t i = 0; i < 400; i++)
                ranges[i] = (struct id_range){ (uint32_t)(100000 + i * 20), 10 }; /* apart: one line each */
        idmap_build(1000, ranges, 400, "alice", ID_KIND_UID, &m);
        assert_int_equal(m.n_extents, IDMAP_EXTENTS_MAX);
}

static void test_several_ranges_are_all_mapped_without_a_hole(void **state) {
        /* Twelve ranges of 65536 in no particular order: every one mapped, inner ids contiguous. */
        struct id_range ranges[12];
        struct id_mapping m;
        (void)state;
        for (size_t i = 0; i < 12; i++)
                ranges[i] = (struct id_range){ (uint32_t)(2000000 - i * 100000), 65536 };
        idmap_build(1000, ranges, 12, "alice", ID_KIND_UID, &m);
        assert_int_equal(m.n_extents, 13);
        for (size_t i = 1; i < m.n_extents; i++)
                assert_int_equal(m.extents[i].inner, m.extents[i - 1].inner + m.extents[i - 1].count);
        assert_int_equal(idmap_size(&m), 1 + 12 * 65536);
}

static char *write_temp(const char *text) {
        char *path = strdup("/tmp/usernode-subid-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void test_free_start_is_above_every_users_ranges(void **state) {
        (void)state;
        char *uids = write_temp("alice:100000:65536\nbob:165536:65536\n");
        char *gids = write_temp("alice:100000:65536\nbob:165536:131072\n");
        /* bob's gids end at 296608: rounded up to 65536 */
        assert_int_equal(idmap_free_subid_start_in(uids, gids), 327680);
        unlink(uids);
        unlink(gids);
        free(uids);
        free(gids);
        assert_int_equal(idmap_free_subid_start_in("/nonexistent/a", "/nonexistent/b"), 131072);
}

/* A file holding N records, then EXTRA bytes of a cut one, at offset 0: a libsubid answer. */
static int answer_fd(const struct id_range *records, size_t n, size_t extra) {
        FILE *f = tmpfile();
        assert_non_null(f);
        int fd = dup(fileno(f));
        fclose(f);
        assert_true(fd >= 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(write(fd, &records[i], sizeof(records[i])), (ssize_t)sizeof(records[i]));
        if (extra > 0)
                assert_int_equal(write(fd, &records[0], extra), (ssize_t)extra);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static int read_answer(const struct id_range *records, size_t n, size_t extra, struct id_range **ret) {
        int fd = answer_fd(records, n, extra);
        int count = idmap_libsubid_read(fd, ret);
        close(fd);
        return count;
}

static void test_libsubid_answer_is_taken_whole_when_every_range_is_valid(void **state) {
        const struct id_range ok[] = { { 100000, 65536 }, { 4294901759u, 65536 } }; /* ends at 2^32-1 */
        struct id_range *r = NULL;
        (void)state;
        assert_int_equal(read_answer(ok, 2, 0, &r), 2);
        assert_int_equal(r[0].start, 100000);
        assert_int_equal(r[1].count, 65536);
        free(r);
        r = NULL;
        assert_int_equal(read_answer(ok, 0, 0, &r), 0);
        free(r);
}

static void test_libsubid_answer_with_a_cut_or_invalid_range_is_refused(void **state) {
        const struct id_range empty[] = { { 100000, 65536 }, { 200000, 0 } };
        const struct id_range past_32_bits[] = { { 4294901760u, 65536 } };
        struct id_range *r = NULL;
        (void)state;
        assert_int_equal(read_answer(empty, 1, 3, &r), -EBADMSG);
        assert_int_equal(read_answer(empty, 2, 0, &r), -EBADMSG);
        assert_int_equal(read_answer(past_32_bits, 1, 0, &r), -EBADMSG);
        assert_null(r);
}

static void test_libsubid_answer_is_bounded(void **state) {
        size_t n = IDMAP_LIBSUBID_RANGES_MAX + 1;
        struct id_range *many = calloc(n, sizeof(*many)), *r = NULL;
        (void)state;
        assert_non_null(many);
        for (size_t i = 0; i < n; i++)
                many[i] = (struct id_range){ (uint32_t)(100000 + i), 1 };
        assert_int_equal(read_answer(many, n - 1, 0, &r), (int)(n - 1));
        free(r);
        r = NULL;
        assert_int_equal(read_answer(many, n, 0, &r), -E2BIG);
        assert_null(r);
        free(many);
}

/* The lookup answers (from libsubid where it is installed, else the file) and leaves the caller
 * without libsubid's libraries: the child opened them. */
static void test_lookup_leaves_libsubid_unmapped_in_the_caller(void **state) {
        struct passwd *pw = getpwuid(getuid());
        struct id_range *r = NULL;
        char maps[1 << 16];
        (void)state;
        assert_non_null(pw);
        assert_true(idmap_lookup_subids(ID_KIND_UID, pw->pw_name, getuid(), &r) >= 0);
        free(r);
        r = NULL;
        assert_true(idmap_lookup_subids(ID_KIND_GID, pw->pw_name, getgid(), &r) >= 0);
        free(r);

        FILE *f = fopen("/proc/self/maps", "re");
        assert_non_null(f);
        while (fgets(maps, sizeof(maps), f))
                assert_null(strstr(maps, "libsubid"));
        fclose(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ranges_are_found_by_user_name),
                cmocka_unit_test(test_ranges_are_found_by_numeric_uid),
                cmocka_unit_test(test_comments_blank_and_malformed_lines_are_skipped),
                cmocka_unit_test(test_no_entry_means_no_ranges),
                cmocka_unit_test(test_map_starts_with_own_id_then_ranges_from_inner_one),
                cmocka_unit_test(test_adjacent_ranges_share_one_line),
                cmocka_unit_test(test_scattered_ranges_give_kubelet_only_blocks_within_a_line),
                cmocka_unit_test(test_range_containing_own_id_is_skipped),
                cmocka_unit_test(test_overlapping_ranges_are_skipped),
                cmocka_unit_test(test_map_is_capped_at_the_kernel_limit),
                cmocka_unit_test(test_several_ranges_are_all_mapped_without_a_hole),
                cmocka_unit_test(test_free_start_is_above_every_users_ranges),
                cmocka_unit_test(test_libsubid_answer_is_taken_whole_when_every_range_is_valid),
                cmocka_unit_test(test_libsubid_answer_with_a_cut_or_invalid_range_is_refused),
                cmocka_unit_test(test_libsubid_answer_is_bounded),
                cmocka_unit_test(test_lookup_leaves_libsubid_unmapped_in_the_caller),
        };
        return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}
