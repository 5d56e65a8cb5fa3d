/* supervisor_standalone.c: supervisor_run(), the supervisor on an event loop of its own that
 * handles SIGTERM/SIGINT (stop), SIGHUP (reload) and SIGCHLD (reaps every child) itself. */
#include "launcher/services/supervisor.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "common/log.h"

struct standalone {
        struct supervisor *sup;
        event_loop *event;
        const struct supervisor_callbacks *user_cb;
        void *user_data;
};

static int on_sigchld(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        int status;
        pid_t pid;
        (void)source;
        (void)si;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                supervisor_child_exited(st->sup, pid, status);
        return 0;
}

static int on_stop_signal(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        (void)source;
        log_info("received %s, stopping", strsignal((int)si->ssi_signo));
        supervisor_stop(st->sup);
        return 0;
}

static int on_sighup(event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        struct standalone *st = userdata;
        (void)source;
        (void)si;
        supervisor_reload(st->sup);
        return 0;
}

static void st_service_changed(const struct service_status *status, void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->service_changed)
                st->user_cb->service_changed(status, st->user_data);
}

static void st_status_text(const char *text, void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->status_text)
                st->user_cb->status_text(text, st->user_data);
}

static void st_ready(void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->ready)
                st->user_cb->ready(st->user_data);
}

static int st_reload(struct service_plan **ret, void *userdata) {
        struct standalone *st = userdata;
        return st->user_cb->reload ? st->user_cb->reload(ret, st->user_data) : -EOPNOTSUPP;
}

static void st_stopped(void *userdata) {
        struct standalone *st = userdata;
        if (st->user_cb->stopped)
                st->user_cb->stopped(st->user_data);
        event_loop_exit(st->event, 0);
}

int supervisor_run(struct service_plan *plan, const struct supervisor_callbacks *callbacks, void *userdata) {
        static const struct supervisor_callbacks none = {};
        static const struct supervisor_callbacks trampolines = {
                .service_changed = st_service_changed,
                .status_text = st_status_text,
                .ready = st_ready,
                .stopped = st_stopped,
                .reload = st_reload,
        };
        struct standalone st = { .user_cb = callbacks ?: &none, .user_data = userdata };
        sigset_t mask;
        int r;

        r = event_loop_new(&st.event);
        if (r < 0) {
                service_plan_free(plan);
                return log_error_errno(r, "cannot create an event loop: %m");
        }
        /* The event loop's signal sources need the signals blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = supervisor_new(st.event, plan, &trampolines, &st, &st.sup);
        if (r < 0) {
                event_loop_unref(st.event);
                return log_error_errno(r, "cannot set up the supervisor: %m");
        }
        if (event_add_signal(st.event, NULL, SIGCHLD, on_sigchld, &st) < 0 ||
            event_add_signal(st.event, NULL, SIGTERM, on_stop_signal, &st) < 0 ||
            event_add_signal(st.event, NULL, SIGINT, on_stop_signal, &st) < 0 ||
            event_add_signal(st.event, NULL, SIGHUP, on_sighup, &st) < 0)
                r = log_error_errno(EIO, "cannot watch signals");
        if (r >= 0)
                r = supervisor_start(st.sup);
        if (r >= 0)
                r = event_loop_run(st.event);
        supervisor_free(st.sup);
        event_loop_unref(st.event);
        return r;
}
