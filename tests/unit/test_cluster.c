/* test_cluster.c: the pieces of a join's discovery that need no server: bootstrap tokens, CA
 * hash lists, and the detached JWS of cluster-info (the vector was made with the openssl CLI:
 * HMAC-SHA256 keyed with the token secret over HEADER.base64url(CONTENT)). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "launcher/cluster/bootstrap_token.h"
#include "launcher/cluster/ca_pin.h"
#include "launcher/cluster/cluster_join.h"
#include "launcher/cluster/jws.h"

#define JWS "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..nfv9AT0Rwd1ujYEJLG-hOOZLaeT4V-_vSYtkd9uZtx8"

static void test_token_is_six_and_sixteen_of_lowercase_and_digits(void **state) {
        struct bootstrap_token t;
        (void)state;
        assert_int_equal(bootstrap_token_parse("abcdef.0123456789abcdef", &t), 0);
        assert_string_equal(t.id, "abcdef");
        assert_string_equal(t.secret, "0123456789abcdef");
        assert_int_equal(bootstrap_token_parse("ABCDEF.0123456789abcdef", &t), -EINVAL);
        assert_int_equal(bootstrap_token_parse("abcdef:0123456789abcdef", &t), -EINVAL);
        assert_int_equal(bootstrap_token_parse("abcdef.0123456789abcde", &t), -EINVAL);
        assert_int_equal(bootstrap_token_parse("abcdef.0123456789abcdef0", &t), -EINVAL);
        assert_int_equal(bootstrap_token_parse("", &t), -EINVAL);
}

static void test_ca_hashes_are_sha256_and_64_hex_digits_in_a_list(void **state) {
        struct ca_pins pins;
        const char *a = "sha256:00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        (void)state;
        assert_int_equal(ca_pins_parse(a, &pins), 0);
        assert_int_equal(pins.n, 1);
        assert_int_equal(pins.sha256[0][31], 0xff);
        char two[200];
        snprintf(two, sizeof(two), "%s, %s", a, a);
        assert_int_equal(ca_pins_parse(two, &pins), 0);
        assert_int_equal(pins.n, 2);
        assert_int_equal(ca_pins_parse("sha256:1234", &pins), -EINVAL);
        assert_int_equal(ca_pins_parse("md5:00112233445566778899aabbccddeeff", &pins), -EINVAL);
        assert_int_equal(ca_pins_parse("", &pins), -EINVAL);
        assert_int_equal(ca_pins_validate(""), 0);
}

static void test_jws_signed_with_the_secret_verifies(void **state) {
        (void)state;
        assert_int_equal(jws_detached_verify(JWS, "hello kubeconfig", "abcdef", "0123456789abcdef"), 0);
}

static void test_jws_with_another_secret_or_content_is_rejected(void **state) {
        (void)state;
        assert_int_equal(jws_detached_verify(JWS, "hello kubeconfig", "abcdef", "ffffffffffffffff"),
                         -EKEYREJECTED);
        assert_int_equal(jws_detached_verify(JWS, "hello kubeconfiG", "abcdef", "0123456789abcdef"),
                         -EKEYREJECTED);
}

static void test_jws_for_another_key_id_or_not_detached_is_malformed(void **state) {
        (void)state;
        assert_int_equal(jws_detached_verify(JWS, "hello kubeconfig", "zzzzzz", "0123456789abcdef"),
                         -EBADMSG);
        assert_int_equal(
                jws_detached_verify("eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9.aGVsbG8ga3ViZWNvbmZpZw."
                                    "nfv9AT0Rwd1ujYEJLG-hOOZLaeT4V-_vSYtkd9uZtx8",
                                    "hello kubeconfig", "abcdef", "0123456789abcdef"),
                -EBADMSG);
        assert_int_equal(jws_detached_verify("", "x", "abcdef", "0123456789abcdef"), -EBADMSG);
        assert_int_equal(jws_detached_verify("..", "x", "abcdef", "0123456789abcdef"), -EBADMSG);
}

static void test_server_is_https_host_and_port_only(void **state) {
        (void)state;
        assert_int_equal(cluster_server_validate("https://10.0.0.1:6443"), 0);
        assert_int_equal(cluster_server_validate("https://cp.example:6443/"), 0);
        assert_int_equal(cluster_server_validate("https://[fd00::1]:6443"), 0);
        assert_int_equal(cluster_server_validate("http://10.0.0.1:6443"), -EINVAL);
        assert_int_equal(cluster_server_validate("https://10.0.0.1:6443/api"), -EINVAL);
        assert_int_equal(cluster_server_validate("https://user@10.0.0.1:6443"), -EINVAL);
        assert_int_equal(cluster_server_validate("10.0.0.1:6443"), -EINVAL);
}

/* The host and port curl's URL parser finds in TEXT ("HOST PORT"), or "" when it refuses TEXT. */
static void curl_host_port(const char *text, char *out, size_t size) {
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL;
        out[0] = '\0';
        if (u && curl_url_set(u, CURLUPART_URL, text, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
                snprintf(out, size, "%s %s", host, port);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
}

/* The launcher checks the server without curl (it maps no libcurl): whatever it accepts, curl
 * (which the cluster program dials with) parses, to the host and port the text spells. */
static void test_server_check_accepts_nothing_curl_refuses(void **state) {
        static const struct {
                const char *url;
                const char *host_port; /* NULL: refused */
        } cases[] = {
                { "https://10.0.0.1:6443", "10.0.0.1 6443" },
                { "https://10.0.0.1", "10.0.0.1 443" },
                { "https://cp.example:6443/", "cp.example 6443" },
                { "https://CP-1.Example_x:1", "CP-1.Example_x 1" },
                { "https://[fd00::1]:6443", "[fd00::1] 6443" },
                { "https://[::ffff:10.0.0.1]:65535/", "[::ffff:10.0.0.1] 65535" },
                { "https://cp:0", NULL },
                { "https://cp:65536", NULL },
                { "https://cp:", NULL },
                { "https://cp:64x", NULL },
                { "https://", NULL },
                { "https:///", NULL },
                { "https://:6443", NULL },
                { "https://[]:6443", NULL },
                { "https://[fd00::1:6443", NULL },
                { "https://[zz::1]:6443", NULL },
                { "https://[fe80::1%25eth0]:6443", NULL },
                { "https://cp%2e:6443", NULL },
                { "https://cp?x=1", NULL },
                { "https://cp#x", NULL },
                { "https://cp:6443//", NULL },
                { "https://a b:6443", NULL },
                { "https://cp\\x", NULL },
                { "https://-cp", NULL },
                { "HTTPS://cp", NULL },
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char curl[600];
                int r = cluster_server_validate(cases[i].url);
                if (r != (cases[i].host_port ? 0 : -EINVAL))
                        fail_msg("%s: %d", cases[i].url, r);
                if (r < 0)
                        continue;
                curl_host_port(cases[i].url, curl, sizeof(curl));
                if (strcmp(curl, cases[i].host_port) != 0)
                        fail_msg("%s: curl finds \"%s\"", cases[i].url, curl);
        }
}

static void test_node_names_and_domains_are_dns_1123(void **state) {
        (void)state;
        assert_int_equal(cluster_join_validate_domain("worker-7.example"), 0);
        assert_int_equal(cluster_join_validate_domain("Worker"), -EINVAL);
        assert_int_equal(cluster_join_validate_domain("a_b"), -EINVAL);
        assert_int_equal(cluster_join_validate_domain("-a"), -EINVAL);
        assert_int_equal(cluster_join_validate_domain("a-"), -EINVAL);
        assert_int_equal(cluster_join_validate_domain("a..b"), -EINVAL);
        assert_int_equal(cluster_join_validate_domain(""), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_token_is_six_and_sixteen_of_lowercase_and_digits),
                cmocka_unit_test(test_ca_hashes_are_sha256_and_64_hex_digits_in_a_list),
                cmocka_unit_test(test_jws_signed_with_the_secret_verifies),
                cmocka_unit_test(test_jws_with_another_secret_or_content_is_rejected),
                cmocka_unit_test(test_jws_for_another_key_id_or_not_detached_is_malformed),
                cmocka_unit_test(test_server_is_https_host_and_port_only),
                cmocka_unit_test(test_server_check_accepts_nothing_curl_refuses),
                cmocka_unit_test(test_node_names_and_domains_are_dns_1123),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
