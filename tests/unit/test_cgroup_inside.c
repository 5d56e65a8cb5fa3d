/* test_cgroup_inside.c: the node init's cgroup leaves refuse names that would leave the node's tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cgroup/cgroup_inside.h"
#include "common/macro.h"

static void test_leaf_names_that_escape_or_are_empty_are_refused(void **state) {
        static const char *const bad[] = { "", "/kubepods", "..", "../x", "a/../b", "a//b", "a/", "./a" };
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(cgroup_inside_create_leaf(bad[i]), -EINVAL);
                assert_int_equal(cgroup_inside_move(bad[i], 0), -EINVAL);
        }
        assert_int_equal(cgroup_inside_create_leaf(NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_leaf_names_that_escape_or_are_empty_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
