/* test_event_loop.c: the event loop (common/event_loop.h) keeps sd-event's semantics: what each
 * kind of source dispatches, ONESHOT and OFF, unref and exit from handlers, floating sources; and
 * the notification protocol (common/notify.h) and the watchdog built on it.
 *
 * Nothing sleeps and hopes: a test waits with run_once() calls of a bounded timeout, at most
 * WAIT_ITERATIONS of them, for what it expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/event_loop.h"
#include "common/macro.h"
#include "common/notify.h"
#include "tests/unit/scratch_dir.h"

#define WAIT_ITERATIONS 200
#define WAIT_STEP_USEC (50 * 1000)

/* Runs iterations until *counter reaches want; fails the test after WAIT_ITERATIONS. */
static void run_until(event_loop *e, const int *counter, int want) {
        for (int i = 0; i < WAIT_ITERATIONS && *counter < want; i++)
                assert_true(event_loop_run_once(e, WAIT_STEP_USEC) >= 0);
        assert_int_equal(*counter, want);
}

static void write_byte(int fd) {
        assert_int_equal(write(fd, "x", 1), 1);
}

static void pipe_pair(int fds[2]) {
        assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
}

static void close_pair(int fds[2]) {
        close(fds[0]);
        close(fds[1]);
}

static uint64_t loop_now(event_loop *e) {
        uint64_t now;
        assert_int_equal(event_loop_now(e, CLOCK_MONOTONIC, &now), 0);
        return now;
}

struct io_record {
        int calls;
        int fd;
        uint32_t revents;
        int result;
};

static int record_io(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct io_record *r = userdata;
        (void)s;
        r->calls++;
        r->fd = fd;
        r->revents = revents;
        return r->result;
}

static void test_io_source_dispatches_readable_fd_with_revents(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct io_record rec = { 0 };
        int fds[2];

        pipe_pair(fds);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, fds[0], EPOLLIN, record_io, &rec), 0);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* nothing to read yet */
        write_byte(fds[1]);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.fd, fds[0]);
        assert_true(rec.revents & EPOLLIN);
        close_pair(fds);
}

static void test_io_source_edge_triggered_dispatches_once_per_edge(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct io_record rec = { 0 };
        int fds[2];

        pipe_pair(fds);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, fds[0], EPOLLIN | EPOLLET, record_io, &rec), 0);
        write_byte(fds[1]);
        run_until(e, &rec.calls, 1);
        /* Still readable, but no new edge: level-triggered would dispatch again. */
        assert_int_equal(event_loop_run_once(e, 0), 0);
        assert_int_equal(rec.calls, 1);
        write_byte(fds[1]);
        run_until(e, &rec.calls, 2);
        close_pair(fds);
}

static void test_set_io_events_changes_what_is_waited_for(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct io_record rec = { 0 };
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, fds[0], EPOLLIN, record_io, &rec), 0);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* writable, but not asked */
        assert_int_equal(event_source_set_io_events(s, EPOLLOUT), 0);
        run_until(e, &rec.calls, 1);
        assert_true(rec.revents & EPOLLOUT);
        assert_false(rec.revents & EPOLLIN);
        close_pair(fds);
}

static void test_oneshot_io_source_turns_off_after_dispatch(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct io_record rec = { 0 };
        int fds[2];

        pipe_pair(fds);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, fds[0], EPOLLIN, record_io, &rec), 0);
        assert_int_equal(event_source_set_enabled(s, EVENT_ONESHOT), 0);
        write_byte(fds[1]);
        run_until(e, &rec.calls, 1);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* still readable, but off */
        assert_int_equal(rec.calls, 1);
        assert_int_equal(event_source_set_enabled(s, EVENT_ON), 0);
        run_until(e, &rec.calls, 2);
        close_pair(fds);
}

