/* tcp_splice.c: accept, connect and splice the node's redirected TCP connections. */
#include "netns/tcp_splice.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/log.h"
#include "netns/tcp_destination.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define PIPE_SIZE (1024 * 1024) /* fewer splice calls per byte; falls back to the default */
#define FDS_PER_FLOW 6 /* two sockets, two pipes */
#define FDS_RESERVED 64 /* for slirp's own sockets */
#define ACCEPT_BURST 16
#define PUMP_ROUNDS 4

/* One direction: src -> pipe -> dst. */
struct tcp_pump {
        int pipe[2];
        size_t queued, capacity;
        bool eof; /* src said FIN */
        bool shut; /* dst got our FIN */
};

struct tcp_flow {
        struct tcp_flow *next, **prevp;
        int fd[2]; /* [0] the node's connection, [1] the host socket */
        bool connecting;
        struct tcp_pump pump[2]; /* [0] node -> host, [1] host -> node */
        int index[2]; /* in this round's poll set, -1 when not offered */
};

int tcp_splice_init(struct tcp_splice *s, const struct network_options *options, const int listen_fd[2]) {
        struct rlimit limit;

        *s = (struct tcp_splice){ .options = options,
                                  .listen_fd = { listen_fd[0], listen_fd[1] },
                                  .listen_index = { -1, -1 } };
        /* Six fds a flow: the soft limit goes up to the hard one, and the listeners rest when
         * what is left would not do (connections wait in the node's backlog meanwhile). */
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
                limit.rlim_cur = limit.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &limit);
        }
        if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
                return negative_errno();
        s->max_flows = limit.rlim_cur > FDS_RESERVED + FDS_PER_FLOW
                               ? (size_t)(limit.rlim_cur - FDS_RESERVED) / FDS_PER_FLOW
                               : 1;
        return 0;
}

static void pump_close(struct tcp_pump *p) {
        for (int i = 0; i < 2; i++)
                if (p->pipe[i] >= 0)
                        close(p->pipe[i]);
}

/* Close the flow; with `reset_side` 0 or 1, that side's peer gets a reset rather than a FIN. */
static void flow_free(struct tcp_splice *s, struct tcp_flow *f, int reset_side) {
        if (reset_side >= 0)
                (void)setsockopt(f->fd[reset_side], SOL_SOCKET, SO_LINGER,
                                 &(struct linger){ .l_onoff = 1, .l_linger = 0 }, sizeof(struct linger));
        for (int i = 0; i < 2; i++) {
                if (f->fd[i] >= 0)
                        close(f->fd[i]);
                pump_close(&f->pump[i]);
        }
        *f->prevp = f->next;
        if (f->next)
                f->next->prevp = f->prevp;
        s->n_flows--;
        free(f);
}

static int pump_init(struct tcp_pump *p) {
        *p = (struct tcp_pump){ .pipe = { -EBADF, -EBADF } };
        if (pipe2(p->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        (void)fcntl(p->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
        int size = fcntl(p->pipe[1], F_GETPIPE_SZ);
        p->capacity = size > 0 ? (size_t)size : 65536;
        return 0;
}

/* Where the node's client meant to go. */
static int original_destination(int fd, int family, struct sockaddr_storage *ret) {
        socklen_t length = sizeof(*ret);

        memset(ret, 0, sizeof(*ret));
        if (family == AF_INET6) {
                if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ret, &length) < 0)
                        return negative_errno();
        } else if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ret, &length) < 0)
                return negative_errno();
        return 0;
}

static bool is_loopback(const struct sockaddr_storage *a) {
        if (a->ss_family == AF_INET6)
                return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
}

/* A connection that never leaves the machine gets reno rather than the host's default. The
 * default is often bbr, which paces: on loopback that is hrtimer wakeups and TSO segments sized
 * to a pacing rate, for a link with no queue to protect (the node's side of every flow is
 * loopback in the node). Reno is always built in and always allowed; should it be refused the
 * default stays. */
static void loopback_congestion(int fd) {
        static const char reno[] = "reno";

        (void)setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, reno, sizeof(reno) - 1);
}

