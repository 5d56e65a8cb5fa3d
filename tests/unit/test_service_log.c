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

/* Service output had no times at all. */
static void test_every_line_gets_a_utc_timestamp_even_across_writes(void **state) {
        (void)state;
        char dir[] = "/tmp/test-service-log-XXXXXX", text[512] = "";
        assert_non_null(mkdtemp(dir));
        struct service_log log;
        assert_int_equal(service_log_open(&log, dir, "svc", 1 << 20, 3), 0);
        service_log_set_timestamps(&log, true);
        assert_int_equal(service_log_write(&log, "one\ntw", 6), 0);
        assert_int_equal(service_log_write(&log, "o\nthree\n", 8), 0);
        service_log_close(&log);
        _cleanup_free_ char *p = service_log_path(dir, "svc", 0);
        FILE *f = fopen(p, "re");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        const char *want[] = { "one\n", "two\n", "three\n" };
        const char *line = text;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                /* 2026-12-01T10:20:00.123456Z one */
                assert_true(strlen(line) > SERVICE_LOG_STAMP_LEN);
                assert_int_equal(line[4], '-');
                assert_int_equal(line[10], 'T');
                assert_int_equal(line[26], 'Z');
                assert_int_equal(line[27], ' ');
                assert_memory_equal(line + SERVICE_LOG_STAMP_LEN, want[i], strlen(want[i]));
                line += SERVICE_LOG_STAMP_LEN + strlen(want[i]);
        }
        assert_int_equal(*line, '\0');
        assert_int_equal(scratch_dir_remove(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_rotates_by_size_and_keeps_three_files),
                cmocka_unit_test(test_log_appends_across_reopen),
                cmocka_unit_test(test_every_line_gets_a_utc_timestamp_even_across_writes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
