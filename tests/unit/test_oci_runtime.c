/* test_oci_runtime.c: what the OCI runtime wrapper changes in a container's spec, how it reads
 * the runtime's command line, and the oom_score_adj floor it finds by trying. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "launcher/services/oci_runtime.h"
#include "launcher/services/oci_spec_fixup.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_object *spec_of(const char *text) {
        json_object *spec = json_tokener_parse(text);
        assert_non_null(spec);
        return spec;
}

static const char *cgroups_path(json_object *spec) {
        json_object *linux_, *path;
        if (!json_object_object_get_ex(spec, "linux", &linux_) ||
            !json_object_object_get_ex(linux_, "cgroupsPath", &path))
                return NULL;
        return json_object_get_string(path);
}

static int oom_score(json_object *spec, bool *present) {
        json_object *process, *v;
        *present = json_object_object_get_ex(spec, "process", &process) &&
                   json_object_object_get_ex(process, "oomScoreAdj", &v);
        return *present ? json_object_get_int(v) : 0;
}

static void test_qos_class_from_the_pod_cgroup_gives_kubelets_oom_score(void **state) {
        int v = 0;
        (void)state;
        assert_int_equal(oci_qos_oom_score("/kubepods/pod1234", false, &v), 1);
        assert_int_equal(v, OOM_SCORE_GUARANTEED);
        assert_int_equal(oci_qos_oom_score("/kubepods/besteffort/pod1234", false, &v), 1);
        assert_int_equal(v, OOM_SCORE_BEST_EFFORT);
        assert_int_equal(oci_qos_oom_score("/kubepods/burstable/pod1234", true, &v), 1);
        assert_int_equal(v, OOM_SCORE_POD_INFRA);
        /* Burstable depends on the memory request, which the spec does not carry. */
        assert_int_equal(oci_qos_oom_score("/kubepods/burstable/pod1234", false, &v), 0);
        /* Not a pod cgroup kubelet made. */
        assert_int_equal(oci_qos_oom_score("/kubepods", false, &v), 0);
        assert_int_equal(oci_qos_oom_score("", false, &v), 0);
        assert_int_equal(oci_qos_oom_score(NULL, false, &v), 0);
}

static void test_cgroup_parents_that_escape_or_are_slices_are_refused(void **state) {
        static const char *const bad[] = { "",
                                           "kubepods",
                                           "/kubepods/../x",
                                           "/a//b",
                                           "/a/./b",
                                           "/..",
                                           "/kubepods.slice/kubepods-pod1.slice" };
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(oci_cgroup_parent_valid(bad[i]));
        assert_false(oci_cgroup_parent_valid(NULL));
        assert_true(oci_cgroup_parent_valid("/kubepods/burstable/pod-1"));
        assert_true(oci_cgroup_parent_valid("/"));
}

static void test_an_empty_cgroups_path_becomes_the_pods_cgroup(void **state) {
        json_object *spec = spec_of("{\"process\":{},\"linux\":{\"cgroupsPath\":\"\"}}");
        struct oci_fixup fix = { .container_id = ID, .cgroup_parent = "/kubepods/burstable/pod42" };
        bool changed;
        (void)state;
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_true(changed);
        assert_string_equal(cgroups_path(spec), "/kubepods/burstable/pod42/crio-" ID);
        json_object_put(spec);

        /* CRI-O without rootless mode leaves cgroupsPath in: never overridden. */
        spec = spec_of("{\"process\":{},\"linux\":{\"cgroupsPath\":\"/custom/x\"}}");
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_false(changed);
        assert_string_equal(cgroups_path(spec), "/custom/x");
        json_object_put(spec);

        /* No key at all, as some CRI-O versions write it. */
        spec = spec_of("{\"process\":{},\"linux\":{}}");
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_true(changed);
        assert_string_equal(cgroups_path(spec), "/kubepods/burstable/pod42/crio-" ID);
        json_object_put(spec);
}

