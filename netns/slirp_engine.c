/* slirp_engine.c: libslirp driven by a poll loop over the tap fd and slirp's own sockets.
 *
 * All state sits in struct engine. Frames from the node are read in batches until the tap fd is
 * drained (one poll per burst rather than per frame), each handed to slirp_input() after
 * slirp_pollfds_poll() has run for the round (it sets slirp's clock); slirp's frames to the node
 * are written straight to the tap fd from send_packet. */
#include "netns/slirp_engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libslirp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/log.h"
#include "netns/engine_sandbox.h"
#include "netns/tap_coalesce.h"
#include "netns/tap_frame.h"
#include "netns/tcp_splice.h"

/* A tap read returns one frame: the virtio header and at most a 64 KiB IP packet (a TSO segment,
 * or MTU 65520) with its Ethernet header. */
#define ENGINE_FRAME_MAX (TAP_FRAME_HEADER_SIZE + 14 + 65536)
/* The largest if_mru slirp is given, whatever the MTU: its TCP announces an MSS of
 * min(if_mtu, if_mru) - 40. See engine_slirp_new for why 65480 does not work. */
#define ENGINE_TCP_MRU (16384 + 40)
/* Frames taken from the tap fd before slirp's sockets get their turn again. */
#define ENGINE_BURST 64
/* The fds the tap, the ready pipe and the kernel TCP path's listeners are moved to, so every
 * other inherited fd can be closed. */
#define ENGINE_TAP_FD 3
#define ENGINE_READY_FD 4
#define ENGINE_TCP_LISTEN_FD 5 /* and 6 */

struct engine_timer {
        struct engine_timer *next;
        SlirpTimerId id;
        void *cb_opaque;
        int64_t expire_ms; /* -1: not armed */
};

struct engine {
        Slirp *slirp;
        int tap_fd;
        struct pollfd *pollfds;
        size_t n_pollfds, allocated_pollfds;
        struct engine_timer *timers;
        /* libslirp keeps pointers to these, not copies: they live as long as the engine. */
        struct sockaddr_in outbound;
        struct sockaddr_in6 outbound6;
        uint8_t frame[ENGINE_FRAME_MAX];
        struct tap_coalescer to_node; /* slirp's frames on their way to the tap */
        struct tcp_splice tcp; /* the kernel TCP path, when the node redirects its TCP to it */
};

static int64_t clock_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t engine_send_packet(const void *buf, size_t len, void *opaque) {
        struct engine *e = opaque;
        int r = tap_coalesce_add(&e->to_node, e->tap_fd, buf, len);

        /* A full tap queue drops the frame; TCP retransmits it, as libslirp.h allows. */
        if (r < 0 && r != -EAGAIN)
                return r;
        return (ssize_t)len;
}

static void engine_guest_error(const char *msg, void *opaque) {
        (void)opaque;
        log_debug("slirp: the node sent something slirp refuses: %s", msg);
}

static int64_t engine_clock_get_ns(void *opaque) {
        struct timespec ts;
        (void)opaque;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *engine_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque) {
        struct engine *e = opaque;
        struct engine_timer *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        *t = (struct engine_timer){ .next = e->timers, .id = id, .cb_opaque = cb_opaque, .expire_ms = -1 };
        e->timers = t;
        return t;
}

static void engine_timer_free(void *timer, void *opaque) {
        struct engine *e = opaque;

        for (struct engine_timer **p = &e->timers; *p; p = &(*p)->next)
                if (*p == timer) {
                        *p = (*p)->next;
                        free(timer);
                        return;
                }
}

static void engine_timer_mod(void *timer, int64_t expire_ms, void *opaque) {
        struct engine_timer *t = timer;
        (void)opaque;
        t->expire_ms = expire_ms;
}

/* slirp asks for its sockets through slirp_pollfds_fill on every round; these two exist for
 * event loops that keep fds registered, which this one does not. */
static void engine_register_poll_fd(int fd, void *opaque) {
        (void)fd;
        (void)opaque;
}

static void engine_unregister_poll_fd(int fd, void *opaque) {
        (void)fd;
        (void)opaque;
}

