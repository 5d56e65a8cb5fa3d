/* test_images.c: the names images get from their archive or layout, skopeo's storage reference,
 * and the list read from containers/storage's images.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/macro.h"
#include "launcher/services/images.h"
#include "tests/unit/scratch_dir.h"

static char dir[] = "/tmp/usernode-images-XXXXXX";

static int setup(void **state) {
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        return scratch_dir_remove(dir);
}

static void put(const char *name, const char *text) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(mkdir_parents(path, 0755), 0);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_the_stem_drops_suffixes_and_the_tag(void **state) {
        static const struct {
                const char *path, *tag, *stem;
        } cases[] = {
                { "/x/pause-3.10-local-oci", "3.10-local", "pause" },
                { "/x/busybox.tar", "latest", "busybox" },
                { "/x/My App.oci.tar", NULL, "my-app" },
                { "/x/app-1.2.oci", "1.2", "app" },
                { "/x/3.10", "3.10", "3.10" }, /* nothing would be left: the tag stays */
        };
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *stem = image_stem(cases[i].path, cases[i].tag);
                assert_non_null(stem);
                assert_string_equal(stem, cases[i].stem);
                free(stem);
        }
}

static void test_docker_archives_keep_their_repo_tags(void **state) {
        struct image_source src = { .path = strdup("/i/app.tar"), .kind = IMAGE_DOCKER_ARCHIVE };
        (void)state;
        assert_int_equal(
                image_refs_from_docker_manifest(
                        "[{\"Config\":\"c.json\",\"RepoTags\":[\"busybox:latest\",\"example.org/b:1\"]},"
                        "{\"Config\":\"d.json\",\"RepoTags\":null}]",
                        &src),
                0);
        assert_int_equal(src.n_refs, 3);
        assert_string_equal(src.refs[0].source, "docker-archive:/i/app.tar:busybox:latest");
        assert_string_equal(src.refs[0].name, "busybox:latest");
        assert_string_equal(src.refs[1].name, "example.org/b:1");
        /* Untagged: picked by index, named after the file. */
        assert_string_equal(src.refs[2].source, "docker-archive:/i/app.tar:@1");
        assert_string_equal(src.refs[2].name, "localhost/app:latest");
        image_source_done(&src);
}

static void test_oci_layouts_are_named_by_annotation_ref_or_file(void **state) {
        struct image_source src = { .path = strdup("/i/pause-3.10-local-oci"), .kind = IMAGE_OCI_DIR };
        (void)state;
        assert_int_equal(
                image_refs_from_oci_index(
                        "{\"schemaVersion\":2,\"manifests\":["
                        "{\"annotations\":{\"org.opencontainers.image.ref.name\":\"3.10-local\"}},"
                        "{\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.org/x/y:2\"}},"
                        "{\"annotations\":{\"org.opencontainers.image.ref.name\":\"v3\",\"io.containerd."
                        "image.name\":"
                        "\"example.org/z:v3\"}},"
                        "{\"digest\":\"sha256:unnamed\"}]}",
                        &src),
                0);
        assert_int_equal(src.n_refs, 3); /* the unnamed one among several cannot be picked */
        assert_string_equal(src.refs[0].source, "oci:/i/pause-3.10-local-oci:3.10-local");
        assert_string_equal(src.refs[0].name, "localhost/pause:3.10-local");
        assert_string_equal(src.refs[1].name, "example.org/x/y:2");
        assert_string_equal(src.refs[2].source, "oci:/i/pause-3.10-local-oci:v3");
        assert_string_equal(src.refs[2].name, "example.org/z:v3");
        image_source_done(&src);

        src = (struct image_source){ .path = strdup("/i/solo.oci.tar"), .kind = IMAGE_OCI_ARCHIVE };
        assert_int_equal(image_refs_from_oci_index("{\"manifests\":[{\"digest\":\"sha256:a\"}]}", &src), 0);
        assert_int_equal(src.n_refs, 1);
        assert_string_equal(src.refs[0].source, "oci-archive:/i/solo.oci.tar");
        assert_string_equal(src.refs[0].name, "localhost/solo:latest");
        image_source_done(&src);
}

static void test_malformed_indexes_are_refused(void **state) {
        struct image_source src = { .path = strdup("/i/x"), .kind = IMAGE_OCI_DIR };
        (void)state;
        assert_int_equal(image_refs_from_oci_index("{\"manifests\":{}}", &src), -EBADMSG);
        assert_int_equal(image_refs_from_oci_index("[", &src), -EBADMSG);
        assert_int_equal(image_refs_from_docker_manifest("{}", &src), -EBADMSG);
        assert_int_equal(src.n_refs, 0);
        image_source_done(&src);
}

