/* supervisor_ready.c: when a starting service counts as ready: a unix socket that accepts
 * connections, or HTTP 200 from a loopback port, probed until its ready_timeout: at growing
 * intervals, and for a socket also whenever a file appears in its directory (inotify). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/services/supervisor_internal.h"

usec_t ready_poll_next_interval(usec_t previous) {
        if (previous < READY_POLL_MIN_USEC)
                return READY_POLL_MIN_USEC;
        return previous >= READY_POLL_MAX_USEC / 2 ? READY_POLL_MAX_USEC : previous * 2;
}

static void service_ready_wait_end(struct service *svc) {
        svc->timer = event_source_disable_unref(svc->timer);
        svc->ready_watch = event_source_disable_unref(svc->ready_watch);
}

static void service_became_ready(struct service *svc) {
        service_ready_wait_end(svc);
        svc->ever_ready = true;
        service_set_state(svc, SERVICE_RUNNING);
        log_info("%s is ready", svc->def.name);
        supervisor_start_waiting(svc->sup);
        supervisor_check_all_ready(svc->sup);
}

static bool unix_socket_accepts(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* target: "PORT/PATH". A loopback connection either answers at once or the service is busy:
 * one second bounds the (rare) wait inside the event loop. */
static bool http_answers_ok(const char *target) {
        char *end;
        unsigned long port = strtoul(target, &end, 10);
        if (port == 0 || port > 65535 || *end != '/')
                return false;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return false;
        char request[512];
        int len = snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", end);
        if (len < 0 || len >= (int)sizeof(request) || write(fd, request, (size_t)len) != len)
                return false;
        char response[64] = {}, rest[512];
        size_t got = 0;
        while (got < sizeof(response) - 1) {
                ssize_t n = read(fd, response + got, sizeof(response) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        /* Read the answer to its end: closing with unread data would reset the connection and
         * make the service log an error for a health check that succeeded. */
        for (int i = 0; i < 64 && read(fd, rest, sizeof(rest)) > 0; i++)
                ;
        return got >= 12 && strncmp(response, "HTTP/1.", 7) == 0 && strncmp(response + 8, " 200", 4) == 0;
}

static int ready_probe(struct service *svc, usec_t now) {
        if (svc->state != SERVICE_STARTING || svc->pid <= 0) {
                /* Not the timer: by now it may wait for something else (a restart, a stop). */
                svc->ready_watch = event_source_disable_unref(svc->ready_watch);
                return 0;
        }
        bool ready = svc->def.ready == READY_SOCKET ? unix_socket_accepts(svc->def.ready_target)
                                                    : http_answers_ok(svc->def.ready_target);
        if (ready) {
                service_became_ready(svc);
                return 0;
        }
        if (now >= svc->ready_deadline) {
                log_error("%s: not ready after %llus (%s %s); killing it", svc->def.name,
                          (unsigned long long)(svc->def.ready_timeout / USEC_PER_SEC),
                          svc->def.ready == READY_SOCKET ? "nothing accepts connections on"
                                                         : "no HTTP 200 from port",
                          svc->def.ready_target);
                svc->killed_not_ready = true;
                service_ready_wait_end(svc);
                service_signal_group(svc, SIGKILL);
                return 0;
        }
        svc->ready_interval = ready_poll_next_interval(svc->ready_interval);
        log_debug("%s: not ready yet; next probe in %llums", svc->def.name,
                  (unsigned long long)(svc->ready_interval / USEC_PER_MSEC));
        return service_arm_timer(svc, svc->ready_interval, service_on_ready_poll);
}

int service_on_ready_poll(event_source *source, uint64_t usec, void *userdata) {
        (void)source;
        return ready_probe(userdata, usec);
}

/* A file appeared in the socket's directory (or events were lost): probe now, and as soon
 * after as at the start, since a socket is bound a moment before its service listens. */
static int on_socket_directory_event(event_source *source, const struct inotify_event *event,
                                     void *userdata) {
        struct service *svc = userdata;
        const char *slash = strrchr(svc->def.ready_target, '/');
        (void)source;
        if (!(event->mask & IN_Q_OVERFLOW) &&
            (event->len == 0 || !slash || strcmp(event->name, slash + 1) != 0))
                return 0;
        log_debug("%s: %s appeared: probing now", svc->def.name, svc->def.ready_target);
        svc->ready_interval = 0;
        return ready_probe(svc, supervisor_now(svc->sup));
}

int service_ready_wait_begin(struct service *svc) {
        svc->ready_interval = 0;
        svc->ready_watch = event_source_disable_unref(svc->ready_watch);
        const char *slash = svc->def.ready == READY_SOCKET ? strrchr(svc->def.ready_target, '/') : NULL;
        if (slash && slash != svc->def.ready_target) {
                _cleanup_free_ char *dir =
                        strndup(svc->def.ready_target, (size_t)(slash - svc->def.ready_target));
                /* The service would make its socket's directory itself (crio does); made here
                 * (only the last level, 0700) it can be watched from the start. */
                if (dir && mkdir(dir, 0700) < 0 && errno != EEXIST)
                        log_debug_errno(errno, "%s: cannot make %s: %m", svc->def.name, dir);
                int r = dir ? event_add_inotify(svc->sup->event, &svc->ready_watch, dir,
                                                IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR,
                                                on_socket_directory_event, svc)
                            : -ENOMEM;
                if (r < 0)
                        log_debug_errno(r, "%s: not watching %s for its socket (%m); probing only",
                                        svc->def.name, dir ?: svc->def.ready_target);
        }
        return service_arm_timer(svc, 0, service_on_ready_poll);
}
