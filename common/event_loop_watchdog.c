/* event_loop_watchdog.c: the systemd watchdog of a loop: WATCHDOG=1 at half of $WATCHDOG_USEC, from a
 * timer source the loop owns. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/event_loop.h"
#include "common/event_loop_internal.h"
#include "common/log.h"
#include "common/notify.h"

static int watchdog_ping(event_source *s, uint64_t usec, void *userdata) {
        event_loop *e = userdata;
        (void)usec;

        int r = notify_send("WATCHDOG=1");
        if (r < 0)
                log_debug_errno(r, "Failed to send WATCHDOG=1: %m");
        /* From now, not from its last time: a late iteration does not fire twice in a row. */
        (void)event_source_set_time(s, e->now + e->watchdog_usec / 2);
        return 0;
}

/* $WATCHDOG_USEC, if the watchdog is asked of this process: 1 and the interval, 0 if not asked,
 * -EINVAL for a variable that does not parse (as sd_watchdog_enabled()). */
static int watchdog_interval(uint64_t *ret) {
        const char *pid = getenv("WATCHDOG_PID");
        if (pid) {
                char *end;
                errno = 0;
                long value = strtol(pid, &end, 10);
                if (errno != 0 || end == pid || *end || value <= 0)
                        return -EINVAL;
                if (value != (long)getpid())
                        return 0;
        }
        const char *usec = getenv("WATCHDOG_USEC");
        if (!usec)
                return 0;
        char *end;
        errno = 0;
        unsigned long long value = strtoull(usec, &end, 10);
        if (errno != 0 || end == usec || *end || usec[0] == '-' || value == 0 || value == ULLONG_MAX)
                return -EINVAL;
        *ret = value;
        return 1;
}

int event_loop_set_watchdog(event_loop *e, int b) {
        assert(e);

        if (!b) {
                /* The loop's one reference: unref is safe from the watchdog's own handler too. */
                if (e->watchdog)
                        event_source_unref(e->watchdog);
                return 0;
        }
        if (e->watchdog)
                return 1;

        uint64_t interval;
        int r = watchdog_interval(&interval);
        if (r <= 0)
                return r;
        /* The first now, as sd-event: the manager may have waited for us to start. */
        r = notify_send("WATCHDOG=1");
        if (r < 0)
                return r;

        uint64_t now;
        (void)event_loop_now(e, CLOCK_MONOTONIC, &now);
        event_source *s = source_new(e, true, SOURCE_TIME, e);
        if (!s)
                return -ENOMEM;
        s->time.callback = watchdog_ping;
        timer_heap_entry_init(&s->time.entry, now + interval / 2);
        r = source_enable_and_return(s, EVENT_ON, NULL);
        if (r < 0)
                return r;
        e->watchdog_usec = interval;
        e->watchdog = s;
        return 1;
}