static void test_negative_return_turns_source_off(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct io_record rec = { .result = -EIO };
        int fds[2];

        pipe_pair(fds);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, fds[0], EPOLLIN, record_io, &rec), 0);
        write_byte(fds[1]);
        run_until(e, &rec.calls, 1);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* readable, but turned off */
        assert_int_equal(rec.calls, 1);
        close_pair(fds);
}

struct time_record {
        int calls;
        uint64_t usec; /* the time the handler was given */
        uint64_t now; /* event_loop_now() in the handler */
        uint64_t rearm_usec; /* if not 0, the handler re-arms itself this much later, ONESHOT */
        int rearms_left;
};

static int record_time(event_source *s, uint64_t usec, void *userdata) {
        struct time_record *r = userdata;
        r->calls++;
        r->usec = usec;
        assert_int_equal(event_loop_now(event_source_get_event(s), CLOCK_MONOTONIC, &r->now), 0);
        if (r->rearm_usec && r->rearms_left > 0) {
                r->rearms_left--;
                assert_int_equal(event_source_set_time(s, r->now + r->rearm_usec), 0);
                assert_int_equal(event_source_set_enabled(s, EVENT_ONESHOT), 0);
        }
        return 0;
}

static void test_timer_does_not_fire_before_its_time(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct time_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        uint64_t at = loop_now(e) + 10 * 1000 * 1000;
        assert_int_equal(event_add_time(e, &s, CLOCK_MONOTONIC, at, 0, record_time, &rec), 0);
        assert_int_equal(event_loop_run_once(e, 20 * 1000), 0);
        assert_int_equal(rec.calls, 0);
        assert_true(loop_now(e) < at);
}

static void test_timer_fires_at_or_after_its_time(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct time_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        uint64_t at = loop_now(e) + 30 * 1000;
        assert_int_equal(event_add_time(e, &s, CLOCK_MONOTONIC, at, 0, record_time, &rec), 0);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.usec, at);
        assert_true(rec.now >= at);
        /* ONESHOT by default: no second dispatch although its time stays past. */
        assert_int_equal(event_loop_run_once(e, 0), 0);
        assert_int_equal(rec.calls, 1);
}

static void test_time_relative_is_from_loop_now(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct time_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* now is this iteration's from here */
        uint64_t before = loop_now(e);
        assert_int_equal(event_add_time_relative(e, &s, CLOCK_MONOTONIC, 1000, 0, record_time, &rec), 0);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.usec, before + 1000);
        assert_int_equal(
                event_add_time_relative(e, NULL, CLOCK_MONOTONIC, UINT64_MAX - 1, 0, record_time, &rec),
                -EOVERFLOW);
}

static void test_set_time_rearms_a_oneshot_timer(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct time_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_time(e, &s, CLOCK_MONOTONIC, loop_now(e), 0, record_time, &rec), 0);
        run_until(e, &rec.calls, 1);

        /* Off now; a new time alone leaves it off. */
        uint64_t at = loop_now(e) + 2000;
        assert_int_equal(event_source_set_time(s, at), 0);
        assert_int_equal(event_loop_run_once(e, 10 * 1000), 0);
        assert_int_equal(rec.calls, 1);
        assert_int_equal(event_source_set_enabled(s, EVENT_ONESHOT), 0);
        run_until(e, &rec.calls, 2);
        assert_int_equal(rec.usec, at);

        /* Re-armed from its own handler, as a periodic timer is. */
        rec.rearm_usec = 1000;
        rec.rearms_left = 2;
        assert_int_equal(event_source_set_time(s, loop_now(e)), 0);
        assert_int_equal(event_source_set_enabled(s, EVENT_ONESHOT), 0);
        run_until(e, &rec.calls, 5);
        assert_true(rec.now >= rec.usec);
}

#define MANY_TIMERS 200

struct order_record {
        int calls;
        uint64_t fired[MANY_TIMERS];
};

