/* event_loop_kernel_sources.c: the event sources whose events the kernel hands over on an fd of its
 * own kind: signals (one signalfd for the loop, its mask the enabled signal sources'), child exits
 * (a pidfd each) and inotify watches (an inotify fd each). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/event_loop.h"
#include "common/event_loop_internal.h"
#include "common/log.h"
#include "common/macro.h"

int loop_update_signalfd(event_loop *e) {
        if (signalfd(e->signalfd_source->signalfd.fd, &e->signal_mask, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
                return -errno;
        return 0;
}

static int signal_exit(event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void)si;
        return event_loop_exit(s->loop, (int)(intptr_t)userdata);
}

static int loop_ensure_signalfd(event_loop *e) {
        if (e->signalfd_source)
                return 0;

        sigset_t none;
        sigemptyset(&none);
        int fd = signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        event_source *s = source_new(e, true, SOURCE_SIGNALFD, NULL);
        if (!s) {
                close(fd);
                return -ENOMEM;
        }
        s->signalfd.fd = fd;
        int r = event_source_set_enabled(s, EVENT_ON);
        if (r < 0) {
                source_free(s);
                return r;
        }
        e->signalfd_source = s;
        return 0;
}

int event_add_signal(event_loop *e, event_source **ret, int sig, event_signal_handler_t callback,
                     void *userdata) {
        assert(e);
        if (sig <= 0 || sig >= _NSIG)
                return -EINVAL;

        /* Unblocked, the signal would be delivered to its disposition, never to the signalfd. */
        sigset_t blocked;
        int r = pthread_sigmask(SIG_BLOCK, NULL, &blocked);
        if (r != 0)
                return -r;
        if (!sigismember(&blocked, sig) || e->signal_sources[sig])
                return -EBUSY;

        r = loop_ensure_signalfd(e);
        if (r < 0)
                return r;
        event_source *s = source_new(e, !ret, SOURCE_SIGNAL, userdata);
        if (!s)
                return -ENOMEM;
        s->signal.callback = callback ? callback : signal_exit;
        s->signal.sig = sig;
        e->signal_sources[sig] = s;
        return source_enable_and_return(s, EVENT_ON, ret);
}

int event_add_child(event_loop *e, event_source **ret, pid_t pid, int options,
                    event_child_handler_t callback, void *userdata) {
        assert(e);
        assert(callback);
        if (pid <= 1 || options != WEXITED)
                return -EINVAL;

        /* A pidfd is O_CLOEXEC always; readable once the child exited, a zombie at add time too. */
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        event_source *s = source_new(e, !ret, SOURCE_CHILD, userdata);
        if (!s) {
                close(pidfd);
                return -ENOMEM;
        }
        s->child.callback = callback;
        s->child.pid = pid;
        s->child.pidfd = pidfd;
        return source_enable_and_return(s, EVENT_ON, ret);
}

int event_add_inotify(event_loop *e, event_source **ret, const char *path, uint32_t mask,
                      event_inotify_handler_t callback, void *userdata) {
        assert(e);
        assert(path);
        assert(callback);

        _cleanup_close_ int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (inotify_add_watch(fd, path, mask) < 0)
                return -errno;
        event_source *s = source_new(e, !ret, SOURCE_INOTIFY, userdata);
        if (!s)
                return -ENOMEM;
        s->inotify.callback = callback;
        s->inotify.fd = TAKE_FD(fd);
        return source_enable_and_return(s, EVENT_ON, ret);
}

/* One siginfo at a time, each to its signal's source, until the signalfd is empty or a handler
 * asked the loop to exit. */
void signalfd_dispatch(event_loop *e, int fd) {
        while (!e->exit_requested) {
                struct signalfd_siginfo si;
                ssize_t n = read(fd, &si, sizeof(si));
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                log_debug_errno(errno, "Failed to read the signalfd: %m");
                        if (errno != EINTR)
                                return;
                        continue;
                }
                if (n != sizeof(si) || si.ssi_signo >= _NSIG)
                        return;
                event_source *s = e->signal_sources[si.ssi_signo];
                if (!s || s->enabled == EVENT_OFF)
                        continue;
                source_call(s, &si);
                source_release_if_unrefd(s);
        }
}

/* The handler sees the child's exit (waitid with WNOWAIT); the child is reaped after it, as
 * sd-event does, so the handler may still look at /proc/PID. */
bool child_dispatch(event_source *s) {
        siginfo_t si = { 0 };
        if (waitid((idtype_t)P_PIDFD, s->child.pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                log_debug_errno(errno, "Failed to wait for child %d, turning its source off: %m",
                                (int)s->child.pid);
                (void)event_source_set_enabled(s, EVENT_OFF);
                return false;
        }
        if (si.si_pid == 0) /* not exited yet: a spurious wakeup */
                return false;

        source_call(s, &si);
        siginfo_t reaped;
        /* ECHILD: the handler reaped it itself. */
        if (waitid((idtype_t)P_PIDFD, s->child.pidfd, &reaped, WEXITED | WNOHANG) < 0 && errno != ECHILD)
                log_debug_errno(errno, "Failed to reap child %d: %m", (int)s->child.pid);
        (void)event_source_set_enabled(s, EVENT_OFF);
        source_release_if_unrefd(s);
        return true;
}

/* The events of one read(), each to the handler while the source is on and the loop is not
 * exiting; what is left of the buffer then is dropped (a ONESHOT source gets one event). */
bool inotify_dispatch(event_source *s) {
        union {
                struct inotify_event event;
                char raw[sizeof(struct inotify_event) + NAME_MAX + 1];
                char more[4096];
        } buffer;
        ssize_t n = read(s->inotify.fd, &buffer, sizeof(buffer));
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_debug_errno(errno, "Failed to read inotify events: %m");
                return false;
        }

        bool dispatched = false;
        for (char *p = buffer.more; p < buffer.more + n && s->enabled != EVENT_OFF;) {
                const struct inotify_event *event = (const struct inotify_event *)p;
                p += sizeof(*event) + event->len;
                if (!s->loop || s->loop->exit_requested)
                        break;
                source_call(s, event);
                dispatched = true;
        }
        source_release_if_unrefd(s);
        return dispatched;
}
