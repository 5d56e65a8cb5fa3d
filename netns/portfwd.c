/* portfwd.c: the port forwarder (portfwd.h): listeners, node sockets at hand and dials through
 * the node's dial helper, the splice engine for TCP and the per-client flows for UDP, all on
 * the launcher's event loop. */
#include "netns/portfwd.h"

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/siphash.h"
#include "netns/dial.h"

#define DIAL_IN_FLIGHT_MAX 64 /* keeps both directions of the dial channel far below its buffer */
#define ACCEPT_BURST 64 /* connections accepted per wakeup, so other listeners get a turn */
#define ACCEPT_PAUSE_USEC (100 * 1000ULL) /* after EMFILE: let connections close before retrying */
#define FD_HEADROOM 16 /* files kept free for pipes, timers and the control socket at the limit */
#define PIPE_SIZE (1024 * 1024) /* fewer splice calls per byte; falls back to the default */
#define PIPE_POOL_MAX 16 /* idle pipes kept for the next burst */
#define PUMP_ROUNDS 32 /* splice rounds per connection per wakeup, for fairness */
#define UDP_BURST 256 /* datagrams per wakeup */
#define UDP_FLOWS_MAX 4096 /* per listener: client addresses are attacker-chosen */
#define UDP_BUCKETS_MIN 16 /* the flow table's first size; it doubles up to UDP_FLOWS_MAX */
#define UDP_QUEUE_MAX 32 /* datagrams held while a flow's socket is being dialed */
#define UDP_DATAGRAM_MAX 65536
#define SOCKET_POOL_MAX 32 /* unconnected node sockets kept at hand, per address family */
#define SOCKET_POOL_LOW 16 /* below this many (counting those asked for), ask for more */

enum { CLIENT, NODE };

/* A request to the dial helper; the owner learns the outcome through done(). */
struct dial_call {
        TAILQ_ENTRY(dial_call) link;
        uint64_t cookie;
        bool sent;
        int protocol;
        struct sockaddr_storage address;
        uint32_t address_length;
        void (*done)(void *owner, int fd_or_error);
        void *owner; /* NULL once the owner went away: the reply's socket is then closed */
};
TAILQ_HEAD(dial_call_list, dial_call);
struct tcp_conn;
LIST_HEAD(conn_list, tcp_conn);

/* Bytes flowing from one socket of a connection to the other. */
struct tcp_half {
        int pipe[2]; /* read end, write end; -EBADF while the half holds no pipe */
        size_t pending; /* bytes in the pipe */
        size_t capacity; /* of the pipe */
        bool eof; /* the source sent FIN */
        bool shut; /* the destination was shut down for writing */
};

struct port_entry;

struct tcp_conn {
        struct portfwd *pf;
        struct port_entry *entry; /* NULL once its port was removed */
        LIST_ENTRY(tcp_conn) entry_link;
        LIST_ENTRY(tcp_conn) pf_link;
        int fd[2]; /* [CLIENT], [NODE] */
        sd_event_source *source[2];
        sd_event_source *resume; /* continues a pump that used up its rounds */
        unsigned resume_mask; /* the halves it continues */
        bool writable_watched[2];
        struct tcp_half half[2]; /* half[CLIENT]: client -> node; half[NODE]: node -> client */
        struct dial_call *call;
};

struct queued_datagram {
        STAILQ_ENTRY(queued_datagram) link;
        size_t length;
        char data[];
};

struct listener;

/* What tells UDP flows apart: who sent (client) and, on a wildcard listener, which of the host's
 * addresses it sent to (local; zero on a listener bound to one address). Zeroed before it is
 * filled, so it hashes and compares as plain bytes. */
struct flow_key {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } client;
        union {
                struct in_addr in;
                struct in6_addr in6;
        } local;
};

struct udp_flow {
        struct listener *listener;
        LIST_ENTRY(udp_flow) link; /* in its bucket of the listener's flow table */
        struct flow_key key;
        uint64_t hash; /* of key */
        int fd; /* connected inside the node; -EBADF while dialing */
        sd_event_source *source;
        sd_event_source *timer;
        uint64_t last_active;
        struct dial_call *call;
        STAILQ_HEAD(datagram_queue, queued_datagram) queue;
        unsigned n_queued;
};
LIST_HEAD(flow_bucket, udp_flow);

struct listener {
        struct port_entry *entry;
        unsigned index; /* in the spec's range */
        int fd;
        sd_event_source *source;
        sd_event_source *pause_timer;
        bool at_limit; /* paused for the file limit since the backlog was last drained: said once */
        bool pktinfo; /* UDP on a wildcard address: datagrams say which local address they went to */
        /* The UDP flows, hashed by key: client addresses are attacker-chosen, so a lookup must
         * not cost more with more flows, and the hash must be keyed (pf->hash_key). */
        struct flow_bucket *buckets; /* NULL until the first flow */
        unsigned n_buckets; /* a power of two */
        unsigned n_flows;
};

struct port_entry {
        TAILQ_ENTRY(port_entry) link;
        struct portfwd *pf;
        unsigned id;
        struct port_spec spec;
        struct conn_list conns;
        uint64_t n_conns;
        unsigned n_listeners; /* bound so far */
        struct listener listeners[];
};

struct portfwd {
        sd_event *event;
        int dial_fd;
        sd_event_source *dial_source;
        bool dial_dead;
        uint64_t next_cookie;
        struct dial_call_list dial_queue; /* not sent yet */
        struct dial_call_list dial_in_flight; /* sent, waiting for the reply */
        unsigned n_in_flight;
        unsigned n_calls; /* queued or in flight: each reply may bring a socket */
        rlim_t fd_limit; /* RLIMIT_NOFILE, after raise_fd_limit() */

        TAILQ_HEAD(entry_list, port_entry) entries;
        unsigned next_id;
        struct conn_list conns;
        uint64_t udp_idle_usec;

        struct pooled_pipe {
                int fds[2];
                size_t capacity;
        } pool[PIPE_POOL_MAX];
        unsigned n_pool;
        char *datagram; /* UDP_DATAGRAM_MAX bytes */
        uint8_t hash_key[SIPHASH_KEY_SIZE]; /* random, per process: flow buckets are unpredictable */