static int record_order(event_source *s, uint64_t usec, void *userdata) {
        struct order_record *r = userdata;
        (void)s;
        assert_true(r->calls < MANY_TIMERS);
        r->fired[r->calls++] = usec;
        return 0;
}

static void test_many_timers_fire_in_time_order(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        struct order_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        /* Added out of order, a few already due and many sharing an iteration. */
        uint64_t base = loop_now(e);
        for (unsigned i = 0; i < MANY_TIMERS; i++) {
                uint64_t offset = (uint64_t)((i * 7919u) % MANY_TIMERS) * 100;
                assert_int_equal(
                        event_add_time(e, NULL, CLOCK_MONOTONIC, base + offset, 0, record_order, &rec), 0);
        }
        run_until(e, &rec.calls, MANY_TIMERS);
        for (int i = 1; i < MANY_TIMERS; i++)
                assert_true(rec.fired[i - 1] < rec.fired[i]);
}

static int timer_never(event_source *s, uint64_t usec, void *userdata) {
        (void)s;
        (void)usec;
        (void)userdata;
        fail_msg("a disabled or removed timer fired");
        return 0;
}

static void test_removed_and_disabled_timers_do_not_fire(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        event_source *timers[32];
        struct time_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        uint64_t now = loop_now(e);
        for (unsigned i = 0; i < ELEMENTSOF(timers); i++)
                assert_int_equal(
                        event_add_time(e, &timers[i], CLOCK_MONOTONIC, now + i * 10, 0, timer_never, NULL),
                        0);
        for (unsigned i = 0; i < ELEMENTSOF(timers); i++) {
                if (i % 2)
                        assert_int_equal(event_source_set_enabled(timers[i], EVENT_OFF), 0);
                else
                        timers[i] = event_source_unref(timers[i]);
        }
        assert_int_equal(event_add_time(e, NULL, CLOCK_MONOTONIC, now + 1000, 0, record_time, &rec), 0);
        run_until(e, &rec.calls, 1);
        for (unsigned i = 1; i < ELEMENTSOF(timers); i += 2)
                event_source_unref(timers[i]);
}

static void test_time_sources_refuse_other_clocks(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        uint64_t now;

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_time(e, NULL, CLOCK_REALTIME, 0, 0, record_time, NULL), -EOPNOTSUPP);
        assert_int_equal(event_loop_now(e, CLOCK_BOOTTIME, &now), -EOPNOTSUPP);
}

static int count_defer(event_source *s, void *userdata) {
        (void)s;
        (*(int *)userdata)++;
        return 0;
}

struct defer_chain {
        int first, second;
};

static int defer_adds_another(event_source *s, void *userdata) {
        struct defer_chain *c = userdata;
        c->first++;
        return event_add_defer(event_source_get_event(s), NULL, count_defer, &c->second);
}

static void test_defer_runs_once_on_the_next_iteration(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct defer_chain c = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_defer(e, &s, defer_adds_another, &c), 0);
        assert_int_equal(event_loop_run_once(e, UINT64_MAX), 1); /* no wait: a defer is on */
        assert_int_equal(c.first, 1);
        assert_int_equal(c.second, 0); /* added in this iteration: the next one runs it */
        assert_int_equal(event_loop_run_once(e, UINT64_MAX), 1);
        assert_int_equal(c.second, 1);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* both ONESHOT */
        assert_int_equal(c.first, 1);
        assert_int_equal(c.second, 1);
}

static void block_signal(int sig) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
}

struct signal_record {
        int calls;
        uint32_t signo;
};

static int record_signal(event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct signal_record *r = userdata;
        (void)s;
        r->calls++;
        r->signo = si->ssi_signo;
        return 0;
}

static void test_signal_source_dispatches_blocked_signal(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct signal_record rec = { 0 };

        block_signal(SIGUSR1);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_signal(e, &s, SIGUSR1, record_signal, &rec), 0);
        assert_int_equal(event_add_signal(e, NULL, SIGUSR1, record_signal, &rec),
                         -EBUSY); /* one per signal */
        assert_int_equal(raise(SIGUSR1), 0);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.signo, SIGUSR1);
}

