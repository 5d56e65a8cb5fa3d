/* event_loop.h: the event loop of usernode's long-lived processes (launcher, node init, the port
 * forwarder's workers): fds, timers, signals, child exits, inotify watches and deferred calls,
 * on epoll, signalfd, pidfd and inotify.
 *
 * Why not sd-event: it was this, but libsystemd is 0.8 MiB of text that needs five more
 * libraries (libgcrypt, libgpg-error, libzstd, liblzma, liblz4), all bound at load: mapping them
 * held 1.2 MiB of the launcher's idle RSS and, touched after the fork, 0.5 MiB of the node
 * init's (docs/DESIGN.md, issue 11). The subset usernode uses is small, so the calls keep
 * sd-event's shape and meaning (names without the sd_ prefix, the same arguments, the same
 * negative-errno returns), and libsystemd is opened only for the D-Bus calls of a start
 * (cgroup/sd_bus_dl.h).
 *
 * Semantics, as sd-event's:
 * - A source added with `ret` NULL is floating: the loop owns it and frees it with itself.
 *   Otherwise the caller holds the one reference and the source holds one on the loop.
 * - io, signal, child and inotify sources start EVENT_ON; time and defer sources
 *   EVENT_ONESHOT. A ONESHOT source is EVENT_OFF once dispatched.
 * - A handler that returns a negative errno has its source turned EVENT_OFF (logged at debug).
 * - A source may be unref'd or disabled from any handler, its own included; it is then not
 *   dispatched again, even if it was ready in the same iteration.
 * - event_loop_exit() ends event_loop_run() after the handler that called it: sources still
 *   pending in that iteration are not dispatched.
 * - Signals must be blocked (sigprocmask) before a signal source is added: -EBUSY otherwise.
 *   A signal source with a NULL handler exits the loop with (int)(intptr_t)userdata.
 * - A child source (WEXITED only) is dispatched once the child exited, with waitid()'s siginfo,
 *   before the child is reaped; the loop reaps it after the handler (unless the handler did)
 *   and turns the source EVENT_OFF. It watches a pidfd: SIGCHLD need not be handled.
 * - Time is CLOCK_MONOTONIC only, in microseconds; `accuracy` is accepted and ignored (a
 *   timer fires at its time, rounded up to the next millisecond of epoll's timeout).
 * - event_loop_now() is the time the current iteration woke up (the current time before the
 *   first); it returns 0.
 * A loop is not shared between threads: each worker thread runs its own. */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <time.h>

typedef struct event_loop event_loop;
typedef struct event_source event_source;

enum {
        EVENT_OFF = 0,
        EVENT_ON = 1,
        EVENT_ONESHOT = -1,
};

typedef int (*event_io_handler_t)(event_source *s, int fd, uint32_t revents, void *userdata);
typedef int (*event_time_handler_t)(event_source *s, uint64_t usec, void *userdata);
typedef int (*event_signal_handler_t)(event_source *s, const struct signalfd_siginfo *si, void *userdata);
typedef int (*event_child_handler_t)(event_source *s, const siginfo_t *si, void *userdata);
typedef int (*event_inotify_handler_t)(event_source *s, const struct inotify_event *event, void *userdata);
typedef int (*event_handler_t)(event_source *s, void *userdata);

int event_loop_new(event_loop **ret);
event_loop *event_loop_ref(event_loop *e);
event_loop *event_loop_unref(event_loop *e);

/* Runs until event_loop_exit(); returns its code, or a negative errno if waiting failed. */
int event_loop_run(event_loop *e);
/* One iteration: waits at most timeout_usec (UINT64_MAX: no bound) for something to dispatch,
 * dispatches what is ready. Returns 1 if something was dispatched, 0 if not, 0 once exiting, or a
 * negative errno. */
int event_loop_run_once(event_loop *e, uint64_t timeout_usec);
int event_loop_exit(event_loop *e, int code);
int event_loop_now(event_loop *e, clockid_t clock, uint64_t *usec);
/* Under systemd with WatchdogSec= ($WATCHDOG_USEC, $WATCHDOG_PID ours or unset): sends
 * WATCHDOG=1 (common/notify.h) at half the interval while the loop runs. Returns 1 if on, 0 if
 * no watchdog was asked for, or a negative errno. */
int event_loop_set_watchdog(event_loop *e, int b);

int event_add_io(event_loop *e, event_source **ret, int fd, uint32_t events, event_io_handler_t callback,
                 void *userdata);
/* `usec`: absolute, on `clock`. */
int event_add_time(event_loop *e, event_source **ret, clockid_t clock, uint64_t usec, uint64_t accuracy,
                   event_time_handler_t callback, void *userdata);
/* `usec`: from now. */
int event_add_time_relative(event_loop *e, event_source **ret, clockid_t clock, uint64_t usec,
                            uint64_t accuracy, event_time_handler_t callback, void *userdata);
int event_add_signal(event_loop *e, event_source **ret, int sig, event_signal_handler_t callback,
                     void *userdata);
int event_add_child(event_loop *e, event_source **ret, pid_t pid, int options,
                    event_child_handler_t callback, void *userdata);
int event_add_inotify(event_loop *e, event_source **ret, const char *path, uint32_t mask,
                      event_inotify_handler_t callback, void *userdata);
int event_add_defer(event_loop *e, event_source **ret, event_handler_t callback, void *userdata);

/* Both return NULL. disable_unref turns the source EVENT_OFF first (the same thing for a last
 * reference; kept for the call sites that read as "stop this"). */
event_source *event_source_unref(event_source *s);
event_source *event_source_disable_unref(event_source *s);
int event_source_set_enabled(event_source *s, int enabled);
int event_source_set_io_events(event_source *s, uint32_t events);
/* A time source's absolute time; its enabled state is left as it is. */
int event_source_set_time(event_source *s, uint64_t usec);
int event_source_set_description(event_source *s, const char *description);
event_loop *event_source_get_event(event_source *s);

static inline void event_loop_unrefp(event_loop **e) {
        if (*e)
                event_loop_unref(*e);
}
static inline void event_source_unrefp(event_source **s) {
        if (*s)
                event_source_unref(*s);
}
static inline void event_source_disable_unrefp(event_source **s) {
        if (*s)
                event_source_disable_unref(*s);
}