        /* Unconnected TCP sockets made in the node (dial.h): [0] AF_INET, [1] AF_INET6. */
        struct socket_pool {
                int fds[SOCKET_POOL_MAX];
                unsigned n;
                unsigned asked; /* requested, not arrived yet */
        } sockets[2];
};

/* ---- small helpers ---- */

static int socket_error(int fd) {
        int error = 0;
        socklen_t length = sizeof(error);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                return errno;
        return error;
}

/* Closing with SO_LINGER 0 sends RST instead of FIN: how a reset is passed on. */
static void set_reset_on_close(int fd) {
        struct linger linger = { .l_onoff = 1, .l_linger = 0 };
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
}

/* Returns the soft limit in force afterwards. */
static rlim_t raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return RLIM_INFINITY;
        if (rl.rlim_cur >= rl.rlim_max)
                return rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                log_debug_errno(errno, "Failed to raise RLIMIT_NOFILE: %m");
                (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        return rl.rlim_cur;
}

/* ---- pipes ---- */

static int pipe_take(struct portfwd *pf, struct tcp_half *h) {
        if (pf->n_pool > 0) {
                struct pooled_pipe *p = &pf->pool[--pf->n_pool];
                h->pipe[0] = p->fds[0];
                h->pipe[1] = p->fds[1];
                h->capacity = p->capacity;
                return 0;
        }
        if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                return negative_errno();
        /* A bigger pipe moves more per splice call. Over the user's pipe budget
         * (fs.pipe-user-pages-soft) this fails and the default size does. */
        (void)fcntl(h->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
        int size = fcntl(h->pipe[1], F_GETPIPE_SZ);
        h->capacity = size > 0 ? (size_t)size : 4096;
        return 0;
}

/* An empty pipe goes back to the pool; one with bytes left in it (its connection died) is
 * closed. */
static void pipe_release(struct portfwd *pf, struct tcp_half *h) {
        if (h->pipe[0] < 0)
                return;
        if (h->pending == 0 && pf->n_pool < PIPE_POOL_MAX) {
                pf->pool[pf->n_pool++] =
                        (struct pooled_pipe){ .fds = { h->pipe[0], h->pipe[1] }, .capacity = h->capacity };
        } else {
                close(h->pipe[0]);
                close(h->pipe[1]);
        }
        h->pipe[0] = h->pipe[1] = -EBADF;
        h->pending = 0;
}

/* Closes the idle pipes: at the open-file limit they are the first files to give back. */
static void pipe_pool_empty(struct portfwd *pf) {
        while (pf->n_pool > 0) {
                struct pooled_pipe *p = &pf->pool[--pf->n_pool];
                close(p->fds[0]);
                close(p->fds[1]);
        }
}

/* ---- dialing through the node init ---- */

static void dial_call_finish(struct portfwd *pf, struct dial_call *call, int fd_or_error) {
        pf->n_calls--;
        if (call->owner)
                call->done(call->owner, fd_or_error);
        else if (fd_or_error >= 0)
                close(fd_or_error);
        free(call);
}

static void dial_flush(struct portfwd *pf) {
        while (pf->n_in_flight < DIAL_IN_FLIGHT_MAX && !TAILQ_EMPTY(&pf->dial_queue)) {
                struct dial_call *call = TAILQ_FIRST(&pf->dial_queue);
                int r = pf->dial_dead ? -ECONNRESET
                                      : dial_send_request(pf->dial_fd, call->cookie, call->protocol,
                                                          &call->address, call->address_length);
                if (r == -EAGAIN)
                        return; /* retried when the next reply frees room */
                TAILQ_REMOVE(&pf->dial_queue, call, link);
                if (r < 0) {
                        dial_call_finish(pf, call, r);
                        continue;
                }
                call->sent = true;
                TAILQ_INSERT_TAIL(&pf->dial_in_flight, call, link);
                pf->n_in_flight++;
        }
}

/* Sends the request now when there is room, else queues it. Returns NULL when the dial cannot
 * even be asked for (out of memory, the node init is gone): the caller then gives up itself,
 * and done() is never called from inside dial_start(). */
static struct dial_call *dial_start(struct portfwd *pf, int protocol, const struct sockaddr_storage *address,
                                    uint32_t address_length, void (*done)(void *, int), void *owner) {
        if (pf->dial_dead)
                return NULL;
        struct dial_call *call = calloc(1, sizeof(*call));
        if (!call)
                return NULL;
        *call = (struct dial_call){ .cookie = ++pf->next_cookie,
                                    .protocol = protocol,
                                    .address_length = address_length,
                                    .done = done,
                                    .owner = owner };
        memcpy(&call->address, address, address_length);
        pf->n_calls++;
        if (pf->n_in_flight < DIAL_IN_FLIGHT_MAX && TAILQ_EMPTY(&pf->dial_queue)) {
                int r = dial_send_request(pf->dial_fd, call->cookie, protocol, address, address_length);
                if (r == 0) {
                        call->sent = true;
                        TAILQ_INSERT_TAIL(&pf->dial_in_flight, call, link);
                        pf->n_in_flight++;
                        return call;
                }
                if (r != -EAGAIN) {
                        pf->n_calls--;
                        free(call);
                        return NULL;
                }
        }
        TAILQ_INSERT_TAIL(&pf->dial_queue, call, link);
        return call;
}

/* The owner goes away before the reply: forget it; a socket that still arrives is closed. */
static void dial_cancel(struct portfwd *pf, struct dial_call *call) {
        if (!call)
                return;
        if (call->sent) {
                call->owner = NULL;
                return;
        }
        TAILQ_REMOVE(&pf->dial_queue, call, link);
        pf->n_calls--;
        free(call);
}

/* The node init is gone: every dial fails from now on. */
static void dial_fail_all(struct portfwd *pf, int error) {
        pf->dial_dead = true;
        sd_event_source_set_enabled(pf->dial_source, SD_EVENT_OFF);
        while (!TAILQ_EMPTY(&pf->dial_in_flight)) {
                struct dial_call *call = TAILQ_FIRST(&pf->dial_in_flight);
                TAILQ_REMOVE(&pf->dial_in_flight, call, link);
                pf->n_in_flight--;
                dial_call_finish(pf, call, error);
        }
        dial_flush(pf); /* fails the queued ones */
}

/* ---- unconnected node sockets at hand ---- */

static struct socket_pool *socket_pool_of(struct portfwd *pf, int family) {
        return &pf->sockets[family == AF_INET6 ? 1 : 0];
}

static void socket_pool_refill(struct portfwd *pf, int family) {
        struct socket_pool *p = socket_pool_of(pf, family);
        unsigned want = SOCKET_POOL_MAX - p->n - p->asked;

        if (pf->dial_dead || p->n + p->asked >= SOCKET_POOL_LOW)
                return;
        if (dial_send_sockets_request(pf->dial_fd, family, want) == 0)
                p->asked += want;
}

/* A socket in the node to connect() from here, or -EBADF when none is at hand. */
static int socket_pool_take(struct portfwd *pf, int family) {
        struct socket_pool *p = socket_pool_of(pf, family);
        int fd = p->n > 0 ? p->fds[--p->n] : -EBADF;

        socket_pool_refill(pf, family);
        return fd;
}

/* fd is -EBADF for a socket that was lost on the way: it no longer counts as asked for. */
static void socket_pool_put(struct portfwd *pf, int family, int fd) {
        struct socket_pool *p = socket_pool_of(pf, family);

        if (p->asked > 0)
                p->asked--;
        if (fd < 0)
                return;
        if (p->n < SOCKET_POOL_MAX)
                p->fds[p->n++] = fd;
        else
                close(fd);
}

static int on_dial_reply(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct portfwd *pf = userdata;
        (void)source;
        (void)revents;

        for (;;) {
                struct dial_answer answer;
                int sock = -EBADF;
                int r = dial_recv(fd, &answer, &sock);
                if (r == -EAGAIN)
                        break;
                /* At the open-file limit the kernel drops the socket of an answer: a pooled one
                 * is simply not coming, a dial fails (its client is closed, not left hanging). */
                bool lost = r == -EMFILE;
                if (lost) {
                        log_debug("port forwarder: a socket from the dial helper was lost at the open-file "
                                  "limit");
                        r = 0;
                }
                if (r == -EBADMSG) {
                        log_warning("port forwarder: ignoring a malformed reply from the dial helper");
                        continue;
                }
                if (r < 0) {
                        if (r != -ECONNRESET)
                                log_warning_errno(r, "port forwarder: dial channel failed: %m");
                        dial_fail_all(pf, -ECONNRESET);
                        return 0;
                }
                if (answer.type == DIAL_MSG_SOCKET) {
                        socket_pool_put(pf, answer.socket.family, sock);
                        continue;
                }
                struct dial_reply reply = answer.reply;
                if (lost && reply.error == 0)
                        reply.error = EMFILE;
                struct dial_call *call;
                for (call = TAILQ_FIRST(&pf->dial_in_flight); call; call = TAILQ_NEXT(call, link))
                        if (call->cookie == reply.cookie)
                                break;
                if (!call) {
                        if (sock >= 0)
                                close(sock);
                        continue;
                }
                TAILQ_REMOVE(&pf->dial_in_flight, call, link);
                pf->n_in_flight--;
                if (reply.error != 0 && sock >= 0) {
                        close(sock);
                        sock = -EBADF;
                }
                dial_call_finish(pf, call,
                                 reply.error != 0 ? -abs(reply.error)
                                 : sock >= 0      ? sock
                                                  : -EBADMSG);
        }
        dial_flush(pf);
        return 0;
}

/* ---- TCP: the splice engine ---- */

static void conn_free(struct tcp_conn *c) {
        struct portfwd *pf = c->pf;

        dial_cancel(pf, c->call);
        for (int s = CLIENT; s <= NODE; s++) {
                sd_event_source_disable_unref(c->source[s]);
                if (c->fd[s] >= 0)
                        close(c->fd[s]);
                pipe_release(pf, &c->half[s]);
        }
        sd_event_source_disable_unref(c->resume);
        if (c->entry) {
                LIST_REMOVE(c, entry_link);
                c->entry->n_conns--;
        }
        LIST_REMOVE(c, pf_link);
        free(c);
}

/* Side `failed` was reset or broke: pass the reset on to the other side and drop both. */
static void conn_reset(struct tcp_conn *c, int failed) {
        int other = failed == CLIENT ? NODE : CLIENT;
        if (c->fd[other] >= 0)
                set_reset_on_close(c->fd[other]);
        conn_free(c);
}

/* A destination that would block gets EPOLLOUT added to its watch. Connections start with
 * EPOLLIN only, so short request/response connections never wake up just for being
 * writable. (Edge-triggered: once on, EPOLLOUT only fires after a write that would block.) */
static int conn_want_writable(struct tcp_conn *c, int side) {
        if (c->writable_watched[side])
                return 0;
        c->writable_watched[side] = true;
        return sd_event_source_set_io_events(c->source[side], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

/* Moves bytes from fd[from] to the other side until both would block, the pipe's bytes are all
 * delivered, or *rounds runs out. Returns 0, or a negative errno with *failed naming the side
 * whose socket broke. */
static int half_pump(struct tcp_conn *c, int from, unsigned *rounds, int *failed) {
        struct tcp_half *h = &c->half[from];
        int src = c->fd[from], dst = c->fd[from == CLIENT ? NODE : CLIENT];
        int r;

        while (*rounds > 0) {
                bool progress = false;

                if (!h->eof && (h->pipe[0] < 0 || h->pending < h->capacity)) {
                        if (h->pipe[0] < 0) {
                                r = pipe_take(c->pf, h);
                                if (r < 0) {
                                        *failed = from;
                                        return r;
                                }
                        }
                        ssize_t n = splice(src, NULL, h->pipe[1], NULL, h->capacity - h->pending,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                h->pending += (size_t)n;
                                progress = true;
                        } else if (n == 0) {
                                h->eof = true;
                        } else if (errno != EAGAIN && errno != EINTR) {
                                *failed = from;
                                return negative_errno();
                        }
                }
                if (h->pending > 0) {
                        ssize_t n = splice(h->pipe[0], NULL, dst, NULL, h->pending,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                h->pending -= (size_t)n;
                                progress = true;
                        } else if (n < 0 && errno == EAGAIN) {
                                r = conn_want_writable(c, from == CLIENT ? NODE : CLIENT);
                                if (r < 0) {
                                        *failed = from;
                                        return r;
                                }
                        } else if (n < 0 && errno != EINTR) {
                                *failed = from == CLIENT ? NODE : CLIENT;
                                return negative_errno();
                        }
                }
                if (!progress)
                        break;
                (*rounds)--;
        }

        /* Idle halves hold no pipe: 500 idle connections cost 1000 sockets and no pipes. */
        if (h->pending == 0)
                pipe_release(c->pf, h);
        if (h->eof && h->pending == 0 && !h->shut) {
                /* Half-close: the source's FIN becomes ours towards the destination. */
                if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN) {
                        *failed = from == CLIENT ? NODE : CLIENT;
                        return negative_errno();
                }
                h->shut = true;
        }
        return 0;
}

static bool half_done(const struct tcp_half *h) {
        return h->eof && h->pending == 0 && h->shut;
}

static int on_conn_resume(sd_event_source *source, void *userdata);

#define HALF(from) (1u << (from))

/* Pumps the halves in mask (HALF(CLIENT): client -> node, HALF(NODE): node -> client). */
static void conn_pump(struct tcp_conn *c, unsigned mask) {
        unsigned rounds = PUMP_ROUNDS, unfinished = 0;
        int failed = CLIENT;

        for (int from = CLIENT; from <= NODE; from++) {
                if (!(mask & HALF(from)))
                        continue;
                rounds = PUMP_ROUNDS;
                if (half_pump(c, from, &rounds, &failed) < 0) {
                        conn_reset(c, failed);
                        return;
                }
                if (rounds == 0)
                        unfinished |= HALF(from);
        }
        if (half_done(&c->half[CLIENT]) && half_done(&c->half[NODE])) {
                conn_free(c);
                return;
        }
        if (unfinished) {
                /* Edge-triggered: nothing will wake us for bytes we left behind; come back after
                 * the other connections had their turn. */
                if (!c->resume && sd_event_add_defer(c->pf->event, &c->resume, on_conn_resume, c) < 0) {
                        conn_reset(c, CLIENT);
                        return;
                }
                c->resume_mask |= unfinished;
                sd_event_source_set_enabled(c->resume, SD_EVENT_ONESHOT);
        }
}

static int on_conn_resume(sd_event_source *source, void *userdata) {
        struct tcp_conn *c = userdata;
        unsigned mask = c->resume_mask;
        (void)source;

        c->resume_mask = 0;
        conn_pump(c, mask);
        return 0;
}

static int on_conn_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct tcp_conn *c = userdata;
        int side = fd == c->fd[CLIENT] ? CLIENT : NODE, other = side == CLIENT ? NODE : CLIENT;
        unsigned mask = 0;
        (void)source;

        if ((revents & EPOLLERR) && socket_error(fd) != 0) {
                conn_reset(c, side);
                return 0;
        }
        /* Readable: the half this socket feeds; writable: the half that feeds it. Pumping only
         * those saves a splice that would just say EAGAIN. */
        if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                mask |= HALF(side);
        if (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                mask |= HALF(other);
        conn_pump(c, mask);
        return 0;
}

/* Both sockets are connected: watch them, edge-triggered. */
static void conn_attach(struct tcp_conn *c) {
        for (int s = CLIENT; s <= NODE; s++) {
                int r = sd_event_add_io(c->pf->event, &c->source[s], c->fd[s],
                                        EPOLLIN | EPOLLRDHUP | EPOLLET, on_conn_io, c);
                if (r < 0) {
                        log_warning_errno(r, "port forwarder: failed to watch a connection: %m");
                        conn_reset(c, NODE);
                        return;
                }
        }
        /* No pump here: adding an edge-triggered watch reports what is already readable (the
         * client may have written while we dialed), and the next turn of the loop pumps it. */
}

static void on_conn_dialed(void *owner, int fd_or_error) {
        struct tcp_conn *c = owner;

        c->call = NULL;
        if (fd_or_error < 0) {
                /* Nothing listens there (or the node is gone): the client learns it at once. */
                log_debug_errno(fd_or_error, "port forwarder: dial inside the node failed: %m");
                conn_reset(c, NODE);
                return;
        }
        c->fd[NODE] = fd_or_error;
        conn_attach(c);
}

static int on_conn_connected(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct tcp_conn *c = userdata;
        (void)revents;

        c->source[NODE] = sd_event_source_disable_unref(source);
        if (socket_error(fd) != 0) {
                conn_reset(c, NODE);
                return 0;
        }
        conn_attach(c);
        return 0;
}

/* Connects sock, a socket made in the node, from here: the same as a dial, minus the round
 * trip to the init. */
static void conn_connect(struct tcp_conn *c, int sock, const struct sockaddr_storage *node,
                         uint32_t length) {
        c->fd[NODE] = sock;
        if (connect(sock, (const struct sockaddr *)node, length) == 0) {
                conn_attach(c);
                return;
        }
        if (errno != EINPROGRESS) {
                conn_reset(c, NODE);
                return;
        }
        /* On loopback the handshake (or the RST of a closed port) has been processed by the
         * time connect() returns: look before involving the event loop. */
        struct pollfd p = { .fd = sock, .events = POLLOUT };
        if (poll(&p, 1, 0) == 1) {
                if (p.revents & (POLLERR | POLLHUP))
                        conn_reset(c, NODE);
                else
                        conn_attach(c);
                return;
        }
        if (sd_event_add_io(c->pf->event, &c->source[NODE], sock, EPOLLOUT, on_conn_connected, c) < 0)
                conn_reset(c, NODE);
}

static void conn_start(struct listener *l, int client_fd) {
        struct portfwd *pf = l->entry->pf;
        struct sockaddr_storage node;
        uint32_t node_length = (uint32_t)portspec_node_sockaddr(&l->entry->spec, l->index, &node);

        struct tcp_conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(client_fd);
                return;
        }
        *c = (struct tcp_conn){ .pf = pf, .entry = l->entry, .fd = { client_fd, -EBADF } };
        for (int s = CLIENT; s <= NODE; s++)
                c->half[s].pipe[0] = c->half[s].pipe[1] = -EBADF;
        LIST_INSERT_HEAD(&pf->conns, c, pf_link);
        LIST_INSERT_HEAD(&l->entry->conns, c, entry_link);
        l->entry->n_conns++;
        int sock = socket_pool_take(pf, node.ss_family);
        if (sock >= 0) {
                conn_connect(c, sock, &node, node_length);
                return;
        }
        c->call = dial_start(pf, IPPROTO_TCP, &node, node_length, on_conn_dialed, c);
        if (!c->call)
                conn_reset(c, NODE);
}

static int on_accept_resume(sd_event_source *source, uint64_t usec, void *userdata) {
        struct listener *l = userdata;
        (void)usec;

        l->pause_timer = sd_event_source_disable_unref(source);
        sd_event_source_set_enabled(l->source, SD_EVENT_ON);
        return 0;
}

/* Stops accepting on l for ACCEPT_PAUSE_USEC; what arrives meanwhile waits in the backlog. Said
 * once per episode, not every ACCEPT_PAUSE_USEC. */
static void listener_pause(struct listener *l, int error) {
        if (l->pause_timer)
                return;
        pipe_pool_empty(l->entry->pf);
        if (!l->at_limit)
                log_warning_errno(error,
                                  "port forwarder: cannot accept more connections now (%m); they wait until "
                                  "some close. Raise the open-file limit (ulimit -Hn) for more at once");
        l->at_limit = true;
        if (sd_event_add_time_relative(l->entry->pf->event, &l->pause_timer, CLOCK_MONOTONIC,
                                       ACCEPT_PAUSE_USEC, 0, on_accept_resume, l) >= 0)
                sd_event_source_set_enabled(l->source, SD_EVENT_OFF);
}

/* Whether accepting client, the lowest free fd number at the time, left too few files for the
 * sockets still to come from the node (a dial's reply, pooled sockets asked for) and for pipes:
 * at the limit the kernel drops a passed socket, and its connection fails instead of waiting in
 * the backlog. Files above client may be in use too, so this may overestimate the room; a lost
 * socket is then handled in on_dial_reply(). */
static bool fd_headroom_low(struct portfwd *pf, int client) {
        uint64_t need = (uint64_t)client + 1 + pf->n_calls + pf->sockets[0].asked + pf->sockets[1].asked +
                        FD_HEADROOM;
        return pf->fd_limit != RLIM_INFINITY && need >= (uint64_t)pf->fd_limit;
}

static int on_tcp_listener(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct listener *l = userdata;
        struct portfwd *pf = l->entry->pf;
        (void)source;
        (void)revents;

        for (int i = 0; i < ACCEPT_BURST; i++) {
                int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (client >= 0) {
                        conn_start(l, client);
                        if (fd_headroom_low(pf, client)) {
                                listener_pause(l, EMFILE);
                                break;
                        }
                        continue;
                }
                if (errno == EAGAIN || errno == EINTR) {
                        l->at_limit = false; /* the backlog is drained */
                        break;
                }
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The connection stays in the backlog; try again when some have closed. */
                        listener_pause(l, errno);
                        break;
                }
                /* ECONNABORTED and the like concern that one client only. */
        }
        return 0;
}