static void test_signal_source_refuses_unblocked_signal(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_signal(e, NULL, SIGUSR2, record_signal, NULL), -EBUSY);
}

static void test_signal_source_without_handler_exits_with_code(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;

        block_signal(SIGUSR2);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_signal(e, NULL, SIGUSR2, NULL, (void *)(intptr_t)42), 0);
        assert_int_equal(raise(SIGUSR2), 0);
        assert_int_equal(event_loop_run(e), 42);
}

struct child_record {
        int calls;
        pid_t pid;
        int code, status;
        bool zombie_in_handler;
};

static int record_child(event_source *s, const siginfo_t *si, void *userdata) {
        struct child_record *r = userdata;
        (void)s;
        r->calls++;
        r->pid = si->si_pid;
        r->code = si->si_code;
        r->status = si->si_status;
        /* Not reaped yet: waitable still. */
        siginfo_t peek = { 0 };
        r->zombie_in_handler = waitid(P_PID, (id_t)si->si_pid, &peek, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                               peek.si_pid == si->si_pid;
        return 0;
}

static pid_t fork_exiting_child(int code) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(code);
        return pid;
}

static void test_child_source_sees_exit_then_reaps(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct child_record rec = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        pid_t pid = fork_exiting_child(7);
        assert_int_equal(event_add_child(e, &s, pid, WEXITED, record_child, &rec), 0);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.pid, pid);
        assert_int_equal(rec.code, CLD_EXITED);
        assert_int_equal(rec.status, 7);
        assert_true(rec.zombie_in_handler);
        errno = 0;
        assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* off once dispatched */
}

static void test_child_source_dispatches_child_exited_before_add(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct child_record rec = { 0 };
        siginfo_t si = { 0 };

        assert_int_equal(event_loop_new(&e), 0);
        pid_t pid = fork_exiting_child(3);
        /* Until it is a zombie, not reaped. */
        assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
        assert_int_equal(event_add_child(e, &s, pid, WEXITED, record_child, &rec), 0);
        run_until(e, &rec.calls, 1);
        assert_int_equal(rec.status, 3);
        errno = 0;
        assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_child_source_refuses_other_options(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_child(e, NULL, getpid(), WEXITED | WSTOPPED, record_child, NULL),
                         -EINVAL);
}

struct inotify_record {
        int calls;
        uint32_t mask;
        char name[64];
};

static int record_inotify(event_source *s, const struct inotify_event *event, void *userdata) {
        struct inotify_record *r = userdata;
        (void)s;
        r->calls++;
        r->mask = event->mask;
        snprintf(r->name, sizeof(r->name), "%s", event->len ? event->name : "");
        return 0;
}

static void test_inotify_source_sees_file_created(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct inotify_record rec = { 0 };
        char dir[] = "/tmp/test_event_loop.XXXXXX";
        char path[sizeof(dir) + 16];

        assert_non_null(mkdtemp(dir));
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_inotify(e, &s, dir, IN_CREATE, record_inotify, &rec), 0);
        assert_int_equal(event_loop_run_once(e, 0), 0);
        snprintf(path, sizeof(path), "%s/hello", dir);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        run_until(e, &rec.calls, 1);
        assert_true(rec.mask & IN_CREATE);
        assert_string_equal(rec.name, "hello");
        assert_int_equal(scratch_dir_remove(dir), 0);
}

/* Two sources ready in one iteration; whichever runs first unrefs the other. */
struct rivals {
        event_source *sources[2];
        int calls[2];
};

static int unref_rival(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct rivals *r = userdata;
        (void)fd;
        (void)revents;
        int self = s == r->sources[1];
        r->calls[self]++;
        r->sources[!self] = event_source_unref(r->sources[!self]);
        return 0;
}

