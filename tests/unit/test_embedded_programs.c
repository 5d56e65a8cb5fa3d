/* test_embedded_programs.c: the programs usernode carries (launcher/config/embedded_programs.h) sit in a
 * section no fault-around window of other data reaches, and whoever reads one gives its pages
 * back: after a memfd copy and after the OCI wrapper's write and compare, this process's page
 * table (/proc/self/pagemap, bit 63: present) holds none of the section's pages. */
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
#include <unistd.h>

#include "launcher/embedded_exec.h"
#include "launcher/config/embedded_programs.h"
#include "launcher/services/oci_runtime.h"
#include "tests/unit/scratch_dir.h"

#define FAULT_AROUND_BYTES 65536

static uintptr_t section_start(void) {
        return (uintptr_t)embedded_programs_start;
}
static uintptr_t section_end(void) {
        return (uintptr_t)embedded_programs_end;
}

/* Pages of the section present in this process's page table. */
static size_t present_pages(void) {
        int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;

        assert_true(fd >= 0);
        for (uintptr_t va = section_start(); va < section_end(); va += page) {
                uint64_t entry;
                assert_int_equal(pread(fd, &entry, sizeof(entry), (off_t)(va / page * sizeof(entry))),
                                 sizeof(entry));
                n += entry >> 63;
        }
        close(fd);
        return n;
}

/* Reads a byte of every page of the section, so that each is present before the step tested. */
static void touch_section(void) {
        volatile unsigned sum = 0;
        for (uintptr_t va = section_start(); va < section_end(); va += 4096)
                sum += *(const volatile unsigned char *)va;
        (void)sum;
        assert_true(present_pages() > 0);
}

static void test_the_section_is_aligned_to_the_fault_around_window_at_both_ends(void **state) {
        (void)state;
        assert_int_equal(section_start() % FAULT_AROUND_BYTES, 0);
        assert_int_equal(section_end() % FAULT_AROUND_BYTES, 0);
        /* All three inside it. */
        const char *const bounds[] = { engine_program_start, engine_program_end,     cluster_program_start,
                                       cluster_program_end,  oci_wrapper_blob_start, oci_wrapper_blob_end };
        for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
                assert_true((uintptr_t)bounds[i] >= section_start());
                assert_true((uintptr_t)bounds[i] <= section_end());
        }
}

static void test_a_memfd_copy_gives_the_pages_back(void **state) {
        (void)state;
        const char *const programs[][2] = { { engine_program_start, engine_program_end },
                                            { cluster_program_start, cluster_program_end } };
        for (size_t i = 0; i < 2; i++) {
                size_t size = (size_t)((uintptr_t)programs[i][1] - (uintptr_t)programs[i][0]);
                struct stat st;

                touch_section();
                int fd = embedded_program_memfd("test-embedded", programs[i][0], programs[i][1]);
                assert_true(fd >= 0);
                assert_int_equal(present_pages(), 0);
                /* The copy is whole, and reading the program again still works. */
                assert_int_equal(fstat(fd, &st), 0);
                assert_int_equal((size_t)st.st_size, size);
                char *copy = malloc(size);
                assert_non_null(copy);
                assert_int_equal(pread(fd, copy, size, 0), (ssize_t)size);
                assert_memory_equal(copy, programs[i][0], size);
                free(copy);
                close(fd);
        }
}

static void test_the_oci_wrapper_write_and_compare_give_the_pages_back(void **state) {
        (void)state;
        char dir[] = "/tmp/test_embedded_programs.XXXXXX";
        char *wrapper = NULL;
        struct stat written, compared;

        assert_non_null(mkdtemp(dir));
        /* Written the first time... */
        touch_section();
        assert_int_equal(oci_runtime_wrapper_install(dir, "/bin/true", &wrapper), 0);
        assert_int_equal(present_pages(), 0);
        assert_int_equal(stat(wrapper, &written), 0);
        assert_int_equal((size_t)written.st_size,
                         (size_t)((uintptr_t)oci_wrapper_blob_end - (uintptr_t)oci_wrapper_blob_start));
        free(wrapper);
        /* ...only compared (found the same, so left as it is: the same inode) the second. */
        touch_section();
        assert_int_equal(oci_runtime_wrapper_install(dir, "/bin/true", &wrapper), 0);
        assert_int_equal(present_pages(), 0);
        assert_int_equal(stat(wrapper, &compared), 0);
        assert_int_equal(compared.st_ino, written.st_ino);
        /* A file of the same size and mode that differs in its last byte is written anew. */
        int fd = open(wrapper, O_WRONLY | O_CLOEXEC);
        size_t size = (size_t)((uintptr_t)oci_wrapper_blob_end - (uintptr_t)oci_wrapper_blob_start);
        char last = (char)~oci_wrapper_blob_start[size - 1];
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, &last, 1, compared.st_size - 1), 1);
        close(fd);
        free(wrapper);
        assert_int_equal(oci_runtime_wrapper_install(dir, "/bin/true", &wrapper), 0);
        assert_int_equal(present_pages(), 0);
        assert_int_equal(stat(wrapper, &compared), 0);
        assert_int_not_equal(compared.st_ino, written.st_ino);
        fd = open(wrapper, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &last, 1, compared.st_size - 1), 1);
        assert_int_equal(last, oci_wrapper_blob_start[size - 1]);
        close(fd);
        free(wrapper);
        assert_int_equal(scratch_dir_remove(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_section_is_aligned_to_the_fault_around_window_at_both_ends),
                cmocka_unit_test(test_a_memfd_copy_gives_the_pages_back),
                cmocka_unit_test(test_the_oci_wrapper_write_and_compare_give_the_pages_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