/* ---- UDP: flows per client address and local address ---- */

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message, the only one a listener asks for. */
union pktinfo_control {
        struct cmsghdr align;
        char buffer[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

static socklen_t flow_client_length(const struct flow_key *key) {
        return key->client.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                   : sizeof(struct sockaddr_in6);
}

static bool flow_has_local(const struct flow_key *key) {
        if (key->client.sa.sa_family == AF_INET)
                return key->local.in.s_addr != htonl(INADDR_ANY);
        return !IN6_IS_ADDR_UNSPECIFIED(&key->local.in6);
}

static void flow_free(struct udp_flow *f) {
        struct listener *l = f->listener;

        dial_cancel(l->entry->pf, f->call);
        sd_event_source_disable_unref(f->source);
        sd_event_source_disable_unref(f->timer);
        if (f->fd >= 0)
                close(f->fd);
        while (!STAILQ_EMPTY(&f->queue)) {
                struct queued_datagram *d = STAILQ_FIRST(&f->queue);
                STAILQ_REMOVE_HEAD(&f->queue, link);
                free(d);
        }
        LIST_REMOVE(f, link);
        l->n_flows--;
        l->entry->n_conns--;
        free(f);
}

static uint64_t now_usec(struct portfwd *pf) {
        uint64_t now = 0;
        (void)sd_event_now(pf->event, CLOCK_MONOTONIC, &now);
        return now;
}

static int on_flow_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        struct udp_flow *f = userdata;
        struct portfwd *pf = f->listener->entry->pf;

        if (usec >= f->last_active + pf->udp_idle_usec) {
                flow_free(f);
                return 0;
        }
        sd_event_source_set_time(source, f->last_active + pf->udp_idle_usec);
        sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        return 0;
}

/* Sends DATA to F's client through the listener's socket, from the local address the client sent
 * to: a client whose socket is connected to that address (any secondary address of the host, or
 * 127.0.0.2) drops datagrams from another one, and routing alone would pick another one. */
static void flow_reply(struct udp_flow *f, const void *data, size_t length) {
        union pktinfo_control control = {};
        struct iovec iov = { .iov_base = (void *)data, .iov_len = length };
        struct msghdr msg = { .msg_name = &f->key.client,
                              .msg_namelen = flow_client_length(&f->key),
                              .msg_iov = &iov,
                              .msg_iovlen = 1 };

        if (flow_has_local(&f->key)) {
                struct cmsghdr *c;

                msg.msg_control = control.buffer;
                if (f->key.client.sa.sa_family == AF_INET) {
                        /* ifindex 0: the route to the client picks the interface, as without it. */
                        struct in_pktinfo info = { .ipi_spec_dst = f->key.local.in };
                        msg.msg_controllen = CMSG_SPACE(sizeof(info));
                        c = CMSG_FIRSTHDR(&msg);
                        *c = (struct cmsghdr){ .cmsg_level = IPPROTO_IP,
                                               .cmsg_type = IP_PKTINFO,
                                               .cmsg_len = CMSG_LEN(sizeof(info)) };
                        memcpy(CMSG_DATA(c), &info, sizeof(info));
                } else {
                        /* A link-local client carries its scope id, which names the interface. */
                        struct in6_pktinfo info = { .ipi6_addr = f->key.local.in6 };
                        msg.msg_controllen = CMSG_SPACE(sizeof(info));
                        c = CMSG_FIRSTHDR(&msg);
                        *c = (struct cmsghdr){ .cmsg_level = IPPROTO_IPV6,
                                               .cmsg_type = IPV6_PKTINFO,
                                               .cmsg_len = CMSG_LEN(sizeof(info)) };
                        memcpy(CMSG_DATA(c), &info, sizeof(info));
                }
        }
        (void)sendmsg(f->listener->fd, &msg, MSG_DONTWAIT);
}

/* Replies from inside the node go back to the client through the listener's socket. */
static int on_flow_readable(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct udp_flow *f = userdata;
        struct portfwd *pf = f->listener->entry->pf;
        (void)source;
        (void)revents;

        for (int i = 0; i < UDP_BURST; i++) {
                ssize_t n = recv(fd, pf->datagram, UDP_DATAGRAM_MAX, 0);
                if (n < 0) {
                        if (errno == ECONNREFUSED)
                                continue; /* an earlier datagram found no listener: ICMP, not fatal */
                        break;
                }
                f->last_active = now_usec(pf);
                flow_reply(f, pf->datagram, (size_t)n);
        }
        return 0;
}

static void on_flow_dialed(void *owner, int fd_or_error) {
        struct udp_flow *f = owner;
        struct portfwd *pf = f->listener->entry->pf;

        f->call = NULL;
        if (fd_or_error < 0) {
                log_debug_errno(fd_or_error, "port forwarder: UDP dial inside the node failed: %m");
                flow_free(f);
                return;
        }
        f->fd = fd_or_error;
        if (sd_event_add_io(pf->event, &f->source, f->fd, EPOLLIN, on_flow_readable, f) < 0) {
                flow_free(f);
                return;
        }
        while (!STAILQ_EMPTY(&f->queue)) {
                struct queued_datagram *d = STAILQ_FIRST(&f->queue);
                STAILQ_REMOVE_HEAD(&f->queue, link);
                (void)send(f->fd, d->data, d->length, MSG_DONTWAIT);
                free(d);
        }
        f->n_queued = 0;
}

static struct flow_bucket *flow_bucket_of(struct listener *l, uint64_t hash) {
        return &l->buckets[hash & (l->n_buckets - 1)];
}

/* Doubles L's flow table (or makes its first one), so chains stay about one flow long. Without
 * memory the table keeps its size and chains just grow; -ENOMEM only when there is no table. */
static int flow_table_grow(struct listener *l) {
        unsigned n = l->n_buckets > 0 ? l->n_buckets * 2 : UDP_BUCKETS_MIN;
        struct flow_bucket *buckets = calloc(n, sizeof(*buckets));

        if (!buckets)
                return l->buckets ? 0 : -ENOMEM;
        for (unsigned i = 0; i < n; i++)
                LIST_INIT(&buckets[i]);
        for (unsigned i = 0; i < l->n_buckets; i++)
                while (!LIST_EMPTY(&l->buckets[i])) {
                        struct udp_flow *f = LIST_FIRST(&l->buckets[i]);
                        LIST_REMOVE(f, link);
                        LIST_INSERT_HEAD(&buckets[f->hash & (n - 1)], f, link);
                }
        free(l->buckets);
        l->buckets = buckets;
        l->n_buckets = n;
        return 0;
}

static struct udp_flow *flow_find(struct listener *l, const struct flow_key *key, uint64_t hash) {
        struct udp_flow *f;