/* Two sources ready in one iteration, each handler acting on the other: only one is dispatched. */
static void assert_one_rival_dispatched(event_io_handler_t handler) {
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        struct rivals r = { 0 };
        int a[2], b[2];

        pipe_pair(a);
        pipe_pair(b);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &r.sources[0], a[0], EPOLLIN, handler, &r), 0);
        assert_int_equal(event_add_io(e, &r.sources[1], b[0], EPOLLIN, handler, &r), 0);
        write_byte(a[1]);
        write_byte(b[1]);
        assert_int_equal(event_loop_run_once(e, UINT64_MAX), 1);
        assert_int_equal(r.calls[0] + r.calls[1], 1);
        for (int i = 0; i < 2; i++)
                event_source_unref(r.sources[i]);
        close_pair(a);
        close_pair(b);
}

static void test_unref_of_pending_source_prevents_its_dispatch(void **state) {
        (void)state;
        assert_one_rival_dispatched(unref_rival);
}

static int disable_rival(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct rivals *r = userdata;
        (void)fd;
        (void)revents;
        int self = s == r->sources[1];
        r->calls[self]++;
        assert_int_equal(event_source_set_enabled(r->sources[!self], EVENT_OFF), 0);
        return 0;
}

static void test_disable_of_pending_source_prevents_its_dispatch(void **state) {
        (void)state;
        assert_one_rival_dispatched(disable_rival);
}

struct self_unref {
        event_source *source;
        int calls;
};

static int unref_self_and_close(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct self_unref *u = userdata;
        (void)revents;
        assert_ptr_equal(s, u->source);
        u->calls++;
        u->source = event_source_unref(u->source);
        /* Out of epoll already: closing the fd now is what sd-event's callers do. */
        close(fd);
        return 0;
}

static void test_handler_may_unref_its_own_source(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        struct self_unref u = { 0 };
        int fds[2];

        pipe_pair(fds);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &u.source, fds[0], EPOLLIN, unref_self_and_close, &u), 0);
        write_byte(fds[1]);
        run_until(e, &u.calls, 1);
        assert_null(u.source);
        assert_int_equal(event_loop_run_once(e, 0), 0);
        close(fds[1]);
}

struct exit_record {
        int calls;
};

static int exit_with_5(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct exit_record *r = userdata;
        (void)fd;
        (void)revents;
        r->calls++;
        return event_loop_exit(event_source_get_event(s), 5);
}

static void test_exit_stops_the_iteration(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        struct exit_record rec = { 0 };
        int a[2], b[2];

        pipe_pair(a);
        pipe_pair(b);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, NULL, a[0], EPOLLIN, exit_with_5, &rec), 0);
        assert_int_equal(event_add_io(e, NULL, b[0], EPOLLIN, exit_with_5, &rec), 0);
        assert_int_equal(event_add_defer(e, NULL, NULL, (void *)(intptr_t)9), 0); /* would exit with 9 */
        write_byte(a[1]);
        write_byte(b[1]);
        assert_int_equal(event_loop_run_once(e, UINT64_MAX), 1);
        assert_int_equal(rec.calls, 1);
        assert_int_equal(event_loop_run_once(e, 0), 0); /* exiting */
        assert_int_equal(event_loop_run(e), 5);
        assert_int_equal(rec.calls, 1);
        close_pair(a);
        close_pair(b);
}