static void engine_notify(void *opaque) {
        (void)opaque;
}

static int engine_add_poll(int fd, int events, void *opaque) {
        struct engine *e = opaque;
        short poll_events = 0;

        if (e->n_pollfds == e->allocated_pollfds) {
                size_t n = e->allocated_pollfds * 2;
                struct pollfd *p = reallocarray(e->pollfds, n, sizeof(*p));
                if (!p) {
                        log_error("slirp engine: out of memory");
                        _exit(EXIT_RUNTIME);
                }
                e->pollfds = p;
                e->allocated_pollfds = n;
        }
        if (events & SLIRP_POLL_IN)
                poll_events |= POLLIN;
        if (events & SLIRP_POLL_OUT)
                poll_events |= POLLOUT;
        if (events & SLIRP_POLL_PRI)
                poll_events |= POLLPRI;
        e->pollfds[e->n_pollfds] = (struct pollfd){ .fd = fd, .events = poll_events };
        return (int)e->n_pollfds++;
}

static int engine_get_revents(int idx, void *opaque) {
        struct engine *e = opaque;
        short revents = e->pollfds[idx].revents;
        int events = 0;

        if (revents & POLLIN)
                events |= SLIRP_POLL_IN;
        if (revents & POLLOUT)
                events |= SLIRP_POLL_OUT;
        if (revents & POLLPRI)
                events |= SLIRP_POLL_PRI;
        if (revents & POLLERR)
                events |= SLIRP_POLL_ERR;
        if (revents & POLLHUP)
                events |= SLIRP_POLL_HUP;
        return events;
}

static int engine_add_tcp_poll(int fd, short events, void *opaque) {
        return engine_add_poll(
                fd, (events & POLLIN ? SLIRP_POLL_IN : 0) | (events & POLLOUT ? SLIRP_POLL_OUT : 0), opaque);
}

static short engine_tcp_revents(int idx, void *opaque) {
        struct engine *e = opaque;
        return e->pollfds[idx].revents;
}

static const SlirpCb engine_callbacks = {
        .send_packet = engine_send_packet,
        .guest_error = engine_guest_error,
        .clock_get_ns = engine_clock_get_ns,
        .timer_free = engine_timer_free,
        .timer_mod = engine_timer_mod,
        .register_poll_fd = engine_register_poll_fd,
        .unregister_poll_fd = engine_unregister_poll_fd,
        .notify = engine_notify,
        .timer_new_opaque = engine_timer_new_opaque,
};

/* libslirp's TCP has no window scaling, so its window is at most 64 KiB, and at the MSS of MTU
 * 65520 (65480 bytes) that breaks two things. The node's kernel cuts its segments to half the
 * largest window it has seen: 32767-byte packets, two per window, where at MSS 1460 one TSO
 * frame (tap_frame.h) carries the whole window. And slirp sends a window update only when its
 * window grew by two MSS or by half its buffer (192 KiB at that MSS), neither of which can happen
 * under the 64 KiB cap: once a slow host socket filled that buffer, the node waits for its
 * persist timer (200 ms and more) to learn the window opened again. An MSS of 16384 keeps both
 * working (an update once half the window reopened), with four segments per window where slirp
 * sends; segment size costs little on the tap, where TSO and tap_coalesce.c merge segments
 * (measured against 1460 and 8960: the same or better both ways). if_mtu still lets UDP and ICMP
 * use the whole MTU. */
static Slirp *engine_slirp_new(const struct network_options *options, struct engine *e) {
        struct network_layout layout;
        SlirpConfig config = {
                .version = 4,
                .restricted = 0,
                .in_enabled = true,
                .vnetwork = options->network,
                .in6_enabled = options->ipv6,
                .if_mtu = options->mtu,
                .if_mru = options->mtu < ENGINE_TCP_MRU ? options->mtu : ENGINE_TCP_MRU,
                .disable_host_loopback = !options->host_loopback,
                .enable_emu = false,
                .disable_dhcp = true, /* the node's address is set by netlink */
        };

        network_options_layout(options, &layout);
        config.vnetmask = layout.netmask;
        config.vhost = layout.gateway;
        config.vnameserver = layout.nameserver;
        config.vdhcp_start = layout.guest;
        config.vprefix_addr6 = layout.prefix6;
        config.vprefix_len = (uint8_t)layout.prefix6_len;
        config.vhost6 = layout.gateway6;
        config.vnameserver6 = layout.nameserver6;
        if (options->has_outbound_addr) {
                e->outbound =
                        (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = options->outbound_addr };
                config.outbound_addr = &e->outbound;
        }
        if (options->has_outbound_addr6) {
                e->outbound6 = (struct sockaddr_in6){ .sin6_family = AF_INET6,
                                                      .sin6_addr = options->outbound_addr6 };
                config.outbound_addr6 = &e->outbound6;
        }
        return slirp_new(&config, &engine_callbacks, e);
}

