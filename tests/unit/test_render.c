/* test_render.c: the rendered crio.conf, kubelet config and CNI conflist match the golden files
 * in tests/golden/ (regenerate with UPDATE_GOLDEN=1 after a deliberate change, then review the
 * diff), and rendering rejects what it cannot express. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

#define GOLDEN_DIR "tests/golden"

static void settings_fixture(struct node_settings *s) {
        assert_int_equal(node_settings_init(s, "golden", "/run/user/1000/usernode/golden",
                                            "/home/alice/.local/share/usernode/golden",
                                            "/home/alice/.config/usernode", NULL),
                         0);
}

static char *cni_plugin_dirs[] = { (char *)"/usr/lib/cni", NULL };

static struct host_tools tools_fixture(bool native_overlay) {
        return (struct host_tools){
                .crio = (char *)"/usr/bin/crio",
                .kubelet = (char *)"/usr/bin/kubelet",
                .conmon = (char *)"/usr/bin/conmon",
                .pinns = (char *)"/usr/bin/pinns",
                .runtime_name = (char *)"crun",
                .runtime_path = (char *)"/usr/bin/crun",
                .fuse_overlayfs = native_overlay ? NULL : (char *)"/usr/bin/fuse-overlayfs",
                .native_overlay = native_overlay,
                .cni_plugin_dirs = cni_plugin_dirs,
        };
}

static void assert_golden(const char *name, const char *text) {
        _cleanup_free_ char *path = NULL, *expected = NULL;
        assert_true(asprintf(&path, "%s/%s", GOLDEN_DIR, name) > 0);
        if (getenv("UPDATE_GOLDEN")) {
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fputs(text, f);
                fclose(f);
        }
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s (run from the repository's top directory)", path);
        size_t size = 0;
        FILE *m = open_memstream(&expected, &size);
        int c;
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(f);
        fclose(m);
        if (strcmp(expected, text) != 0)
                fail_msg("%s differs from the rendered text:\n%s", path, text);
}

static void test_crio_conf_matches_golden_with_native_overlay(void **state) {
        (void)state;
        struct node_settings s;
        struct host_tools t = tools_fixture(true);
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(render_crio_conf(&s, &t, &text), 0);
        assert_golden("crio.conf", text);
        node_settings_done(&s);
}

static void test_crio_conf_uses_fuse_overlayfs_when_native_overlay_fails(void **state) {
        (void)state;
        struct node_settings s;
        struct host_tools t = tools_fixture(false);
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(render_crio_conf(&s, &t, &text), 0);
        assert_golden("crio-fuse-overlayfs.conf", text);
        node_settings_done(&s);
}

static void test_kubelet_config_matches_golden_standalone(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_golden("kubelet.yaml", text);
        node_settings_done(&s);
}

static void test_kubelet_config_without_delegated_cgroups_matches_golden(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        s.cgroups_delegated = false;
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_golden("kubelet-degraded.yaml", text);
        node_settings_done(&s);
}

/* Where kubelet cannot measure the data directory (local_storage.h), and only there. */
static void test_kubelet_config_without_local_storage_isolation(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_non_null(strstr(text, "\nlocalStorageCapacityIsolation: true\n"));
        free(text);
        text = NULL;
        s.local_storage_isolation = false;
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_non_null(strstr(text, "\nlocalStorageCapacityIsolation: false\n"));
        node_settings_done(&s);
}

static void test_kubelet_config_uses_webhook_auth_with_kubeconfig(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(settings_set(&s.kubeconfig, "/home/alice/.kube/config"), 0);
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_non_null(strstr(text, "  mode: Webhook\n"));
        assert_non_null(strstr(text, "    enabled: true\n"));
        node_settings_done(&s);
}

/* Joined through discovery: the cluster CA for 10250, the cluster's DNS, certificate rotation. */
static void test_kubelet_config_of_a_joined_node_matches_golden(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(
                settings_set(&s.kubeconfig, "/home/alice/.local/share/usernode/golden/kubelet/kubeconfig"),
                0);
        assert_int_equal(
                settings_set(&s.bootstrap_kubeconfig,
                             "/home/alice/.local/share/usernode/golden/cluster/bootstrap-kubeconfig"),
                0);
        assert_int_equal(
                settings_set(&s.cluster_ca_file, "/home/alice/.local/share/usernode/golden/cluster/ca.crt"),
                0);
        assert_int_equal(settings_set(&s.cluster_dns, "10.96.0.10, fd00:10:96::a"), 0);
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_golden("kubelet-joined.yaml", text);
        node_settings_done(&s);
}

static void test_kube_proxy_config_matches_golden(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(
                settings_set(&s.kubeconfig, "/home/alice/.local/share/usernode/golden/kubelet/kubeconfig"),
                0);
        assert_int_equal(settings_set(&s.kubelet_hostname, "laptop-golden"), 0);
        assert_int_equal(render_kube_proxy_config(&s, &text), 0);
        assert_golden("kube-proxy.yaml", text);
        node_settings_done(&s);
}

static void test_cni_conflist_matches_golden(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(render_cni_conflist(&s, &text), 0);
        assert_golden("10-usernode.conflist", text);
        node_settings_done(&s);
}

static void test_cni_conflist_rejects_a_bad_subnet(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(settings_set(&s.cni_subnet, "10.88.0.0"), 0);
        assert_int_equal(render_cni_conflist(&s, &text), -EINVAL);
        assert_int_equal(settings_set(&s.cni_subnet, "10.88.0.0/31"), 0);
        assert_int_equal(render_cni_conflist(&s, &text), -EINVAL);
        node_settings_done(&s);
}

static void test_paths_with_quotes_are_escaped(void **state) {
        (void)state;
        struct node_settings s;
        _cleanup_free_ char *text = NULL;
        settings_fixture(&s);
        assert_int_equal(settings_set(&s.static_pod_path, "/tmp/a\"b\\c"), 0);
        assert_int_equal(render_kubelet_config(&s, &text), 0);
        assert_non_null(strstr(text, "staticPodPath: \"/tmp/a\\\"b\\\\c\"\n"));
        node_settings_done(&s);
}

static void test_template_reports_a_placeholder_without_value(void **state) {
        (void)state;
        const struct template_var vars[] = { { "A", "1" } };
        _cleanup_free_ char *out = NULL, *missing = NULL;
        assert_int_equal(template_render("x=@A@ y=@B@ mail@host", vars, 1, &out, &missing), -ENOENT);
        assert_string_equal(missing, "B");
        assert_int_equal(template_render("x=@A@ mail@host @ @@", vars, 1, &out, NULL), 0);
        assert_string_equal(out, "x=1 mail@host @ @@");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crio_conf_matches_golden_with_native_overlay),
                cmocka_unit_test(test_crio_conf_uses_fuse_overlayfs_when_native_overlay_fails),
                cmocka_unit_test(test_kubelet_config_matches_golden_standalone),
                cmocka_unit_test(test_kubelet_config_without_delegated_cgroups_matches_golden),
                cmocka_unit_test(test_kubelet_config_without_local_storage_isolation),
                cmocka_unit_test(test_kubelet_config_uses_webhook_auth_with_kubeconfig),
                cmocka_unit_test(test_kubelet_config_of_a_joined_node_matches_golden),
                cmocka_unit_test(test_kube_proxy_config_matches_golden),
                cmocka_unit_test(test_cni_conflist_matches_golden),
                cmocka_unit_test(test_cni_conflist_rejects_a_bad_subnet),
                cmocka_unit_test(test_paths_with_quotes_are_escaped),
                cmocka_unit_test(test_template_reports_a_placeholder_without_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
