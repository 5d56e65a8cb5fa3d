/* delegate_systemd.h: asking the user's systemd manager (sd-bus) for a delegated cgroup, as
 * `systemd-run --user --scope -p Delegate=yes` does, and asking whether we already have one. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "cgroup/cgroup_decide.h"

/* Connects to the user's bus ($DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus) and checks that
 * the systemd manager answers there. Returns 0, or a negative errno when it does not. */
int delegate_systemd_connect(sd_bus **ret);

/* Whether the unit holding `pid` under this manager has Delegate=yes; CGROUP_OWN_UNIT_UNKNOWN when
 * no unit of this manager holds it. */
int delegate_systemd_own_unit(sd_bus *bus, pid_t pid, enum cgroup_own_unit *ret);

/* Starts the transient scope `unit` (e.g. "usernode-foo.scope") with Delegate=yes holding `pid`,
 * and waits, at most `timeout_ms`, for its start job to finish. On return 0 `pid` is in the
 * scope's cgroup. -EEXIST when a unit of that name is already active. */
int delegate_systemd_start_scope(sd_bus *bus, const char *unit, pid_t pid, unsigned timeout_ms);