        if (!l->buckets)
                return NULL;
        for (f = LIST_FIRST(flow_bucket_of(l, hash)); f; f = LIST_NEXT(f, link))
                if (f->hash == hash && memcmp(&f->key, key, sizeof(*key)) == 0)
                        return f;
        return NULL;
}

static struct udp_flow *flow_new(struct listener *l, const struct flow_key *key, uint64_t hash) {
        struct portfwd *pf = l->entry->pf;
        struct sockaddr_storage node;
        uint32_t node_length = (uint32_t)portspec_node_sockaddr(&l->entry->spec, l->index, &node);

        if (l->n_flows >= UDP_FLOWS_MAX)
                return NULL;
        if (l->n_flows >= l->n_buckets && l->n_buckets < UDP_FLOWS_MAX && flow_table_grow(l) < 0)
                return NULL;
        struct udp_flow *f = calloc(1, sizeof(*f));
        if (!f)
                return NULL;
        *f = (struct udp_flow){
                .listener = l, .key = *key, .hash = hash, .fd = -EBADF, .last_active = now_usec(pf)
        };
        STAILQ_INIT(&f->queue);
        LIST_INSERT_HEAD(flow_bucket_of(l, hash), f, link);
        l->n_flows++;
        l->entry->n_conns++;

        if (sd_event_add_time(pf->event, &f->timer, CLOCK_MONOTONIC, f->last_active + pf->udp_idle_usec,
                              1000000ULL, on_flow_timer, f) < 0) {
                flow_free(f);
                return NULL;
        }
        f->call = dial_start(pf, IPPROTO_UDP, &node, node_length, on_flow_dialed, f);
        if (!f->call) {
                flow_free(f);
                return NULL;
        }
        return f;
}

static void flow_forward(struct udp_flow *f, const char *data, size_t length) {
        if (f->fd >= 0) {
                (void)send(f->fd, data, length, MSG_DONTWAIT);
                return;
        }
        if (f->n_queued >= UDP_QUEUE_MAX)
                return; /* UDP may drop; a flow that is still dialing does */
        struct queued_datagram *d = malloc(sizeof(*d) + length);
        if (!d)
                return;
        d->length = length;
        memcpy(d->data, data, length);
        STAILQ_INSERT_TAIL(&f->queue, d, link);
        f->n_queued++;
}

/* Receives one datagram on L into pf->datagram and fills KEY: the sender and, on a wildcard
 * listener, the local address it was sent to. Returns the datagram's length or -errno. */
static ssize_t listener_recv(struct listener *l, struct flow_key *key) {
        struct portfwd *pf = l->entry->pf;
        union pktinfo_control control;
        struct iovec iov = { .iov_base = pf->datagram, .iov_len = UDP_DATAGRAM_MAX };
        struct msghdr msg = { .msg_name = &key->client,
                              .msg_namelen = sizeof(key->client),
                              .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = l->pktinfo ? control.buffer : NULL,
                              .msg_controllen = l->pktinfo ? sizeof(control.buffer) : 0 };

        memset(key, 0, sizeof(*key));
        ssize_t n = recvmsg(l->fd, &msg, 0);
        if (n < 0)
                return -errno;
        /* A truncated control part (MSG_CTRUNC) leaves no message: local stays zero and the
         * replies leave from where routing says, as on a listener bound to one address. */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
                    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
                        struct in_pktinfo info;
                        memcpy(&info, CMSG_DATA(c), sizeof(info));
                        /* ipi_spec_dst, not ipi_addr: the kernel's answer address, which for a
                         * broadcast is an address of the interface rather than the broadcast. */
                        key->local.in = info.ipi_spec_dst;
                } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                           c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
                        struct in6_pktinfo info;
                        memcpy(&info, CMSG_DATA(c), sizeof(info));
                        /* A multicast group (ff02::1 reaches every socket on the port) cannot be
                         * a source: such a client is answered from where routing says. */
                        if (!IN6_IS_ADDR_MULTICAST(&info.ipi6_addr))
                                key->local.in6 = info.ipi6_addr;
                }
        }
        return n;
}

