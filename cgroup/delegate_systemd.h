/* delegate_systemd.h: asking the user's systemd manager (sd-bus) for a delegated cgroup, as
 * `systemd-run --user --scope -p Delegate=yes` does, and asking whether we already have one. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "cgroup/cgroup_decide.h"

/* Connects to the user's bus ($DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus) and checks that
 * the systemd manager answers there. Returns 0, or a negative errno when it does not (logged at
 * debug), libsystemd.so.0 missing included. The connection holds a reference on the library
 * (cgroup/sd_bus_dl.h): its sd_bus_dl functions may be called on it until
 * delegate_systemd_disconnect(). */
int delegate_systemd_connect(sd_bus **ret);

/* Flushes, closes and frees the connection, then drops its reference on libsystemd, which the
 * last one unmaps: every message and slot of the connection must be unref'd before. NULL is a
 * no-op. Returns NULL. */
sd_bus *delegate_systemd_disconnect(sd_bus *bus);
static inline void delegate_systemd_disconnectp(sd_bus **bus) {
        delegate_systemd_disconnect(*bus);
}

/* Whether the unit holding `pid` under this manager has Delegate=yes; CGROUP_OWN_UNIT_UNKNOWN when
 * no unit of this manager holds it. */
int delegate_systemd_own_unit(sd_bus *bus, pid_t pid, enum cgroup_own_unit *ret);

/* Asks for the transient scope `unit` (e.g. "usernode-foo.scope") with Delegate=yes holding
 * `pid`, without waiting for systemd to start it: the caller goes on with its own work, then
 * waits with delegate_systemd_scope_wait(). `timeout_ms` bounds the whole of it, from now.
 * Takes over `bus` on every return: the request's free() disconnects it (on failure, this does),
 * so that freeing the request is what closes libsystemd. */
struct scope_request;
int delegate_systemd_scope_request(sd_bus *bus, const char *unit, pid_t pid, unsigned timeout_ms,
                                   struct scope_request **ret);

/* Waits, at most until the request's deadline, for the scope's start job to finish. On return 0
 * `pid` is in the scope's cgroup; -EEXIST when a unit of that name is already active. Logged. */
int delegate_systemd_scope_wait(struct scope_request *req);

/* Frees the request, waited for or not, and disconnects its bus; returns NULL. A scope asked for
 * and not waited for is systemd's to start, and to collect once its processes are gone. */
struct scope_request *delegate_systemd_scope_request_free(struct scope_request *req);
