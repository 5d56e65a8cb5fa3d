/* delegate_systemd.c: the transient scope from the user's systemd (see delegate_systemd.h). */
#include "cgroup/delegate_systemd.h"

#include <assert.h>
#include <string.h>
#include <time.h>

#include "cgroup/sd_bus_dl.h"
#include "common/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

sd_bus *delegate_systemd_disconnect(sd_bus *bus) {
        if (!bus)
                return NULL;
        sd_bus_dl.flush_close_unref(bus);
        sd_bus_dl_close(); /* the reference delegate_systemd_connect() took with this bus */
        return NULL;
}

int delegate_systemd_connect(sd_bus **ret) {
        _cleanup_(delegate_systemd_disconnectp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Opened for this connection and closed with it (sd_bus_dl.h): a host without
         * libsystemd is one where the user's systemd does not answer. */
        r = sd_bus_dl_open();
        if (r < 0)
                return r; /* logged */
        r = sd_bus_dl.open_user(&bus);
        if (r < 0) {
                sd_bus_dl_close(); /* no bus to hold the reference */
                return log_debug_errno(r, "cgroups: cannot connect to the user's bus: %m");
        }
        /* The bus may be there while the manager is not (a dbus-daemon without systemd). */
        r = sd_bus_dl.call_method(bus, SD_DEST, SD_PATH, "org.freedesktop.DBus.Peer", "Ping", &error, NULL,
                                  "");
        if (r < 0) {
                log_debug_errno(r, "cgroups: systemd user manager does not answer: %s",
                                error.message ? error.message : "?");
                sd_bus_dl.error_free(&error);
                return r;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

int delegate_systemd_own_unit(sd_bus *bus, pid_t pid, enum cgroup_own_unit *ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        _cleanup_free_ char *id = NULL;
        const char *path, *interface;
        int delegate = 0, r;

        assert(bus);
        assert(ret);

        r = sd_bus_dl.call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitByPID", &error, &reply, "u",
                                  (uint32_t)pid);
        if (r < 0) {
                /* Not under this manager (a login session, a system service): whether the cgroup is ours
                 * is then for its ownership to say, e.g. a system unit with User= and Delegate=yes. */
                log_debug("cgroups: no user unit holds pid %d: %s", (int)pid,
                          error.message ? error.message : "?");
                sd_bus_dl.error_free(&error);
                *ret = CGROUP_OWN_UNIT_UNKNOWN;
                return 0;
        }
        r = sd_bus_dl.message_read(reply, "o", &path);
        if (r < 0)
                goto finish;
        r = sd_bus_dl.get_property_string(bus, SD_DEST, path, "org.freedesktop.systemd1.Unit", "Id", &error,
                                          &id);
        if (r < 0)
                goto finish;
        /* Delegate= exists on units that own processes: services, scopes, sockets, mounts, swaps. */
        const char *dot = strrchr(id, '.');
        interface = !dot                           ? NULL
                    : strcmp(dot, ".service") == 0 ? "org.freedesktop.systemd1.Service"
                    : strcmp(dot, ".scope") == 0   ? "org.freedesktop.systemd1.Scope"
                                                   : NULL;
        if (interface) {
                r = sd_bus_dl.get_property_trivial(bus, SD_DEST, path, interface, "Delegate", &error, 'b',
                                                   &delegate);
                if (r < 0)
                        goto finish;
        }
        log_debug("cgroups: the launcher runs in %s, Delegate=%s", id, delegate ? "yes" : "no");
        *ret = delegate ? CGROUP_OWN_UNIT_DELEGATED : CGROUP_OWN_UNIT_PLAIN;
        r = 0;
finish:
        if (r < 0)
                log_debug_errno(r, "cgroups: cannot ask systemd about pid %d: %s", (int)pid,
                                error.message ? error.message : "%m");
        sd_bus_dl.error_free(&error);
        sd_bus_dl.message_unref(reply);
        return r;
}

struct job_wait {
        const char *job; /* the object path of our job, once known */
        char *result; /* "done", "failed", ... when it finished */
        char *early_job; /* JobRemoved seen before we knew our job's path */
        char *early_result;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct job_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        (void)error;

        if (sd_bus_dl.message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job ? strcmp(path, w->job) == 0 : !w->early_job) {
                char **slot_job = w->job ? NULL : &w->early_job;
                char **slot_result = w->job ? &w->result : &w->early_result;
                if (slot_job)
                        *slot_job = strdup(path);
                *slot_result = strdup(result);
        }
        return 0;
}

static long long now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int append_properties(sd_bus_message *m, const char *unit, pid_t pid) {
        int r = sd_bus_dl.message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_dl.message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", unit, "PIDs", "au", 1,
                                     (uint32_t)pid, "Delegate", "b", 1, "CollectMode", "s",
                                     "inactive-or-failed");
        if (r < 0)
                return r;
        r = sd_bus_dl.message_close_container(m);
        if (r < 0)
                return r;
        /* No auxiliary units. */
        return sd_bus_dl.message_append(m, "a(sa(sv))", 0);
}

struct scope_request {
        sd_bus *bus; /* the caller's connection, taken over: free() disconnects it */
        char *unit;
        sd_bus_slot *match_slot; /* JobRemoved */
        sd_bus_slot *call_slot; /* StartTransientUnit's answer */
        sd_bus_message *reply; /* its answer, once in */
        struct job_wait wait;
        long long deadline; /* CLOCK_MONOTONIC, usec */
};

struct scope_request *delegate_systemd_scope_request_free(struct scope_request *req) {
        if (!req)
                return NULL;
        sd_bus_dl.slot_unref(req->call_slot);
        sd_bus_dl.slot_unref(req->match_slot);
        sd_bus_dl.message_unref(req->reply);
        /* Last: the messages and slots above are the library's, and this may close it. */
        delegate_systemd_disconnect(req->bus);
        free(req->unit);
        free(req->wait.result);
        free(req->wait.early_job);
        free(req->wait.early_result);
        free(req);
        return NULL;
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct scope_request *req = userdata;
        (void)error;
        req->reply = sd_bus_dl.message_ref(m);
        return 0;
}

int delegate_systemd_scope_request(sd_bus *bus, const char *unit, pid_t pid, unsigned timeout_ms,
                                   struct scope_request **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        struct scope_request *req;
        int r;

        assert(bus);
        assert(unit);

        req = calloc(1, sizeof(*req));
        if (!req || !(req->unit = strdup(unit))) {
                free(req);
                delegate_systemd_disconnect(bus);
                return -ENOMEM;
        }
        req->bus = bus;
        req->deadline = now_usec() + timeout_ms * 1000LL;

        /* Subscribe to JobRemoved before starting: the job may finish before the call returns. */
        r = sd_bus_dl.match_signal(bus, &req->match_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                   on_job_removed, &req->wait);
        if (r < 0)
                goto finish;
        r = sd_bus_dl.call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &error, NULL, "");
        if (r < 0 && !sd_bus_dl.error_has_name(&error, "org.freedesktop.systemd1.AlreadySubscribed"))
                goto finish;

        r = sd_bus_dl.message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r < 0)
                goto finish;
        r = sd_bus_dl.message_append(m, "ss", unit, "fail");
        if (r < 0)
                goto finish;
        r = append_properties(m, unit, pid);
        if (r < 0)
                goto finish;
        /* Not waited for here: the caller has work of its own while systemd starts the scope. */
        r = sd_bus_dl.call_async(bus, &req->call_slot, m, on_start_reply, req, timeout_ms * 1000ULL);