/* Hand slirp every frame waiting on the tap fd, up to a burst. Returns 0, or a negative errno
 * when the tap fd is gone (the node's network namespace was destroyed). */
static int engine_drain_tap(struct engine *e) {
        for (int i = 0; i < ENGINE_BURST; i++) {
                ssize_t n = read(e->tap_fd, e->frame, sizeof(e->frame));
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return negative_errno();
                }
                if (n == 0)
                        return -EPIPE;
                int offset = tap_frame_finish(e->frame, (size_t)n);
                if (offset < 0) {
                        log_debug("slirp engine: dropped a malformed frame of %zd bytes from the node", n);
                        continue;
                }
                slirp_input(e->slirp, e->frame + offset, (int)(n - offset));
        }
        return 0;
}

/* Fire due timers; returns the ms until the next one (or `timeout` if later). */
static uint32_t engine_run_timers(struct engine *e, uint32_t timeout) {
        int64_t now = clock_ms();

        for (struct engine_timer *t = e->timers; t; t = t->next) {
                if (t->expire_ms < 0)
                        continue;
                if (t->expire_ms <= now) {
                        t->expire_ms = -1;
                        slirp_handle_timer(e->slirp, t->id, t->cb_opaque);
                        /* The handler may have freed or re-armed timers: start over next round. */
                        return 0;
                }
                if (t->expire_ms - now < (int64_t)timeout)
                        timeout = (uint32_t)(t->expire_ms - now);
        }
        return timeout;
}