static void test_no_parent_leaves_the_spec_as_it_was(void **state) {
        json_object *spec = spec_of("{\"process\":{},\"linux\":{\"cgroupsPath\":\"\"}}");
        struct oci_fixup fix = { .container_id = ID };
        bool changed = true, present;
        (void)state;
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_false(changed);
        assert_string_equal(cgroups_path(spec), "");
        oom_score(spec, &present);
        assert_false(present);
        json_object_put(spec);
}

static void test_ids_that_could_leave_the_cgroup_are_refused(void **state) {
        static const char *const bad[] = { "", "..", "a/b", "x y" };
        bool changed;
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *spec = spec_of("{\"process\":{},\"linux\":{\"cgroupsPath\":\"\"}}");
                struct oci_fixup fix = { .container_id = bad[i], .cgroup_parent = "/kubepods/pod1" };
                assert_int_equal(oci_spec_fixup(spec, &fix, &changed), -EINVAL);
                assert_false(changed);
                json_object_put(spec);
        }
}

static void test_oom_score_is_written_into_the_process(void **state) {
        json_object *spec = spec_of("{\"process\":{\"args\":[\"sh\"]},\"linux\":{}}");
        struct oci_fixup fix = { .container_id = ID, .have_oom_score = true, .oom_score = 200 };
        bool changed, present;
        (void)state;
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_true(changed);
        assert_int_equal(oom_score(spec, &present), 200);
        assert_true(present);
        /* The same value again: nothing to write. */
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), 0);
        assert_false(changed);
        json_object_put(spec);
}

static void test_a_document_that_is_no_oci_spec_is_refused(void **state) {
        json_object *spec = spec_of("{\"linux\":{}}");
        struct oci_fixup fix = { .container_id = ID, .cgroup_parent = "/kubepods/pod1" };
        bool changed;
        (void)state;
        assert_int_equal(oci_spec_fixup(spec, &fix, &changed), -EINVAL);
        json_object_put(spec);
}

static void test_sandbox_and_annotations_are_read(void **state) {
        json_object *spec = spec_of("{\"annotations\":{\"" CRIO_ANNOTATION_CONTAINER_TYPE
                                    "\":\"sandbox\",\"" CRIO_ANNOTATION_CGROUP_PARENT
                                    "\":\"/kubepods/pod1\"},\"process\":{},\"linux\":{}}");
        (void)state;
        assert_true(oci_spec_is_sandbox(spec));
        assert_string_equal(oci_spec_annotation(spec, CRIO_ANNOTATION_CGROUP_PARENT), "/kubepods/pod1");
        assert_null(oci_spec_annotation(spec, CRIO_ANNOTATION_SANDBOX_ID));
        json_object_put(spec);
        spec = spec_of("{\"annotations\":{\"" CRIO_ANNOTATION_CONTAINER_TYPE "\":\"container\"}}");
        assert_false(oci_spec_is_sandbox(spec));
        json_object_put(spec);
}

static void test_create_command_lines_of_conmon_and_crio_are_parsed(void **state) {
        const char *bundle = NULL, *id = NULL;
        (void)state;
        /* conmon: runtime [--systemd-cgroup] RUNTIME_ARGS... create --bundle B --pid-file P ... ID */
        char *conmon[] = { "w",          "--root", "/run/crun",  "--log",
                           "/x/log",     "create", "--bundle",   "/b/" ID "/userdata",
                           "--pid-file", "/p",     "--no-pivot", ID };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(conmon), conmon, &bundle, &id), 1);
        assert_string_equal(bundle, "/b/" ID "/userdata");
        assert_string_equal(id, ID);

        char *eq[] = { "w", "--root=/r", "run", "--bundle=/bb", "-d", "--console-socket", "/s", "c1" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(eq), eq, &bundle, &id), 1);
        assert_string_equal(bundle, "/bb");
        assert_string_equal(id, "c1");

        char *cwd[] = { "w", "create", "c2" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(cwd), cwd, &bundle, &id), 1);
        assert_string_equal(bundle, ".");

        /* "create" as the value of a global option is not the command. */
        char *tricky[] = { "w", "--root", "create", "state", "c3" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(tricky), tricky, &bundle, &id), 0);
        char *other[] = { "w", "--root", "/r", "kill", ID, "TERM" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(other), other, &bundle, &id), 0);
        char *config[] = { "w", "create", "--config", "/elsewhere.json", "c4" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(config), config, &bundle, &id), 0);
        char *noid[] = { "w", "create", "--bundle", "/b" };
        assert_int_equal(oci_runtime_parse_create(ELEMENTSOF(noid), noid, &bundle, &id), 0);
}

