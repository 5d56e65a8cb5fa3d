/* test_cgroup_decide.c: which delegation a node gets, per [cgroup] delegate and what the host has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup_decide.h"
#include "cgroup/cgroup_node.h"
#include "launcher/config/config_schema.h"

#define OWN "/sys/fs/cgroup/user.slice/user-1000.slice/session-1.scope"

static struct cgroup_discovery unified(bool own_writable) {
        return (struct cgroup_discovery){
                .layout = CGROUP_LAYOUT_UNIFIED,
                .mount = (char *)"/sys/fs/cgroup",
                .own = (char *)OWN,
                .own_writable = own_writable,
        };
}

/* Decides and returns the delegation; *reason gets the degraded reason (or NULL). */
static enum cgroup_delegation decide(enum cgroup_mode mode, struct cgroup_discovery found, bool systemd,
                                     enum cgroup_own_unit own_unit, char **reason) {
        struct cgroup_options options = { .mode = mode };
        struct cgroup_decision d;
        assert_int_equal(cgroup_decide(&options, &found, systemd, own_unit, &d), 0);
        *reason = d.reason;
        return d.delegation;
}

static void test_auto_uses_an_existing_delegate_yes_unit(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(true), true, CGROUP_OWN_UNIT_DELEGATED, &reason),
                         CGROUP_DELEGATION_EXISTING);
        assert_null(reason);
}

static void test_auto_asks_systemd_when_the_own_cgroup_is_not_ours(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(false), true, CGROUP_OWN_UNIT_PLAIN, &reason),
                         CGROUP_DELEGATION_SYSTEMD);
}

static void test_auto_does_not_take_a_user_unit_without_delegate(void **state) {
        char *reason;
        (void)state;
        /* Owned by the user because the user's manager made it, but systemd manages it: ask for a scope. */
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(true), true, CGROUP_OWN_UNIT_PLAIN, &reason),
                         CGROUP_DELEGATION_SYSTEMD);
}

static void test_auto_without_systemd_uses_an_owned_cgroup(void **state) {
        char *reason;
        (void)state;
        /* A container or a host without systemd that chowned the cgroup to us. */
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(true), false, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_EXISTING);
}

static void test_auto_uses_a_cgroup_the_system_manager_delegated(void **state) {
        char *reason;
        (void)state;
        /* A system unit with User= and Delegate=yes: not the user manager's, but chowned to us. */
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(true), true, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_EXISTING);
}

static void test_auto_without_delegation_or_systemd_is_degraded(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_AUTO, unified(false), false, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_non_null(strstr(reason, OWN " is not delegated to this user"));
        assert_non_null(strstr(reason, "no systemd user manager"));
        free(reason);
}

static void test_hybrid_host_is_degraded(void **state) {
        struct cgroup_discovery found = { .layout = CGROUP_LAYOUT_HYBRID };
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_AUTO, found, true, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_string_equal(reason, "cgroup v2 is not mounted: hybrid host");
        free(reason);
}

static void test_v1_host_is_degraded(void **state) {
        struct cgroup_discovery found = { .layout = CGROUP_LAYOUT_LEGACY };
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_SYSTEMD, found, true, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_string_equal(reason, "cgroup v2 is not mounted: cgroup v1 host");
        free(reason);
}

static void test_no_cgroupfs_is_degraded(void **state) {
        struct cgroup_discovery found = { .layout = CGROUP_LAYOUT_NONE };
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_AUTO, found, false, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_string_equal(reason, "no cgroup file system is mounted");
        free(reason);
}

static void test_mode_none_is_degraded_on_purpose(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_NONE, unified(true), true, CGROUP_OWN_UNIT_DELEGATED, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_string_equal(reason, "disabled by [cgroup] delegate = none");
        free(reason);
}

static void test_mode_systemd_ignores_an_existing_delegation(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(
                decide(CGROUP_MODE_SYSTEMD, unified(true), true, CGROUP_OWN_UNIT_DELEGATED, &reason),
                CGROUP_DELEGATION_SYSTEMD);
}