static void test_floating_sources_are_freed_with_the_loop(void **state) {
        (void)state;
        event_loop *e = NULL;
        char dir[] = "/tmp/test_event_loop.XXXXXX";
        int fds[2];

        /* ASan's leak check is what sees a source left behind. */
        pipe_pair(fds);
        block_signal(SIGUSR1);
        assert_non_null(mkdtemp(dir));
        pid_t pid = fork_exiting_child(0);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, NULL, fds[0], EPOLLIN, record_io, NULL), 0);
        assert_int_equal(event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 1000000, 0, record_time, NULL),
                         0);
        assert_int_equal(event_add_defer(e, NULL, count_defer, NULL), 0);
        assert_int_equal(event_add_signal(e, NULL, SIGUSR1, record_signal, NULL), 0);
        assert_int_equal(event_add_child(e, NULL, pid, WEXITED, record_child, NULL), 0);
        assert_int_equal(event_add_inotify(e, NULL, dir, IN_CREATE, record_inotify, NULL), 0);
        assert_null(event_loop_unref(e));
        /* The io fd is the caller's: still open. */
        assert_true(fcntl(fds[0], F_GETFD) >= 0);
        close_pair(fds);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(scratch_dir_remove(dir), 0);
}

/* A datagram socket of the test's own, as the service manager's. */
struct notify_listener {
        int fd;
        char dir[32];
};

static void listener_bind_path(struct notify_listener *l) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(l->dir, sizeof(l->dir), "/tmp/test_notify.XXXXXX");
        assert_non_null(mkdtemp(l->dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", l->dir);
        l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(l->fd >= 0);
        assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
}

static void listener_close(struct notify_listener *l) {
        close(l->fd);
        assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
        if (l->dir[0])
                assert_int_equal(scratch_dir_remove(l->dir), 0);
}

static void listener_expect(struct notify_listener *l, const char *state) {
        char buffer[256];
        ssize_t n = recv(l->fd, buffer, sizeof(buffer) - 1, 0);
        assert_true(n >= 0);
        buffer[n] = 0;
        assert_string_equal(buffer, state);
}

static void test_notify_send_reaches_a_path_socket(void **state) {
        (void)state;
        struct notify_listener l = { 0 };

        listener_bind_path(&l);
        assert_int_equal(notify_send("READY=1"), 1);
        listener_expect(&l, "READY=1");
        listener_close(&l);
}

static void test_notify_sendf_reaches_an_abstract_socket(void **state) {
        (void)state;
        struct notify_listener l = { 0 };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char name[64];

        snprintf(name, sizeof(name), "@usernode-test-notify-%d", (int)getpid());
        memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1); /* sun_path[0] stays NUL */
        l.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(l.fd >= 0);
        assert_int_equal(bind(l.fd, (struct sockaddr *)&sa,
                              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))),
                         0);
        assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
        assert_int_equal(notify_sendf("STATUS=%d pods", 3), 1);
        listener_expect(&l, "STATUS=3 pods");
        listener_close(&l);
}

static void test_notify_send_without_notify_socket_sends_nothing(void **state) {
        (void)state;
        assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
        assert_int_equal(notify_send("READY=1"), 0);
}

static void test_notify_send_refuses_a_bad_address(void **state) {
        (void)state;
        char long_path[200];

        assert_int_equal(setenv("NOTIFY_SOCKET", "relative/socket", 1), 0);
        assert_int_equal(notify_send("READY=1"), -EINVAL);
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = 0;
        assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
        assert_int_equal(notify_send("READY=1"), -EINVAL);
        long_path[0] = '@';
        assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
        assert_int_equal(notify_send("READY=1"), -EINVAL);
        assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
}

struct watchdog_record {
        int pings;
};

static int count_pings(event_source *s, int fd, uint32_t revents, void *userdata) {
        struct watchdog_record *r = userdata;
        char buffer[64];
        (void)s;
        (void)revents;
        ssize_t n;
        while ((n = recv(fd, buffer, sizeof(buffer) - 1, 0)) >= 0) {
                buffer[n] = 0;
                assert_string_equal(buffer, "WATCHDOG=1");
                r->pings++;
        }
        return 0;
}