static int on_udp_listener(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct listener *l = userdata;
        struct portfwd *pf = l->entry->pf;
        (void)source;
        (void)fd;
        (void)revents;

        for (int i = 0; i < UDP_BURST; i++) {
                struct flow_key key;
                ssize_t n = listener_recv(l, &key);
                if (n < 0)
                        break;
                uint64_t hash = siphash24(&key, sizeof(key), pf->hash_key);
                struct udp_flow *f = flow_find(l, &key, hash);
                if (!f)
                        f = flow_new(l, &key, hash);
                if (!f)
                        continue;
                f->last_active = now_usec(pf);
                flow_forward(f, pf->datagram, (size_t)n);
        }
        return 0;
}

/* ---- published ports ---- */

static void listener_close(struct listener *l) {
        for (unsigned i = 0; i < l->n_buckets; i++)
                while (!LIST_EMPTY(&l->buckets[i]))
                        flow_free(LIST_FIRST(&l->buckets[i]));
        free(l->buckets);
        l->buckets = NULL;
        l->n_buckets = 0;
        l->pause_timer = sd_event_source_disable_unref(l->pause_timer);
        l->source = sd_event_source_disable_unref(l->source);
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -EBADF;
}

static void entry_free(struct port_entry *e) {
        for (unsigned i = 0; i < e->n_listeners; i++)
                listener_close(&e->listeners[i]);
        /* Open connections outlive their port: they just stop counting for it. */
        struct tcp_conn *c;
        for (c = LIST_FIRST(&e->conns); c; c = LIST_NEXT(c, entry_link))
                c->entry = NULL;
        free(e);
}