static void test_a_layout_directory_is_read_and_named_or_renamed(void **state) {
        char path[512];
        struct image_source src;
        (void)state;
        put("busybox-oci/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        put("busybox-oci/index.json",
            "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.36\"}}]}");
        snprintf(path, sizeof(path), "%s/busybox-oci", dir);
        assert_int_equal(image_source_read(path, NULL, &src), 0);
        assert_int_equal(src.kind, IMAGE_OCI_DIR);
        assert_string_equal(src.refs[0].name, "localhost/busybox:1.36");
        image_source_done(&src);
        assert_int_equal(image_source_read(path, "localhost/bb:test", &src), 0);
        assert_string_equal(src.refs[0].name, "localhost/bb:test");
        image_source_done(&src);

        /* A directory that is no layout. */
        put("plain/readme", "x");
        snprintf(path, sizeof(path), "%s/plain", dir);
        assert_int_equal(image_source_read(path, NULL, &src), -EINVAL);
}

static void test_an_archive_is_told_apart_by_what_it_holds(void **state) {
        char cmd[1024], path[512];
        struct image_source src;
        (void)state;
        put("d/manifest.json", "[{\"RepoTags\":[\"busybox:latest\"]}]");
        put("o/oci-layout", "{}");
        put("o/index.json",
            "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"7\"}}]}");
        snprintf(cmd, sizeof(cmd),
                 "tar -C %s/d -cf %s/docker.tar manifest.json && tar -C %s/o -cf %s/app.tar .", dir, dir,
                 dir, dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/docker.tar", dir);
        assert_int_equal(image_source_read(path, NULL, &src), 0);
        assert_int_equal(src.kind, IMAGE_DOCKER_ARCHIVE);
        assert_string_equal(src.refs[0].name, "busybox:latest");
        image_source_done(&src);
        snprintf(path, sizeof(path), "%s/app.tar", dir);
        assert_int_equal(image_source_read(path, NULL, &src), 0);
        assert_int_equal(src.kind, IMAGE_OCI_ARCHIVE);
        assert_string_equal(src.refs[0].name, "localhost/app:7");
        image_source_done(&src);
        /* Any other file. */
        assert_int_equal(image_source_read(__FILE__, NULL, &src) < 0, 1);
}

static void test_the_storage_reference_is_crios_root_and_runroot(void **state) {
        struct node_settings s = { .data_dir = "/d/node", .state_dir = "/s/node" };
        struct host_tools t = {};
        char *spec = NULL;
        (void)state;
        assert_int_equal(images_storage_spec(&s, &t, &spec), 0);
        assert_string_equal(spec, "[overlay@/d/node/containers/storage+/s/node/containers/storage]");
        free(spec);
        t.fuse_overlayfs = "/usr/bin/fuse-overlayfs";
        assert_int_equal(images_storage_spec(&s, &t, &spec), 0);
        assert_string_equal(spec,
                            "[overlay@/d/node/containers/storage+/s/node/containers/storage:overlay.mount_"
                            "program=/usr/bin/fuse-overlayfs]");
        free(spec);
        s.data_dir = "/d/a+b";
        assert_int_equal(images_storage_spec(&s, &t, &spec), -EINVAL);
}

static void test_the_list_comes_from_images_json(void **state) {
        char root[512];
        json_object *list = NULL;
        (void)state;
        snprintf(root, sizeof(root), "%s/storage", dir);
        assert_int_equal(images_list(root, &list), 0); /* no storage yet */
        assert_int_equal(json_object_array_length(list), 0);
        json_object_put(list);
        put("storage/overlay-images/images.json",
            "[{\"id\":\"abc\",\"names\":[\"localhost/"
            "pause:3.10-local\"],\"layer\":\"l\",\"created\":\"2026-01-01T00:"
            "00:00Z\"}]");
        assert_int_equal(images_list(root, &list), 0);
        assert_int_equal(json_object_array_length(list), 1);
        json_object *image = json_object_array_get_idx(list, 0), *v;
        assert_true(json_object_object_get_ex(image, "names", &v));
        assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                            "localhost/pause:3.10-local");
        assert_false(json_object_object_get_ex(image, "layer", &v));
        json_object_put(list);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_stem_drops_suffixes_and_the_tag),
                cmocka_unit_test(test_docker_archives_keep_their_repo_tags),
                cmocka_unit_test(test_oci_layouts_are_named_by_annotation_ref_or_file),
                cmocka_unit_test(test_malformed_indexes_are_refused),
                cmocka_unit_test(test_a_layout_directory_is_read_and_named_or_renamed),
                cmocka_unit_test(test_an_archive_is_told_apart_by_what_it_holds),
                cmocka_unit_test(test_the_storage_reference_is_crios_root_and_runroot),
                cmocka_unit_test(test_the_list_comes_from_images_json),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