static void test_watchdog_sends_watchdog_1_at_half_the_interval(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;
        _cleanup_(event_source_unrefp) event_source *s = NULL;
        struct notify_listener l = { 0 };
        struct watchdog_record rec = { 0 };

        listener_bind_path(&l);
        assert_int_equal(setenv("WATCHDOG_USEC", "100000", 1), 0);
        assert_int_equal(unsetenv("WATCHDOG_PID"), 0);
        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(event_add_io(e, &s, l.fd, EPOLLIN, count_pings, &rec), 0);
        uint64_t start = loop_now(e);
        assert_int_equal(event_loop_set_watchdog(e, 1), 1);
        /* One at once, then one every 50 ms. */
        run_until(e, &rec.pings, 3);
        assert_true(loop_now(e) >= start + 100000);
        assert_int_equal(event_loop_set_watchdog(e, 0), 0);
        assert_int_equal(unsetenv("WATCHDOG_USEC"), 0);
        s = event_source_unref(s);
        listener_close(&l);
}

static void test_watchdog_is_off_unless_asked_of_this_process(void **state) {
        (void)state;
        _cleanup_(event_loop_unrefp) event_loop *e = NULL;

        assert_int_equal(event_loop_new(&e), 0);
        assert_int_equal(unsetenv("WATCHDOG_USEC"), 0);
        assert_int_equal(event_loop_set_watchdog(e, 1), 0);
        assert_int_equal(setenv("WATCHDOG_USEC", "100000", 1), 0);
        assert_int_equal(setenv("WATCHDOG_PID", "1", 1), 0); /* another process's */
        assert_int_equal(event_loop_set_watchdog(e, 1), 0);
        assert_int_equal(unsetenv("WATCHDOG_USEC"), 0);
        assert_int_equal(unsetenv("WATCHDOG_PID"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_io_source_dispatches_readable_fd_with_revents),
                cmocka_unit_test(test_io_source_edge_triggered_dispatches_once_per_edge),
                cmocka_unit_test(test_set_io_events_changes_what_is_waited_for),
                cmocka_unit_test(test_oneshot_io_source_turns_off_after_dispatch),
                cmocka_unit_test(test_negative_return_turns_source_off),
                cmocka_unit_test(test_timer_does_not_fire_before_its_time),
                cmocka_unit_test(test_timer_fires_at_or_after_its_time),
                cmocka_unit_test(test_time_relative_is_from_loop_now),
                cmocka_unit_test(test_set_time_rearms_a_oneshot_timer),
                cmocka_unit_test(test_many_timers_fire_in_time_order),
                cmocka_unit_test(test_removed_and_disabled_timers_do_not_fire),
                cmocka_unit_test(test_time_sources_refuse_other_clocks),
                cmocka_unit_test(test_defer_runs_once_on_the_next_iteration),
                cmocka_unit_test(test_signal_source_dispatches_blocked_signal),
                cmocka_unit_test(test_signal_source_refuses_unblocked_signal),
                cmocka_unit_test(test_signal_source_without_handler_exits_with_code),
                cmocka_unit_test(test_child_source_sees_exit_then_reaps),
                cmocka_unit_test(test_child_source_dispatches_child_exited_before_add),
                cmocka_unit_test(test_child_source_refuses_other_options),
                cmocka_unit_test(test_inotify_source_sees_file_created),
                cmocka_unit_test(test_unref_of_pending_source_prevents_its_dispatch),
                cmocka_unit_test(test_disable_of_pending_source_prevents_its_dispatch),
                cmocka_unit_test(test_handler_may_unref_its_own_source),
                cmocka_unit_test(test_exit_stops_the_iteration),
                cmocka_unit_test(test_floating_sources_are_freed_with_the_loop),
                cmocka_unit_test(test_notify_send_reaches_a_path_socket),
                cmocka_unit_test(test_notify_sendf_reaches_an_abstract_socket),
                cmocka_unit_test(test_notify_send_without_notify_socket_sends_nothing),
                cmocka_unit_test(test_notify_send_refuses_a_bad_address),
                cmocka_unit_test(test_watchdog_sends_watchdog_1_at_half_the_interval),
                cmocka_unit_test(test_watchdog_is_off_unless_asked_of_this_process),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