static unsigned read_unprivileged_port_start(void) {
        FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
        unsigned value = 1024;

        if (f) {
                if (fscanf(f, "%u", &value) != 1)
                        value = 1024;
                fclose(f);
        }
        return value;
}

static int bind_error(const struct port_spec *spec, unsigned i, int error, char *message, size_t size) {
        char address[INET6_ADDRSTRLEN] = "?";
        unsigned port = (unsigned)spec->host_port + i;
        const char *protocol = portspec_protocol_name(spec->protocol);

        (void)inet_ntop(spec->host.family,
                        spec->host.family == AF_INET ? (const void *)&spec->host.in
                                                     : (const void *)&spec->host.in6,
                        address, sizeof(address));
        switch (error) {
        case EACCES: {
                unsigned start = read_unprivileged_port_start();
                unsigned suggestion = port + 8000 <= 65535 && port + 8000 >= start ? port + 8000 : start;
                snprintf(message, size,
                         "host port %u is below net.ipv4.ip_unprivileged_port_start (%u), so an ordinary "
                         "user "
                         "cannot listen on it: publish a host port >= %u (e.g. %u:%u), or as root lower the "
                         "limit with 'sysctl net.ipv4.ip_unprivileged_port_start=%u'",
                         port, start, start, suggestion, (unsigned)spec->node_port + i, port);
                break;
        }
        case EADDRINUSE:
                snprintf(
                        message, size,
                        "host port %u/%s on %s is already in use by another program: pick another host port "
                        "(ss -%slnp shows who holds it)",
                        port, protocol, address, spec->protocol == IPPROTO_UDP ? "u" : "t");
                break;
        case EADDRNOTAVAIL:
                snprintf(message, size,
                         "host address %s is not an address of this host: use one that 'ip address' lists, "
                         "or "
                         "0.0.0.0",
                         address);
                break;
        default:
                snprintf(message, size, "cannot listen on %s port %u/%s: %s", address, port, protocol,
                         strerror(error));
        }
        return -error;
}