static int engine_loop(struct engine *e) {
        const struct tcp_splice_poll tcp_poll = { .add = engine_add_tcp_poll,
                                                  .revents = engine_tcp_revents,
                                                  .opaque = e };

        for (;;) {
                uint32_t timeout = UINT32_MAX;
                int r;

                e->n_pollfds = 0;
                engine_add_poll(e->tap_fd, SLIRP_POLL_IN, e); /* always index 0 */
                slirp_pollfds_fill(e->slirp, &timeout, engine_add_poll, e);
                if (tcp_splice_enabled(&e->tcp))
                        tcp_splice_fill(&e->tcp, &tcp_poll);
                timeout = engine_run_timers(e, timeout);

                /* Whatever slirp produced this round goes out before we sleep. */
                r = tap_coalesce_flush(&e->to_node, e->tap_fd);
                if (r < 0 && r != -EAGAIN)
                        return log_error_errno(r, "slirp engine: cannot write to the node's tap device: %m");

                int ready = poll(e->pollfds, e->n_pollfds, timeout == UINT32_MAX ? -1 : (int)timeout);
                if (ready < 0 && errno != EINTR)
                        return log_error_errno(errno, "slirp engine: poll: %m");
                /* slirp first, then the node's frames: slirp_pollfds_poll is where slirp reads its
                 * clock, and a frame that opens a UDP flow gets its socket's expiry from that
                 * reading. Read before the engine's first call it is 0, the socket expired at the
                 * next fill and the flow's first answer was lost; after a long idle poll it is as
                 * old as the wait. */
                slirp_pollfds_poll(e->slirp, ready < 0, engine_get_revents, e);
                if (ready > 0 && (e->pollfds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
                        r = engine_drain_tap(e);
                        if (r < 0)
                                return log_error_errno(r, "slirp engine: the node's tap device is gone: %m");
                }
                if (ready > 0 && tcp_splice_enabled(&e->tcp))
                        tcp_splice_dispatch(&e->tcp, &tcp_poll);
        }
}

/* Only the tap fd, the ready pipe, the TCP listeners and stdio survive into the engine: it must
 * not hold the launcher's channel, lock or listening sockets. Each fd (-1: absent) is moved to
 * its slot; an absent one's slot is closed. Returns 0 or a negative errno. */
static int engine_keep_only(int *fds[4]) {
        int moved[4];

        /* Out of the way first, so moving one cannot overwrite another. */
        for (int i = 0; i < 4; i++) {
                moved[i] = *fds[i] >= 0 ? fcntl(*fds[i], F_DUPFD_CLOEXEC, 100) : -1;
                if (*fds[i] >= 0 && moved[i] < 0)
                        return negative_errno();
        }
        for (int i = 0; i < 4; i++) {
                int slot = ENGINE_TAP_FD + i;
                if (moved[i] >= 0 ? dup3(moved[i], slot, O_CLOEXEC) < 0 : close(slot) < 0 && errno != EBADF)
                        return negative_errno();
                *fds[i] = moved[i] >= 0 ? slot : -1;
        }
        if (close_range(ENGINE_TCP_LISTEN_FD + 2, ~0U, 0) < 0)
                return negative_errno();
        return 0;
}

_Noreturn void slirp_engine_main(const struct network_options *options, int tap_fd, const int tcp_listen[2],
                                 int ready_fd, pid_t launcher_pid) {
        int listen4 = tcp_listen[0], listen6 = tcp_listen[1];
        static struct engine e; /* frame buffer too large for the stack */
        int r;

        log_set_prefix(SLIRP_ENGINE_NAME);
        (void)prctl(PR_SET_NAME, SLIRP_ENGINE_NAME);
        /* Die with the launcher; if it is already gone, the signal would never come. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher_pid)
                _exit(EXIT_RUNTIME);

        /* slirp writes to sockets the far end may have closed; that is a socket error for slirp
         * to handle, not a reason to die. */
        (void)signal(SIGPIPE, SIG_IGN);

        r = engine_keep_only((int *[4]){ &tap_fd, &ready_fd, &listen4, &listen6 });
        if (r < 0) {
                log_error_errno(r, "slirp engine: cannot set up its fds: %m");
                _exit(EXIT_RUNTIME);
        }
        e.tap_fd = tap_fd;
        /* Non-blocking, so a burst read stops when the tap is drained. */
        if (fcntl(e.tap_fd, F_SETFL, fcntl(e.tap_fd, F_GETFL) | O_NONBLOCK) < 0) {
                log_error_errno(errno, "slirp engine: cannot make the tap fd non-blocking: %m");
                _exit(EXIT_RUNTIME);
        }

        if (options->sandbox) {
                r = engine_sandbox_apply();
                if (r < 0)
                        _exit(EXIT_RUNTIME);
                /* Changing namespaces may have cleared the death signal; set it again, check again. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher_pid)
                        _exit(EXIT_RUNTIME);
        }

        e.allocated_pollfds = 64;
        e.pollfds = calloc(e.allocated_pollfds, sizeof(*e.pollfds));
        if (!e.pollfds)
                _exit(EXIT_RUNTIME);
        r = tcp_splice_init(&e.tcp, options, (int[2]){ listen4, listen6 });
        if (r < 0) {
                log_error_errno(r, "slirp engine: cannot set up the kernel TCP path: %m");
                _exit(EXIT_RUNTIME);
        }
        e.slirp = engine_slirp_new(options, &e);
        if (!e.slirp) {
                log_error("slirp engine: libslirp refused the configuration");
                _exit(EXIT_RUNTIME);
        }
        log_debug("slirp engine: serving the node, MTU %u, outbound TCP %s", options->mtu,
                  tcp_splice_enabled(&e.tcp) ? "spliced from the node's kernel" : "through slirp");
        /* Sandboxed and configured: tell the launcher, who may be waiting to report failure. */
        if (ready_fd >= 0) {
                (void)!write(ready_fd, "", 1);
                close(ready_fd);
        }
        (void)engine_loop(&e);
        _exit(EXIT_RUNTIME);
}