finish:
        sd_bus_dl.error_free(&error);
        sd_bus_dl.message_unref(m);
        if (r < 0) {
                delegate_systemd_scope_request_free(req);
                return r;
        }
        *ret = req;
        return 0;
}

/* The answer to StartTransientUnit: 0 with our job's path in req->wait.job, or the error. */
static int read_start_reply(struct scope_request *req) {
        const sd_bus_error *error = sd_bus_dl.message_get_error(req->reply);
        if (error) {
                int r = sd_bus_dl.error_has_name(error, "org.freedesktop.systemd1.UnitExists") ? -EEXIST
                        : sd_bus_dl.error_get_errno(error) > 0 ? -sd_bus_dl.error_get_errno(error)
                                                               : -EIO;
                return log_error_errno(r, "cgroups: systemd refused the scope %s: %s", req->unit,
                                       error->message ? error->message : "?");
        }
        int r = sd_bus_dl.message_read(req->reply, "o", &req->wait.job);
        if (r < 0)
                return log_error_errno(r, "cgroups: systemd's answer for %s is not a job: %m", req->unit);
        if (req->wait.early_job && strcmp(req->wait.early_job, req->wait.job) == 0)
                req->wait.result = TAKE_PTR(req->wait.early_result);
        return 0;
}

int delegate_systemd_scope_wait(struct scope_request *req) {
        int r;

        assert(req);
        while (!req->wait.job || !req->wait.result) {
                if (req->reply && !req->wait.job) {
                        r = read_start_reply(req);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sd_bus_dl.process(req->bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "cgroups: lost the user's systemd while it started %s: %m",
                                               req->unit);
                if (r > 0)
                        continue;
                long long left = req->deadline - now_usec();
                if (left <= 0)
                        return log_error_errno(ETIMEDOUT, "cgroups: systemd did not start %s in time",
                                               req->unit);
                r = sd_bus_dl.wait(req->bus, (uint64_t)left);
                if (r < 0)
                        return log_error_errno(r, "cgroups: lost the user's systemd while it started %s: %m",
                                               req->unit);
        }
        if (strcmp(req->wait.result, "done") != 0)
                return log_error_errno(
                        EIO, "cgroups: systemd could not start %s: job %s (journalctl --user -u %s)",
                        req->unit, req->wait.result, req->unit);
        return 0;
}