static void test_mode_systemd_without_systemd_is_degraded(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_SYSTEMD, unified(true), false, CGROUP_OWN_UNIT_UNKNOWN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_non_null(strstr(reason, "no systemd user manager is reachable"));
        free(reason);
}

static void test_mode_existing_never_asks_systemd(void **state) {
        char *reason;
        (void)state;
        assert_int_equal(decide(CGROUP_MODE_EXISTING, unified(false), true, CGROUP_OWN_UNIT_PLAIN, &reason),
                         CGROUP_DELEGATION_NONE);
        assert_non_null(strstr(reason, "Delegate=yes"));
        free(reason);
}

static void test_mode_names_round_trip(void **state) {
        (void)state;
        for (int m = 0; m < _CGROUP_MODE_MAX; m++)
                assert_int_equal(cgroup_mode_from_string(cgroup_mode_to_string((enum cgroup_mode)m)), m);
        assert_int_equal(cgroup_mode_from_string("yes"), _CGROUP_MODE_INVALID);
        assert_int_equal(cgroup_mode_from_string(NULL), _CGROUP_MODE_INVALID);
}

static void test_every_delegate_value_of_the_schema_is_a_mode(void **state) {
        const struct config_key *k = config_schema_find("cgroup", "delegate");
        (void)state;
        assert_non_null(k);
        assert_int_not_equal(cgroup_mode_from_string(k->default_value), _CGROUP_MODE_INVALID);
        for (const char *const *v = k->values; *v; v++)
                assert_int_not_equal(cgroup_mode_from_string(*v), _CGROUP_MODE_INVALID);
}

static void test_degraded_node_describes_itself(void **state) {
        struct cgroup_node node = CGROUP_NODE_NULL;
        (void)state;
        assert_string_equal(cgroup_node_describe(&node), "cgroups: not set up");
        /* Every other call is a no-op without delegation. */
        assert_int_equal(cgroup_node_attach(&node, 1), 0);
        assert_int_equal(cgroup_node_kill(&node), 0);
        assert_int_equal(cgroup_node_remove(&node), 0);
}

static void test_a_node_whose_prepare_failed_early_is_safe_to_stop(void **state) {
        /* Delegation decided, then systemd refused the scope: no path to kill or remove. */
        struct cgroup_node node = { .delegation = CGROUP_DELEGATION_SYSTEMD };
        (void)state;
        assert_int_equal(cgroup_node_kill(&node), 0);
        assert_int_equal(cgroup_node_remove(&node), 0);
        cgroup_node_done(&node);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auto_uses_an_existing_delegate_yes_unit),
                cmocka_unit_test(test_auto_asks_systemd_when_the_own_cgroup_is_not_ours),
                cmocka_unit_test(test_auto_does_not_take_a_user_unit_without_delegate),
                cmocka_unit_test(test_auto_without_systemd_uses_an_owned_cgroup),
                cmocka_unit_test(test_auto_uses_a_cgroup_the_system_manager_delegated),
                cmocka_unit_test(test_auto_without_delegation_or_systemd_is_degraded),
                cmocka_unit_test(test_hybrid_host_is_degraded),
                cmocka_unit_test(test_v1_host_is_degraded),
                cmocka_unit_test(test_no_cgroupfs_is_degraded),
                cmocka_unit_test(test_mode_none_is_degraded_on_purpose),
                cmocka_unit_test(test_mode_systemd_ignores_an_existing_delegation),
                cmocka_unit_test(test_mode_systemd_without_systemd_is_degraded),
                cmocka_unit_test(test_mode_existing_never_asks_systemd),
                cmocka_unit_test(test_mode_names_round_trip),
                cmocka_unit_test(test_every_delegate_value_of_the_schema_is_a_mode),
                cmocka_unit_test(test_degraded_node_describes_itself),
                cmocka_unit_test(test_a_node_whose_prepare_failed_early_is_safe_to_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
