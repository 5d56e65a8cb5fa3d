/* cgroup_decide.h: which delegation a node gets, from what discovery found. Pure logic, no I/O,
 * so every branch is covered by unit tests. */
#pragma once

#include <stdbool.h>

#include "cgroup/cgroup_fs.h"
#include "cgroup/cgroup_node.h"

/* What systemd says about the launcher's own unit. */
enum cgroup_own_unit {
        CGROUP_OWN_UNIT_UNKNOWN, /* no systemd user manager to ask, or not one of its units */
        CGROUP_OWN_UNIT_PLAIN, /* a unit of the user manager without Delegate=yes */
        CGROUP_OWN_UNIT_DELEGATED, /* a unit with Delegate=yes */
};

struct cgroup_decision {
        enum cgroup_delegation delegation;
        char *reason; /* degraded only: why, in words for "cgroups: none (REASON)" */
};

void cgroup_decision_done(struct cgroup_decision *d);

/* Decides per options->mode. `systemd_reachable`: the user's systemd manager answers on its bus.
 * Never fails for lack of delegation (that is a degraded decision with a reason); -ENOMEM only. */
int cgroup_decide(const struct cgroup_options *options, const struct cgroup_discovery *found,
                  bool systemd_reachable, enum cgroup_own_unit own_unit, struct cgroup_decision *ret);