/* Start connecting the host socket of a flow whose node side was just accepted. */
static int flow_connect(struct tcp_splice *s, struct tcp_flow *f, int family) {
        struct sockaddr_storage original, target, bind_to;
        socklen_t length;
        int r;

        r = original_destination(f->fd[0], family, &original);
        if (r < 0)
                return r;
        r = tcp_destination_map(s->options, &original, &target, &bind_to);
        if (r < 0)
                return r;
        length = target.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        f->fd[1] = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (f->fd[1] < 0)
                return negative_errno();
        if (bind_to.ss_family != AF_UNSPEC && bind(f->fd[1], (struct sockaddr *)&bind_to, length) < 0)
                return negative_errno();
        /* Splice hands over whole pipe loads: no reason to hold the tail of one back. */
        (void)setsockopt(f->fd[1], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        (void)setsockopt(f->fd[0], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        loopback_congestion(f->fd[0]);
        if (is_loopback(&target))
                loopback_congestion(f->fd[1]);
        if (connect(f->fd[1], (struct sockaddr *)&target, length) < 0) {
                if (errno != EINPROGRESS)
                        return negative_errno();
                f->connecting = true;
        }
        return 0;
}

/* Accept one connection and start its flow. Returns false when there was none to accept. */
static bool accept_one(struct tcp_splice *s, int which) {
        int fd = accept4(s->listen_fd[which], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct tcp_flow *f;
        int r;

        if (fd < 0)
                return errno == ECONNABORTED; /* else EAGAIN, or out of fds or memory: next round */
        f = calloc(1, sizeof(*f));
        if (!f) {
                close(fd);
                return false;
        }
        *f = (struct tcp_flow){ .fd = { fd, -EBADF }, .index = { -1, -1 } };
        f->pump[0].pipe[0] = f->pump[0].pipe[1] = f->pump[1].pipe[0] = f->pump[1].pipe[1] = -EBADF;
        f->next = s->flows;
        f->prevp = &s->flows;
        if (s->flows)
                s->flows->prevp = &f->next;
        s->flows = f;
        s->n_flows++;
        r = pump_init(&f->pump[0]);
        if (r >= 0)
                r = pump_init(&f->pump[1]);
        if (r >= 0)
                r = flow_connect(s, f, which == 1 ? AF_INET6 : AF_INET);
        if (r < 0) {
                log_debug_errno(r, "kernel TCP path: cannot connect a connection of the node: %m");
                flow_free(s, f, 0); /* the node's client sees a reset, as for a refused connect */
        }
        return true;
}

/* Move what `src` has through the pipe to `dst`, a few pipe loads while both keep up (fewer
 * rounds of the engine's poll for a bulk stream). Returns -1, or the side (0/1) whose socket
 * failed (a reset, mostly). */
static int pump_run(struct tcp_flow *f, int direction, bool readable) {
        struct tcp_pump *p = &f->pump[direction];
        int src = f->fd[direction], dst = f->fd[!direction];

        for (int round = 0; round < PUMP_ROUNDS; round++) {
                bool moved = false;
                if (readable && !p->eof && p->queued < p->capacity) {
                        ssize_t n = splice(src, NULL, p->pipe[1], NULL, p->capacity - p->queued,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                p->queued += (size_t)n;
                                moved = true;
                        } else if (n == 0)
                                p->eof = true;
                        else if (errno == EAGAIN || errno == EINTR)
                                readable = false;
                        else
                                return direction;
                }
                if (p->queued > 0) {
                        ssize_t n = splice(p->pipe[0], NULL, dst, NULL, p->queued,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                p->queued -= (size_t)n;
                                moved = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                return !direction;
                }
                if (!moved)
                        break;
        }
        if (p->eof && p->queued == 0 && !p->shut) {
                (void)shutdown(dst, SHUT_WR);
                p->shut = true;
        }
        return -1;
}

void tcp_splice_fill(struct tcp_splice *s, const struct tcp_splice_poll *poll) {
        for (int i = 0; i < 2; i++)
                s->listen_index[i] = s->listen_fd[i] >= 0 && s->n_flows < s->max_flows
                                             ? poll->add(s->listen_fd[i], POLLIN, poll->opaque)
                                             : -1;
        for (struct tcp_flow *f = s->flows; f; f = f->next) {
                short events[2] = { 0, 0 };
                if (f->connecting)
                        events[1] = POLLOUT;
                else
                        for (int d = 0; d < 2; d++) {
                                struct tcp_pump *p = &f->pump[d];
                                if (!p->eof && p->queued < p->capacity)
                                        events[d] |= POLLIN;
                                if (p->queued > 0)
                                        events[!d] |= POLLOUT;
                        }
                for (int i = 0; i < 2; i++)
                        f->index[i] = events[i] ? poll->add(f->fd[i], events[i], poll->opaque) : -1;
        }
}

/* One flow after poll. Returns false when it was freed. */
static bool flow_dispatch(struct tcp_splice *s, struct tcp_flow *f, const struct tcp_splice_poll *poll) {
        short revents[2];

        for (int i = 0; i < 2; i++)
                revents[i] = f->index[i] >= 0 ? poll->revents(f->index[i], poll->opaque) : 0;
        if (f->connecting) {
                int error = 0;
                socklen_t length = sizeof(error);
                if (!revents[1])
                        return true;
                if (getsockopt(f->fd[1], SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                        error = errno;
                if (error == EINPROGRESS || error == EALREADY)
                        return true;
                if (error != 0) {
                        flow_free(s, f, 0); /* refused, unreachable, timed out: reset the client */
                        return false;
                }
                f->connecting = false;
                revents[0] = POLLIN; /* whatever the client sent meanwhile */
        }
        for (int d = 0; d < 2; d++) {
                int failed = pump_run(f, d, revents[d] & (POLLIN | POLLHUP | POLLERR));
                if (failed >= 0) {
                        /* A reset (or worse) on one side is passed on as a reset to the other. */
                        flow_free(s, f, !failed);
                        return false;
                }
        }
        if (f->pump[0].shut && f->pump[1].shut) {
                flow_free(s, f, -1);
                return false;
        }
        return true;
}

void tcp_splice_dispatch(struct tcp_splice *s, const struct tcp_splice_poll *poll) {
        for (struct tcp_flow *f = s->flows, *next; f; f = next) {
                next = f->next;
                (void)flow_dispatch(s, f, poll);
        }
        /* New flows after the old ones: their poll indices belong to the next round. */
        for (int i = 0; i < 2; i++)
                if (s->listen_index[i] >= 0 && (poll->revents(s->listen_index[i], poll->opaque) & POLLIN))
                        for (int k = 0; k < ACCEPT_BURST && s->n_flows < s->max_flows; k++)
                                if (!accept_one(s, i))
                                        break;
}