static int read_own_oom_score(void) {
        int v = 0;
        FILE *f = fopen("/proc/self/oom_score_adj", "re");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &v), 1);
        fclose(f);
        return v;
}

static void write_own_oom_score(int v) {
        FILE *f = fopen("/proc/self/oom_score_adj", "we");
        assert_non_null(f);
        fprintf(f, "%d", v);
        fclose(f);
}

static void test_the_oom_floor_is_the_lowest_value_this_process_may_set(void **state) {
        int start = read_own_oom_score(), got = 0;
        (void)state;
        assert_int_equal(oom_score_lowest_allowed(OOM_SCORE_GUARANTEED, &got), 0);
        assert_true(got >= OOM_SCORE_GUARANTEED &&
                    got <= (start > OOM_SCORE_GUARANTEED ? start : OOM_SCORE_GUARANTEED));
        /* Lowest: one below is refused (unless it was the value asked for). */
        if (got > OOM_SCORE_GUARANTEED) {
                FILE *f = fopen("/proc/self/oom_score_adj", "we");
                assert_non_null(f);
                fprintf(f, "%d", got - 1);
                assert_int_not_equal(fclose(f), 0);
        }
        assert_int_equal(read_own_oom_score(), got);
        /* Above the current value: always allowed, taken as it is. */
        assert_int_equal(oom_score_lowest_allowed(OOM_SCORE_BEST_EFFORT, &got), 0);
        assert_int_equal(got, OOM_SCORE_BEST_EFFORT);
        assert_int_equal(read_own_oom_score(), OOM_SCORE_BEST_EFFORT);
        assert_int_equal(oom_score_lowest_allowed(-1001, &got), -EINVAL);
        write_own_oom_score(start);
}

static void test_only_the_wrapper_name_selects_wrapper_mode(void **state) {
        (void)state;
        assert_true(oci_runtime_wrapper_invoked(
                "/run/user/1000/usernode/n/oci-runtime/" OCI_RUNTIME_WRAPPER_NAME));
        assert_true(oci_runtime_wrapper_invoked(OCI_RUNTIME_WRAPPER_NAME));
        assert_false(oci_runtime_wrapper_invoked("/usr/bin/usernode"));
        assert_false(oci_runtime_wrapper_invoked("/x/" OCI_RUNTIME_WRAPPER_NAME "/usernode"));
        assert_false(oci_runtime_wrapper_invoked(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qos_class_from_the_pod_cgroup_gives_kubelets_oom_score),
                cmocka_unit_test(test_cgroup_parents_that_escape_or_are_slices_are_refused),
                cmocka_unit_test(test_an_empty_cgroups_path_becomes_the_pods_cgroup),
                cmocka_unit_test(test_no_parent_leaves_the_spec_as_it_was),
                cmocka_unit_test(test_ids_that_could_leave_the_cgroup_are_refused),
                cmocka_unit_test(test_oom_score_is_written_into_the_process),
                cmocka_unit_test(test_a_document_that_is_no_oci_spec_is_refused),
                cmocka_unit_test(test_sandbox_and_annotations_are_read),
                cmocka_unit_test(test_create_command_lines_of_conmon_and_crio_are_parsed),
                cmocka_unit_test(test_the_oom_floor_is_the_lowest_value_this_process_may_set),
                cmocka_unit_test(test_only_the_wrapper_name_selects_wrapper_mode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
