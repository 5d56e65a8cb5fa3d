/* cgroup_node.c: the node's delegated subtree, step by step (see cgroup_node.h for the layout). */
#include "cgroup/cgroup_node.h"

#include <assert.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup/cgroup_decide.h"
#include "cgroup/cgroup_fs.h"
#include "cgroup/delegate_systemd.h"
#include "common/log.h"

/* Bounds: systemd answers a StartTransientUnit in milliseconds; a killed subtree empties in less. */
#define CGROUP_SCOPE_TIMEOUT_MS 30000
#define CGROUP_KILL_TIMEOUT_MS 10000

static const char *const mode_names[_CGROUP_MODE_MAX] = {
        [CGROUP_MODE_AUTO] = "auto",
        [CGROUP_MODE_SYSTEMD] = "systemd",
        [CGROUP_MODE_EXISTING] = "existing",
        [CGROUP_MODE_NONE] = "none",
};

const char *cgroup_mode_to_string(enum cgroup_mode mode) {
        return mode >= 0 && mode < _CGROUP_MODE_MAX ? mode_names[mode] : NULL;
}

enum cgroup_mode cgroup_mode_from_string(const char *s) {
        for (int i = 0; s && i < _CGROUP_MODE_MAX; i++)
                if (strcmp(s, mode_names[i]) == 0)
                        return (enum cgroup_mode)i;
        return _CGROUP_MODE_INVALID;
}

void cgroup_node_done(struct cgroup_node *node) {
        free(node->degraded_reason);
        free(node->group);
        free(node->node_path);
        free(node->scope);
        free(node->controllers);
        free(node->missing);
        free(node->description);
        free(node->mount);
        delegate_systemd_scope_request_free(node->scope_request);
        *node = CGROUP_NODE_NULL;
}

/* Unit names allow more, but a node name that needs escaping is refused earlier anyway. */
static bool node_name_valid(const char *name) {
        if (!name || !*name || strlen(name) > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p))
                        return false;
        return true;
}

static int describe(struct cgroup_node *node) {
        char *d;
        int r;

        free(node->description);
        node->description = NULL;
        if (node->delegation == CGROUP_DELEGATION_NONE)
                r = asprintf(&d, "cgroups: none (%s)", node->degraded_reason ? node->degraded_reason : "?");
        else
                r = asprintf(&d, "cgroups: %s (%s%s; controllers: %s%s%s%s)", node->node_path,
                             node->scope ? "systemd scope " : "delegated unit",
                             node->scope ? node->scope : "", *node->controllers ? node->controllers : "none",
                             *node->missing ? "; missing: " : "", node->missing,
                             *node->missing
                                     ? ", fix: as root put \"[Service] Delegate=" CGROUP_WANTED_CONTROLLERS
                                       "\" in " CGROUP_DROPIN_PATH ", systemctl daemon-reload, log in again"
                                     : "");
        if (r < 0)
                return -ENOMEM;
        node->description = d;
        return 0;
}

/* No delegation: a warning and a description, or the error when cgroups are required. */
static int go_degraded(const struct cgroup_options *options, struct cgroup_node *node, char *reason) {
        node->delegation = CGROUP_DELEGATION_NONE;
        node->degraded_reason = reason;
        if (describe(node) < 0)
                return -ENOMEM;
        if (options->require)
                return log_error_errno(EOPNOTSUPP,
                                       "%s, and [cgroup] require = true; set require = false to run without "
                                       "resource limits",
                                       node->description);
        log_full_errno(options->quiet ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING, 0,
                       "%s; the node runs without resource limits", node->description);
        return 0;
}

/* Ask systemd for usernode-NAME.scope holding us, without waiting for it (finish_scope()).
 * Takes over `bus`: the request holds it until finish_scope() or cgroup_node_done() frees it. */
static int request_scope(sd_bus *bus, const char *node_name, struct cgroup_node *node) {
        if (asprintf(&node->scope, "usernode-%s.scope", node_name) < 0) {
                node->scope = NULL;
                delegate_systemd_disconnect(bus);
                return -ENOMEM;
        }
        int r = delegate_systemd_scope_request(bus, node->scope, getpid(), CGROUP_SCOPE_TIMEOUT_MS,
                                               &node->scope_request);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot ask the user's systemd for %s: %m", node->scope);
        return 0;
}