static bool address_is_any(const struct sockaddr_storage *address) {
        if (address->ss_family == AF_INET)
                return ((const struct sockaddr_in *)address)->sin_addr.s_addr == htonl(INADDR_ANY);
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)address)->sin6_addr);
}

static int listener_open(struct port_entry *e, unsigned i, char *message, size_t size) {
        struct listener *l = &e->listeners[i];
        struct sockaddr_storage address;
        socklen_t length = (socklen_t)portspec_host_sockaddr(&e->spec, i, &address);
        bool tcp = e->spec.protocol == IPPROTO_TCP;
        _cleanup_close_ int fd = -EBADF;
        int one = 1, r;

        *l = (struct listener){ .entry = e, .index = i, .fd = -EBADF };
        fd = socket(address.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return bind_error(&e->spec, i, errno, message, size);
        /* Re-adding a port right after removing it must not wait for TIME_WAIT to pass. */
        if (tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        /* [::]:P publishes IPv6 only; 0.0.0.0:P is a separate spec (and may coexist). */
        if (address.ss_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        /* On a wildcard address, datagrams name the local address they were sent to, so each
         * flow can answer from it (flow_reply). */
        l->pktinfo = !tcp && address_is_any(&address);
        if (l->pktinfo && address.ss_family == AF_INET &&
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        if (l->pktinfo && address.ss_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        if (bind(fd, (struct sockaddr *)&address, length) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        /* Accepted sockets inherit it: the forwarder relays segments as they come, and Nagle
         * would hold back small replies. */
        if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        if (tcp && listen(fd, SOMAXCONN) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        r = sd_event_add_io(e->pf->event, &l->source, fd, EPOLLIN, tcp ? on_tcp_listener : on_udp_listener,
                            l);
        if (r < 0)
                return bind_error(&e->spec, i, -r, message, size);
        l->fd = TAKE_FD(fd);
        return 0;
}

int portfwd_add(struct portfwd *pf, const struct port_spec *spec, unsigned *ret_id, char *error,
                size_t size) {
        struct port_entry *e;
        int r;

        assert(pf);
        assert(spec && spec->count >= 1);

        for (e = TAILQ_FIRST(&pf->entries); e; e = TAILQ_NEXT(e, link))
                if (portspec_overlaps(&e->spec, spec)) {
                        char existing[PORTSPEC_STRING_MAX] = "?";
                        (void)portspec_format(&e->spec, existing, sizeof(existing));
                        snprintf(error, size,
                                 "a host port of this spec is already published as %s (id %u): remove it "
                                 "first "
                                 "with 'usernode ports rm %u'",
                                 existing, e->id, e->id);
                        return -EADDRINUSE;
                }

        e = calloc(1, sizeof(*e) + spec->count * sizeof(struct listener));
        if (!e) {
                snprintf(error, size, "out of memory");
                return -ENOMEM;
        }
        e->pf = pf;
        e->spec = *spec;
        LIST_INIT(&e->conns);
        for (unsigned i = 0; i < spec->count; i++) {
                r = listener_open(e, i, error, size);
                if (r < 0) {
                        entry_free(e); /* all or nothing */
                        return r;
                }
                e->n_listeners++;
        }
        e->id = ++pf->next_id;
        TAILQ_INSERT_TAIL(&pf->entries, e, link);
        if (ret_id)
                *ret_id = e->id;
        return 0;
}

int portfwd_remove(struct portfwd *pf, unsigned id) {
        struct port_entry *e;

        for (e = TAILQ_FIRST(&pf->entries); e; e = TAILQ_NEXT(e, link))
                if (e->id == id) {
                        TAILQ_REMOVE(&pf->entries, e, link);
                        entry_free(e);
                        return 0;
                }
        return -ENOENT;
}

int portfwd_find(struct portfwd *pf, const struct port_spec *spec) {
        char wanted[PORTSPEC_STRING_MAX], have[PORTSPEC_STRING_MAX];
        struct port_entry *e;

        if (portspec_format(spec, wanted, sizeof(wanted)) < 0)
                return -ENOENT;
        for (e = TAILQ_FIRST(&pf->entries); e; e = TAILQ_NEXT(e, link))
                if (portspec_format(&e->spec, have, sizeof(have)) == 0 && strcmp(have, wanted) == 0)
                        return (int)e->id;
        return -ENOENT;
}

bool portfwd_get(struct portfwd *pf, size_t index, struct portfwd_port *ret) {
        struct port_entry *e;
        size_t i = 0;

        for (e = TAILQ_FIRST(&pf->entries); e; e = TAILQ_NEXT(e, link))
                if (i++ == index) {
                        *ret = (struct portfwd_port){ .id = e->id,
                                                      .spec = e->spec,
                                                      .connections = e->n_conns };
                        return true;
                }
        return false;
}

void portfwd_set_udp_idle_timeout(struct portfwd *pf, uint64_t usec) {
        pf->udp_idle_usec = usec > 0 ? usec : PORTFWD_UDP_IDLE_DEFAULT_USEC;
}

int portfwd_new(sd_event *event, int dial_fd, struct portfwd **ret) {
        _cleanup_close_ int owned = dial_fd;
        struct portfwd *pf;
        int r;

        assert(event);
        assert(dial_fd >= 0);

        rlim_t fd_limit = raise_fd_limit();
        /* splice() into a socket whose peer is gone raises SIGPIPE (it has no MSG_NOSIGNAL); the
         * forwarder handles EPIPE itself. A process-wide setting: whoever the launcher starts
         * later resets it (an ignored SIGPIPE survives exec). */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return negative_errno();
        pf = calloc(1, sizeof(*pf));
        if (!pf)
                return -ENOMEM;
        pf->event = sd_event_ref(event);
        pf->dial_fd = TAKE_FD(owned);
        pf->udp_idle_usec = PORTFWD_UDP_IDLE_DEFAULT_USEC;
        pf->fd_limit = fd_limit;
        TAILQ_INIT(&pf->dial_queue);
        TAILQ_INIT(&pf->dial_in_flight);
        TAILQ_INIT(&pf->entries);
        LIST_INIT(&pf->conns);
        pf->datagram = malloc(UDP_DATAGRAM_MAX);
        if (!pf->datagram) {
                portfwd_free(pf);
                return -ENOMEM;
        }
        /* Up to 256 bytes never come back short: the pool is initialized, or getrandom waits. */
        if (getrandom(pf->hash_key, sizeof(pf->hash_key), 0) < 0) {
                r = negative_errno();
                portfwd_free(pf);
                return r;
        }
        r = sd_event_add_io(event, &pf->dial_source, pf->dial_fd, EPOLLIN, on_dial_reply, pf);
        if (r < 0) {
                portfwd_free(pf);
                return r;
        }
        (void)sd_event_source_set_description(pf->dial_source, "portfwd-dial");
        socket_pool_refill(pf, AF_INET);
        *ret = pf;
        return 0;
}

struct portfwd *portfwd_free(struct portfwd *pf) {
        if (!pf)
                return NULL;
        while (!TAILQ_EMPTY(&pf->entries)) {
                struct port_entry *e = TAILQ_FIRST(&pf->entries);
                TAILQ_REMOVE(&pf->entries, e, link);
                entry_free(e);
        }
        while (!LIST_EMPTY(&pf->conns))
                conn_free(LIST_FIRST(&pf->conns));
        while (!TAILQ_EMPTY(&pf->dial_queue)) {
                struct dial_call *call = TAILQ_FIRST(&pf->dial_queue);
                TAILQ_REMOVE(&pf->dial_queue, call, link);
                free(call);
        }
        while (!TAILQ_EMPTY(&pf->dial_in_flight)) {
                struct dial_call *call = TAILQ_FIRST(&pf->dial_in_flight);
                TAILQ_REMOVE(&pf->dial_in_flight, call, link);
                free(call);
        }
        pipe_pool_empty(pf);
        for (unsigned f = 0; f < ELEMENTSOF(pf->sockets); f++)
                for (unsigned i = 0; i < pf->sockets[f].n; i++)
                        close(pf->sockets[f].fds[i]);
        sd_event_source_disable_unref(pf->dial_source);
        if (pf->dial_fd >= 0)
                close(pf->dial_fd);
        sd_event_unref(pf->event);
        free(pf->datagram);
        free(pf);
        return NULL;
}
