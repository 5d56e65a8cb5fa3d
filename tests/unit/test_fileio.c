/* Unit tests of common/fileio.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "tests/unit/scratch_dir.h"

static char dir[] = "/tmp/usernode-fileio-XXXXXX";

static int setup(void **state) {
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        return scratch_dir_remove(dir);
}

static void test_mkdir_p_creates_every_component_with_the_mode(void **state) {
        char path[256];
        struct stat st;
        (void)state;
        snprintf(path, sizeof(path), "%s/a/b/c", dir);
        assert_int_equal(mkdir_p(path, 0700), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(mkdir_p(path, 0700), 0); /* existing is fine */
}

static void test_mkdir_parents_leaves_the_last_component(void **state) {
        char path[256], parent[256];
        (void)state;
        snprintf(path, sizeof(path), "%s/x/y/file", dir);
        snprintf(parent, sizeof(parent), "%s/x/y", dir);
        assert_int_equal(mkdir_parents(path, 0755), 0);
        assert_int_equal(access(parent, F_OK), 0);
        assert_int_equal(access(path, F_OK), -1);
}

static void test_existing_dir_of_is_the_nearest_directory_that_exists(void **state) {
        char path[256], file[256];
        char *got;
        (void)state;
        got = existing_dir_of(dir);
        assert_string_equal(got, dir);
        free(got);
        snprintf(path, sizeof(path), "%s/not/made/yet", dir);
        got = existing_dir_of(path);
        assert_string_equal(got, dir);
        free(got);
        /* A file is no directory: its directory counts. */
        snprintf(file, sizeof(file), "%s/plain", dir);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fclose(f);
        got = existing_dir_of(file);
        assert_string_equal(got, dir);
        free(got);
        got = existing_dir_of("/no-such-dir-of-usernode/x");
        assert_string_equal(got, "/");
        free(got);
}

static void test_write_string_file_writes_existing_files_only(void **state) {
        char path[256], buffer[16] = { 0 };
        (void)state;
        snprintf(path, sizeof(path), "%s/value", dir);
        assert_int_equal(write_string_file(path, "1"), -ENOENT);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(write_string_file(path, "deny"), 0);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(fgets(buffer, sizeof(buffer), f));
        fclose(f);
        assert_string_equal(buffer, "deny");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mkdir_p_creates_every_component_with_the_mode),
                cmocka_unit_test(test_mkdir_parents_leaves_the_last_component),
                cmocka_unit_test(test_existing_dir_of_is_the_nearest_directory_that_exists),
                cmocka_unit_test(test_write_string_file_writes_existing_files_only),
        };
        return cmocka_run_group_tests_name("fileio", tests, setup, teardown);
}