/* Wait for the scope of request_scope(); node->group becomes G, the scope's cgroup. */
static int finish_scope(struct cgroup_node *node) {
        _cleanup_free_ char *own = NULL;
        int r = delegate_systemd_scope_wait(node->scope_request);
        /* Whatever the answer: the last connection goes, and libsystemd with it, before the
         * node init is cloned (it must not inherit the mapping). */
        node->scope_request = delegate_systemd_scope_request_free(node->scope_request);
        if (r == -EEXIST)
                return log_error_errno(
                        r,
                        "cgroups: %s already exists (left from an earlier run?); stop it with "
                        "systemctl --user stop %s",
                        node->scope, node->scope);
        if (r < 0)
                return r; /* logged */
        r = cgroup_fs_own_path("/proc/self/cgroup", &own);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot read /proc/self/cgroup: %m");
        node->group = cgroup_path_join(node->mount, own);
        return node->group ? 0 : -ENOMEM;
}

/* G/launcher holds everything that was in G; G/node is created empty; controllers enabled in G. */
static int build_subtree(struct cgroup_node *node) {
        _cleanup_free_ char *launcher = NULL, *available = NULL;
        int r;

        launcher = cgroup_path_join(node->group, "launcher");
        node->node_path = cgroup_path_join(node->group, "node");
        if (!launcher || !node->node_path)
                return -ENOMEM;

        if (mkdir(launcher, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "cgroups: cannot create %s: %m", launcher);
        /* cgroup v2 enables controllers only for children of a cgroup that holds no process itself. */
        r = cgroup_fs_move_all(node->group, launcher);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot move the processes of %s to %s: %m", node->group,
                                       launcher);

        /* A G/node left by a launcher that was killed: nothing may still run in it. */
        r = cgroup_fs_is_populated(node->node_path);
        if (r > 0)
                return log_error_errno(EBUSY,
                                       "cgroups: %s still holds processes; is the node running already?",
                                       node->node_path);
        r = cgroup_fs_remove(node->node_path);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot remove the stale %s: %m", node->node_path);
        if (mkdir(node->node_path, 0755) < 0)
                return log_error_errno(errno, "cgroups: cannot create %s: %m", node->node_path);

        r = cgroup_fs_read(node->group, "cgroup.controllers", &available);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot read %s/cgroup.controllers: %m", node->group);
        r = cgroup_fs_enable(node->group, available, &node->controllers);
        if (r < 0)
                return r;
        return cgroup_list_missing(node->controllers, CGROUP_WANTED_CONTROLLERS, &node->missing);
}

/* What prepare() decides, without acting on it. Discovery failing is a degraded decision. */
static int discover_and_decide(const struct cgroup_options *options, struct cgroup_discovery *found,
                               sd_bus **bus, struct cgroup_decision *decision) {
        struct cgroup_host host = cgroup_host_real();
        enum cgroup_own_unit own_unit = CGROUP_OWN_UNIT_UNKNOWN;

        if (options->mode != CGROUP_MODE_NONE) {
                int r = cgroup_discover(&host, found);
                if (r < 0) {
                        decision->delegation = CGROUP_DELEGATION_NONE;
                        return asprintf(&decision->reason, "cannot read the cgroup of this process: %s",
                                        strerror(-r)) < 0
                                       ? -ENOMEM
                                       : 0;
                }
        }
        if (found->layout == CGROUP_LAYOUT_UNIFIED && options->mode != CGROUP_MODE_EXISTING &&
            delegate_systemd_connect(bus) >= 0)
                (void)delegate_systemd_own_unit(*bus, getpid(), &own_unit);
        return cgroup_decide(options, found, !!*bus, own_unit, decision);
}

int cgroup_node_predict(const struct cgroup_options *options, bool *ret_delegated) {
        _cleanup_(cgroup_discovery_done) struct cgroup_discovery found = {};
        _cleanup_(cgroup_decision_done) struct cgroup_decision decision = {};
        _cleanup_(delegate_systemd_disconnectp) sd_bus *bus = NULL;
        int r = discover_and_decide(options, &found, &bus, &decision);
        if (r < 0)
                return r;
        *ret_delegated = decision.delegation != CGROUP_DELEGATION_NONE;
        return 0;
}

