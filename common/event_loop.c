/* event_loop.c: the event loop of the long-lived processes, sd-event's subset on epoll
 * (event_loop.h has the semantics and says why it is not sd-event): the sources' life, the
 * iteration, and the io, time and defer sources. Signal, child and inotify sources are in
 * event_loop_kernel_sources.c, the watchdog in event_loop_watchdog.c.
 *
 * An iteration waits in epoll_wait() (its timeout: the earliest timer's, 0 with a defer source
 * on), then collects everything ready into the loop's pending array (epoll's sources, the due
 * timers in time order, the enabled defers) and dispatches that array in order. A source that is
 * disabled or freed meanwhile is taken out of the array, so it is never dispatched after that.
 * The handler of a source runs with `dispatching` set: an unref of its last reference from there
 * disconnects it at once (out of epoll, so its fd may be closed right away) and the memory is
 * freed when the handler returns, as sd-event does. */
#include "common/event_loop.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/event_loop_internal.h"
#include "common/event_timer_heap.h"
#include "common/log.h"
#include "common/macro.h"

#define EPOLL_EVENTS_PER_WAIT 64
#define IO_EVENTS_VALID (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLERR | EPOLLHUP | EPOLLET)

static uint64_t monotonic_usec(void) {
        struct timespec ts;
        /* CLOCK_MONOTONIC cannot fail with a valid timespec. */
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static const char *source_name(const event_source *s) {
        static const char *const names[] = {
                [SOURCE_IO] = "io",
                [SOURCE_TIME] = "time",
                [SOURCE_SIGNAL] = "signal",
                [SOURCE_CHILD] = "child",
                [SOURCE_INOTIFY] = "inotify",
                [SOURCE_DEFER] = "defer",
                [SOURCE_SIGNALFD] = "signalfd",
        };
        return s->description ? s->description : names[s->type];
}

/* The fd a source keeps in epoll, or -EBADF for the types that are not in epoll. */
static int source_epoll_fd(const event_source *s) {
        switch (s->type) {
        case SOURCE_IO:
                return s->io.fd;
        case SOURCE_CHILD:
                return s->child.pidfd;
        case SOURCE_INOTIFY:
                return s->inotify.fd;
        case SOURCE_SIGNALFD:
                return s->signalfd.fd;
        default:
                return -EBADF;
        }
}

static int source_epoll_ctl(event_source *s, int op) {
        struct epoll_event ev = {
                .events = s->type == SOURCE_IO ? s->io.events : EPOLLIN,
                .data.ptr = s,
        };
        return epoll_ctl(s->loop->epoll_fd, op, source_epoll_fd(s), &ev) < 0 ? -errno : 0;
}

static void source_unpend(event_source *s) {
        if (s->pending_index == PENDING_NONE)
                return;
        s->loop->pending[s->pending_index] = NULL;
        s->pending_index = PENDING_NONE;
}

static int loop_pending_push(event_loop *e, event_source *s) {
        if (e->n_pending == e->allocated_pending) {
                size_t allocated = e->allocated_pending ? e->allocated_pending * 2 : 64;
                event_source **pending = reallocarray(e->pending, allocated, sizeof(*pending));
                if (!pending)
                        return -ENOMEM;
                e->pending = pending;
                e->allocated_pending = allocated;
        }
        s->pending_index = e->n_pending;
        e->pending[e->n_pending++] = s;
        return 0;
}

static void defer_link(event_loop *e, event_source *s) {
        s->defer.prev = e->defers_tail;
        s->defer.next = NULL;
        if (e->defers_tail)
                e->defers_tail->defer.next = s;
        else
                e->defers_head = s;
        e->defers_tail = s;
}

static void defer_unlink(event_loop *e, event_source *s) {
        if (s->defer.prev)
                s->defer.prev->defer.next = s->defer.next;
        else
                e->defers_head = s->defer.next;
        if (s->defer.next)
                s->defer.next->defer.prev = s->defer.prev;
        else
                e->defers_tail = s->defer.prev;
        s->defer.prev = s->defer.next = NULL;
}

/* From EVENT_OFF to on: into epoll, the timer heap, the signal mask or the defer list. */
static int source_online(event_source *s) {
        event_loop *e = s->loop;
        int r;

        switch (s->type) {
        case SOURCE_TIME:
                return timer_heap_insert(&e->timers, &s->time.entry);
        case SOURCE_DEFER:
                defer_link(e, s);
                return 0;
        case SOURCE_SIGNAL:
                sigaddset(&e->signal_mask, s->signal.sig);
                r = loop_update_signalfd(e);
                if (r < 0)
                        sigdelset(&e->signal_mask, s->signal.sig);
                return r;
        default:
                return source_epoll_ctl(s, EPOLL_CTL_ADD);
        }
}

/* From on to EVENT_OFF; also out of this iteration's pending sources. */
static void source_offline(event_source *s) {
        event_loop *e = s->loop;
        int r;

        source_unpend(s);
        switch (s->type) {
        case SOURCE_TIME:
                if (timer_heap_entry_queued(&s->time.entry))
                        timer_heap_remove(&e->timers, &s->time.entry);
                break;
        case SOURCE_DEFER:
                defer_unlink(e, s);
                break;
        case SOURCE_SIGNAL:
                /* Out of the mask, as in sd-event: a disabled source does not take its signal
                 * from whoever else waits for it. */
                sigdelset(&e->signal_mask, s->signal.sig);
                r = loop_update_signalfd(e);
                if (r < 0)
                        log_debug_errno(r, "Failed to remove signal %d from the signalfd: %m",
                                        s->signal.sig);
                break;
        default:
                /* Fails only for an fd the caller closed already: then it has left epoll. */
                (void)source_epoll_ctl(s, EPOLL_CTL_DEL);
                break;
        }
}

int event_source_set_enabled(event_source *s, int enabled) {
        assert(s);
        assert(enabled == EVENT_OFF || enabled == EVENT_ON || enabled == EVENT_ONESHOT);

        if (!s->loop) /* unref'd from its own handler: only turning it off is meaningful */
                return enabled == EVENT_OFF ? 0 : -ESTALE;
        if ((s->enabled != EVENT_OFF) == (enabled != EVENT_OFF)) {
                s->enabled = enabled;
                return 0;
        }
        if (enabled == EVENT_OFF) {
                source_offline(s);
        } else {
                int r = source_online(s);
                if (r < 0)
                        return r;
        }
        s->enabled = enabled;
        return 0;
}

event_source *source_new(event_loop *e, bool floating, enum source_type type, void *userdata) {
        event_source *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        *s = (event_source){
                .loop = e,
                .type = type,
                .n_ref = 1,
                .enabled = EVENT_OFF,
                .floating = floating,
                .pending_index = PENDING_NONE,
                .seq = e->next_seq++,
                .userdata = userdata,
        };
        if (!floating)
                event_loop_ref(e);
        if (type != SOURCE_SIGNALFD) {
                s->sources_next = e->sources;
                if (e->sources)
                        e->sources->sources_prev = s;
                e->sources = s;
        }
        return s;
}

/* Takes the source out of its loop: off, out of the signal table and the loop's list, and the
 * reference it held on the loop dropped. Its own fds stay open until source_free(): a child is
 * reaped through its pidfd after a handler that unref'd its source. */
static void source_disconnect(event_source *s) {
        event_loop *e = s->loop;
        if (!e)
                return;

        (void)event_source_set_enabled(s, EVENT_OFF);
        if (s->type == SOURCE_SIGNAL)
                e->signal_sources[s->signal.sig] = NULL;
        if (s->type != SOURCE_SIGNALFD) {
                if (s->sources_prev)
                        s->sources_prev->sources_next = s->sources_next;
                else
                        e->sources = s->sources_next;
                if (s->sources_next)
                        s->sources_next->sources_prev = s->sources_prev;
        }
        if (e->watchdog == s)
                e->watchdog = NULL;
        s->loop = NULL;
        if (!s->floating)
                event_loop_unref(e);
}

void source_free(event_source *s) {
        source_disconnect(s);
        int fd = s->type == SOURCE_CHILD      ? s->child.pidfd
                 : s->type == SOURCE_INOTIFY  ? s->inotify.fd
                 : s->type == SOURCE_SIGNALFD ? s->signalfd.fd
                                              : -EBADF;
        if (fd >= 0)
                close(fd);
        free(s->description);
        free(s);
}

event_source *event_source_unref(event_source *s) {
        if (!s)
                return NULL;
        assert(s->n_ref > 0);
        if (--s->n_ref > 0)
                return NULL;
        /* From its own handler: disconnected now, freed once the handler returns. */
        if (s->dispatching)
                source_disconnect(s);
        else
                source_free(s);
        return NULL;
}

event_source *event_source_disable_unref(event_source *s) {
        if (!s)
                return NULL;
        (void)event_source_set_enabled(s, EVENT_OFF);
        return event_source_unref(s);
}

/* Hands a new source to the caller or, with ret NULL, leaves it floating in the loop. */
int source_enable_and_return(event_source *s, int enabled, event_source **ret) {
        int r = event_source_set_enabled(s, enabled);
        if (r < 0) {
                source_free(s);
                return r;
        }
        if (ret)
                *ret = s;
        return 0;
}

int event_loop_new(event_loop **ret) {
        assert(ret);

        event_loop *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->n_ref = 1;
        sigemptyset(&e->signal_mask);
        e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (e->epoll_fd < 0) {
                int r = -errno;
                free(e);
                return r;
        }
        *ret = e;
        return 0;
}

event_loop *event_loop_ref(event_loop *e) {
        if (!e)
                return NULL;
        assert(e->n_ref > 0);
        e->n_ref++;
        return e;
}

static void loop_free(event_loop *e) {
        /* Only floating sources are left: each other one holds a reference on the loop. The
         * signalfd goes last, the signal sources update its mask on their way out. */
        while (e->sources)
                source_free(e->sources);
        if (e->signalfd_source)
                source_free(e->signalfd_source);
        timer_heap_done(&e->timers);
        free(e->pending);
        close(e->epoll_fd);
        free(e);
}

event_loop *event_loop_unref(event_loop *e) {
        if (!e)
                return NULL;
        assert(e->n_ref > 0);
        if (--e->n_ref == 0)
                loop_free(e);
        return NULL;
}

int event_loop_exit(event_loop *e, int code) {
        assert(e);
        e->exit_requested = true;
        e->exit_code = code;
        return 0;
}

int event_loop_now(event_loop *e, clockid_t clock, uint64_t *usec) {
        assert(e);
        assert(usec);
        if (clock != CLOCK_MONOTONIC)
                return -EOPNOTSUPP;
        *usec = e->now_valid ? e->now : monotonic_usec();
        return 0;
}

int event_add_io(event_loop *e, event_source **ret, int fd, uint32_t events, event_io_handler_t callback,
                 void *userdata) {
        assert(e);
        assert(callback);
        if (fd < 0 || (events & ~IO_EVENTS_VALID))
                return -EINVAL;

        event_source *s = source_new(e, !ret, SOURCE_IO, userdata);
        if (!s)
                return -ENOMEM;
        s->io.callback = callback;
        s->io.fd = fd;
        s->io.events = events;
        return source_enable_and_return(s, EVENT_ON, ret);
}

int event_source_set_io_events(event_source *s, uint32_t events) {
        assert(s);
        if (s->type != SOURCE_IO)
                return -EDOM;
        if (events & ~IO_EVENTS_VALID)
                return -EINVAL;

        uint32_t old = s->io.events;
        s->io.events = events;
        /* Even with the same events: with EPOLLET, a MOD re-arms the edge. */
        if (s->loop && s->enabled != EVENT_OFF) {
                int r = source_epoll_ctl(s, EPOLL_CTL_MOD);
                if (r < 0) {
                        s->io.events = old;
                        return r;
                }
        }
        return 0;
}

static int time_exit(event_source *s, uint64_t usec, void *userdata) {
        (void)usec;
        return event_loop_exit(s->loop, (int)(intptr_t)userdata);
}

int event_add_time(event_loop *e, event_source **ret, clockid_t clock, uint64_t usec, uint64_t accuracy,
                   event_time_handler_t callback, void *userdata) {
        assert(e);
        (void)accuracy;
        if (clock != CLOCK_MONOTONIC)
                return -EOPNOTSUPP;

        event_source *s = source_new(e, !ret, SOURCE_TIME, userdata);
        if (!s)
                return -ENOMEM;
        s->time.callback = callback ? callback : time_exit;
        timer_heap_entry_init(&s->time.entry, usec);
        return source_enable_and_return(s, EVENT_ONESHOT, ret);
}

int event_add_time_relative(event_loop *e, event_source **ret, clockid_t clock, uint64_t usec,
                            uint64_t accuracy, event_time_handler_t callback, void *userdata) {
        uint64_t now;
        int r = event_loop_now(e, clock, &now);
        if (r < 0)
                return r;
        if (usec >= UINT64_MAX - now)
                return -EOVERFLOW;
        return event_add_time(e, ret, clock, now + usec, accuracy, callback, userdata);
}

int event_source_set_time(event_source *s, uint64_t usec) {
        assert(s);
        if (s->type != SOURCE_TIME)
                return -EDOM;
        if (!s->loop)
                return -ESTALE;
        /* Due at its old time in this iteration perhaps, not at its new one. */
        source_unpend(s);
        timer_heap_set_time(&s->loop->timers, &s->time.entry, usec);
        return 0;
}

static int defer_exit(event_source *s, void *userdata) {
        return event_loop_exit(s->loop, (int)(intptr_t)userdata);
}

int event_add_defer(event_loop *e, event_source **ret, event_handler_t callback, void *userdata) {
        assert(e);

        event_source *s = source_new(e, !ret, SOURCE_DEFER, userdata);
        if (!s)
                return -ENOMEM;
        s->defer.callback = callback ? callback : defer_exit;
        return source_enable_and_return(s, EVENT_ONESHOT, ret);
}

int event_source_set_description(event_source *s, const char *description) {
        assert(s);
        char *copy = NULL;
        if (description) {
                copy = strdup(description);
                if (!copy)
                        return -ENOMEM;
        }
        free(s->description);
        s->description = copy;
        return 0;
}

event_loop *event_source_get_event(event_source *s) {
        assert(s);
        return s->loop;
}

/* Runs the handler of an enabled source with the event `arg` (a siginfo, an inotify event). */
void source_call(event_source *s, const void *arg) {
        int r;

        /* Off before the handler, which may turn it on again. */
        if (s->enabled == EVENT_ONESHOT)
                (void)event_source_set_enabled(s, EVENT_OFF);
        s->dispatching = true;
        switch (s->type) {
        case SOURCE_IO:
                r = s->io.callback(s, s->io.fd, s->io.revents, s->userdata);
                break;
        case SOURCE_TIME:
                r = s->time.callback(s, s->time.entry.time, s->userdata);
                break;
        case SOURCE_SIGNAL:
                r = s->signal.callback(s, arg, s->userdata);
                break;
        case SOURCE_CHILD:
                r = s->child.callback(s, arg, s->userdata);
                break;
        case SOURCE_INOTIFY:
                r = s->inotify.callback(s, arg, s->userdata);
                break;
        case SOURCE_DEFER:
                r = s->defer.callback(s, s->userdata);
                break;
        default:
                abort();
        }
        s->dispatching = false;
        if (r < 0) {
                log_debug_errno(r, "Event source %s failed, turning it off: %m", source_name(s));
                (void)event_source_set_enabled(s, EVENT_OFF);
        }
}

/* After source_call(): frees a source unref'd from its handler. Returns whether it is gone. */
bool source_release_if_unrefd(event_source *s) {
        if (s->n_ref > 0)
                return false;
        source_free(s);
        return true;
}

static bool source_dispatch(event_loop *e, event_source *s) {
        switch (s->type) {
        case SOURCE_SIGNALFD:
                signalfd_dispatch(e, s->signalfd.fd);
                return true;
        case SOURCE_CHILD:
                return child_dispatch(s);
        case SOURCE_INOTIFY:
                return inotify_dispatch(s);
        default:
                source_call(s, NULL);
                source_release_if_unrefd(s);
                return true;
        }
}

static int timer_collect(struct timer_heap_entry *entry, void *userdata) {
        event_source *s = (event_source *)((char *)entry - offsetof(event_source, time.entry));
        return loop_pending_push(userdata, s);
}

static int timer_compare(const void *a, const void *b) {
        const event_source *x = *(event_source *const *)a, *y = *(event_source *const *)b;
        if (x->time.entry.time != y->time.entry.time)
                return x->time.entry.time < y->time.entry.time ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* epoll_wait()'s timeout: to the earliest timer, rounded up so the loop never wakes before it
 * (and spins), and bounded by the caller's. */
static int loop_timeout_ms(event_loop *e, uint64_t timeout_usec) {
        if (e->defers_head)
                return 0;

        uint64_t wait = timeout_usec;
        struct timer_heap_entry *first = timer_heap_top(&e->timers);
        if (first && first->time != UINT64_MAX) {
                uint64_t now = monotonic_usec();
                uint64_t until = first->time > now ? first->time - now : 0;
                if (until < wait)
                        wait = until;
        }
        if (wait == UINT64_MAX)
                return -1;
        uint64_t ms = wait / 1000 + (wait % 1000 != 0);
        return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits, then puts what is ready into e->pending: epoll's sources, the due timers in time order,
 * the enabled defers. */
static int loop_collect(event_loop *e, uint64_t timeout_usec) {
        struct epoll_event events[EPOLL_EVENTS_PER_WAIT];
        int r;

        int n = epoll_wait(e->epoll_fd, events, ELEMENTSOF(events), loop_timeout_ms(e, timeout_usec));
        if (n < 0) {
                if (errno != EINTR)
                        return -errno;
                n = 0;
        }
        e->now = monotonic_usec();
        e->now_valid = true;

        for (int i = 0; i < n; i++) {
                event_source *s = events[i].data.ptr;
                if (s->type == SOURCE_IO)
                        s->io.revents = events[i].events;
                r = loop_pending_push(e, s);
                if (r < 0)
                        return r;
        }

        size_t first_timer = e->n_pending;
        r = timer_heap_foreach_due(&e->timers, e->now, timer_collect, e);
        if (r < 0)
                return r;
        if (e->n_pending - first_timer > 1) {
                qsort(e->pending + first_timer, e->n_pending - first_timer, sizeof(*e->pending),
                      timer_compare);
                for (size_t i = first_timer; i < e->n_pending; i++)
                        e->pending[i]->pending_index = i;
        }

        for (event_source *s = e->defers_head; s; s = s->defer.next) {
                r = loop_pending_push(e, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Empties e->pending from `from` on, without dispatching. */
static void loop_pending_clear(event_loop *e, size_t from) {
        for (size_t i = from; i < e->n_pending; i++)
                if (e->pending[i])
                        e->pending[i]->pending_index = PENDING_NONE;
        e->n_pending = 0;
}

/* Dispatches e->pending in order, until the end or an exit. Returns whether anything was. */
static bool loop_dispatch(event_loop *e) {
        bool dispatched = false;
        size_t i;

        for (i = 0; i < e->n_pending && !e->exit_requested; i++) {
                event_source *s = e->pending[i];
                if (!s)
                        continue;
                e->pending[i] = NULL;
                s->pending_index = PENDING_NONE;
                if (s->enabled != EVENT_OFF && source_dispatch(e, s))
                        dispatched = true;
        }
        loop_pending_clear(e, i);
        return dispatched;
}

int event_loop_run_once(event_loop *e, uint64_t timeout_usec) {
        assert(e);
        if (e->running)
                return -EBUSY;
        if (e->exit_requested)
                return 0;

        /* A handler may drop the caller's last reference: the loop lives until the end. */
        _cleanup_(event_loop_unrefp) event_loop *ref = event_loop_ref(e);
        e->running = true;
        int r = loop_collect(e, timeout_usec);
        if (r < 0)
                loop_pending_clear(e, 0);
        else
                r = loop_dispatch(e);
        e->running = false;
        return r;
}

int event_loop_run(event_loop *e) {
        assert(e);

        _cleanup_(event_loop_unrefp) event_loop *ref = event_loop_ref(e);
        while (!e->exit_requested) {
                int r = event_loop_run_once(e, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return e->exit_code;
}
