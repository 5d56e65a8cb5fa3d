/* test_pod_drain.c: which containers the pod drain stops, with which grace period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "launcher/services/pod_drain.h"

static void test_grace_comes_from_kubelets_annotation_bounded_by_the_maximum(void **state) {
        struct drain_item *items = NULL;
        size_t n = 0;
        (void)state;
        assert_int_equal(
                pod_drain_parse_containers("{\"containers\":["
                                           "{\"id\":\"a1\",\"state\":\"CONTAINER_RUNNING\",\"annotations\":{"
                                           "\"" POD_GRACE_ANNOTATION "\":\"5\"}},"
                                           "{\"id\":\"b2\",\"state\":\"CONTAINER_RUNNING\",\"annotations\":{"
                                           "\"" POD_GRACE_ANNOTATION "\":\"3600\"}},"
                                           "{\"id\":\"c3\",\"state\":\"CONTAINER_RUNNING\"},"
                                           "{\"id\":\"d4\",\"state\":\"CONTAINER_EXITED\"},"
                                           "{\"id\":\"../x\",\"state\":\"CONTAINER_RUNNING\"},"
                                           "{\"id\":\"e5\",\"state\":\"CONTAINER_RUNNING\",\"annotations\":{"
                                           "\"" POD_GRACE_ANNOTATION "\":\"soon\"}}]}",
                                           60, &items, &n),
                0);
        assert_int_equal(n, 4); /* the exited one and the bad id are left out */
        assert_string_equal(items[0].id, "a1");
        assert_int_equal(items[0].grace_sec, 5);
        assert_int_equal(items[1].grace_sec, 60);
        assert_int_equal(items[2].grace_sec, POD_GRACE_DEFAULT_SEC);
        assert_string_equal(items[3].id, "e5");
        assert_int_equal(items[3].grace_sec, POD_GRACE_DEFAULT_SEC);
        free(items);

        /* A maximum below kubelet's default bounds the default too. */
        assert_int_equal(pod_drain_parse_containers("{\"containers\":[{\"id\":\"c3\"}]}", 10, &items, &n),
                         0);
        assert_int_equal(n, 1);
        assert_int_equal(items[0].grace_sec, 10);
        free(items);
}

static void test_output_that_is_not_crictls_is_refused(void **state) {
        struct drain_item *items = NULL;
        size_t n = 7;
        (void)state;
        assert_int_equal(pod_drain_parse_containers("[]", 30, &items, &n), -EBADMSG);
        assert_int_equal(pod_drain_parse_containers("", 30, &items, &n), -EBADMSG);
        assert_null(items);
        assert_int_equal(n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_grace_comes_from_kubelets_annotation_bounded_by_the_maximum),
                cmocka_unit_test(test_output_that_is_not_crictls_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