int cgroup_node_begin(const struct cgroup_options *options, const char *node_name, struct cgroup_node *ret) {
        _cleanup_(cgroup_discovery_done) struct cgroup_discovery found = {};
        _cleanup_(cgroup_decision_done) struct cgroup_decision decision = {};
        _cleanup_(delegate_systemd_disconnectp) sd_bus *bus = NULL;
        int r;

        assert(options);
        assert(ret);

        *ret = CGROUP_NODE_NULL;
        if (!node_name_valid(node_name))
                return log_error_errno(EINVAL, "cgroups: node name \"%s\" is not usable in a unit name",
                                       node_name ? node_name : "");

        r = discover_and_decide(options, &found, &bus, &decision);
        if (r < 0)
                return r;
        if (decision.delegation == CGROUP_DELEGATION_NONE)
                return go_degraded(options, ret, TAKE_PTR(decision.reason));

        ret->delegation = decision.delegation;
        if (decision.delegation == CGROUP_DELEGATION_SYSTEMD) {
                ret->mount = TAKE_PTR(found.mount); /* for finish(): G is known once we are in it */
                return request_scope(TAKE_PTR(bus), node_name, ret);
        }
        ret->group = strdup(found.own);
        return ret->group ? 0 : -ENOMEM;
}

int cgroup_node_finish(const struct cgroup_options *options, struct cgroup_node *node) {
        int r;

        assert(options);
        assert(node);
        if (node->delegation == CGROUP_DELEGATION_NONE)
                return 0; /* degraded: begin() said so */
        if (node->scope_request) {
                r = finish_scope(node);
                if (r < 0)
                        return r;
        }
        r = build_subtree(node);
        if (r < 0)
                return r;
        r = describe(node);
        if (r < 0)
                return r;
        if (*node->missing)
                log_full_errno(options->quiet ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING, 0,
                               "cgroups: controllers %s are not delegated to this user; kubelet needs them. "
                               "As root: mkdir -p " CGROUP_DROPIN_DIR
                               " && printf '[Service]\\nDelegate=" CGROUP_WANTED_CONTROLLERS
                               "\\n' >" CGROUP_DROPIN_PATH " && systemctl daemon-reload, then log in again",
                               node->missing);
        log_debug("%s", node->description);
        return 0;
}

int cgroup_node_prepare(const struct cgroup_options *options, const char *node_name,
                        struct cgroup_node *ret) {
        int r = cgroup_node_begin(options, node_name, ret);
        return r < 0 ? r : cgroup_node_finish(options, ret);
}

int cgroup_node_attach(struct cgroup_node *node, pid_t init_pid) {
        int r;

        assert(node);
        if (node->delegation == CGROUP_DELEGATION_NONE || !node->node_path) /* degraded, or failed early */
                return 0;
        r = cgroup_fs_move(node->node_path, init_pid);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot move the node init (pid %d) to %s: %m",
                                       (int)init_pid, node->node_path);
        return 0;
}

int cgroup_node_kill(struct cgroup_node *node) {
        int r;

        assert(node);
        if (node->delegation == CGROUP_DELEGATION_NONE || !node->node_path) /* degraded, or failed early */
                return 0;
        r = cgroup_fs_kill(node->node_path, CGROUP_KILL_TIMEOUT_MS);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot kill the processes of %s: %m", node->node_path);
        return 0;
}

int cgroup_node_remove(struct cgroup_node *node) {
        int r;

        assert(node);
        if (node->delegation == CGROUP_DELEGATION_NONE || !node->node_path) /* degraded, or failed early */
                return 0;
        r = cgroup_fs_remove(node->node_path);
        if (r < 0)
                return log_error_errno(r, "cgroups: cannot remove %s: %m", node->node_path);
        return 0;
}

const char *cgroup_node_describe(const struct cgroup_node *node) {
        assert(node);
        return node->description ? node->description : "cgroups: not set up";
}
