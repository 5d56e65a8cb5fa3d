/* test_service_log.c: a service log rotates by size and keeps exactly `keep` files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"
#include "launcher/services/service_log.h"
#include "tests/unit/scratch_dir.h"

static off_t size_of(const char *dir, unsigned n) {
        _cleanup_free_ char *p = service_log_path(dir, "svc", n);
        struct stat st;
        return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_log_rotates_by_size_and_keeps_three_files(void **state) {
        (void)state;
        char dir[] = "/tmp/test-service-log-XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct service_log log;
        assert_int_equal(service_log_open(&log, dir, "svc", 1000, 3), 0);
        char line[100];
        memset(line, 'x', sizeof(line) - 1);
        line[sizeof(line) - 1] = '\n';
        for (int i = 0; i < 45; i++) /* 4500 bytes: 4 full files and a half */
                assert_int_equal(service_log_write(&log, line, sizeof(line)), 0);
        service_log_close(&log);

        assert_int_equal(size_of(dir, 0), 500);
        assert_int_equal(size_of(dir, 1), 1000);
        assert_int_equal(size_of(dir, 2), 1000);
        assert_int_equal(size_of(dir, 3), -1); /* the oldest fell off */
        assert_int_equal(scratch_dir_remove(dir), 0);
}

static void test_log_appends_across_reopen(void **state) {
        (void)state;
        char dir[] = "/tmp/test-service-log-XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct service_log log;
        for (int i = 0; i < 2; i++) {
                assert_int_equal(service_log_open(&log, dir, "svc", 1 << 20, 3), 0);
                assert_int_equal(service_log_write(&log, "hello\n", 6), 0);
                service_log_close(&log);
        }
        assert_int_equal(size_of(dir, 0), 12);
        assert_int_equal(scratch_dir_remove(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_rotates_by_size_and_keeps_three_files),
                cmocka_unit_test(test_log_appends_across_reopen),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
