/* portfwd_tcp.c: TCP through the port forwarder: each accepted connection gets a socket
 * connected inside the node (a pooled one connected from here, or a dial), on the launcher's
 * loop; once connected it goes to a worker thread (portfwd_worker.c), where bytes move between
 * the two with splice(2) through pipes from the worker's small pool, both directions, with
 * back-pressure, half-close and reset propagation. At the open-file limit listeners pause. */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>

#include "common/log.h"
#include "netns/portfwd_internal.h"

#define NODE_SILENCE_USEC (5 * 1000000ULL) /* on_node_silence_check() */
#define ACCEPT_BURST 64 /* connections accepted per wakeup, so other listeners get a turn */
#define ACCEPT_PAUSE_USEC (100 * 1000ULL) /* after EMFILE: let connections close before retrying */
#define FD_HEADROOM 16 /* files kept free for pipes, timers and the control socket at the limit */
#define PIPE_SIZE (1024 * 1024) /* fewer splice calls per byte; falls back to the default */
#define PUMP_ROUNDS 32 /* splice rounds per connection per wakeup, for fairness */

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

/* ---- pipes ---- */

static int pipe_take(struct pipe_pool *pool, struct tcp_half *h) {
        if (pool->n > 0) {
                struct pooled_pipe *p = &pool->pipes[--pool->n];
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
static void pipe_release(struct pipe_pool *pool, struct tcp_half *h) {
        if (h->pipe[0] < 0)
                return;
        if (h->pending == 0 && pool && pool->n < pool->max) {
                pool->pipes[pool->n++] =
                        (struct pooled_pipe){ .fds = { h->pipe[0], h->pipe[1] }, .capacity = h->capacity };
        } else {
                close(h->pipe[0]);
                close(h->pipe[1]);
        }
        h->pipe[0] = h->pipe[1] = -EBADF;
        h->pending = 0;
}

/* Closes the idle pipes: at the open-file limit they are the first files to give back. */
void portfwd_pipe_pool_empty(struct pipe_pool *pool) {
        while (pool->n > 0) {
                struct pooled_pipe *p = &pool->pipes[--pool->n];
                close(p->fds[0]);
                close(p->fds[1]);
        }
}

/* ---- TCP: the splice engine ---- */

/* The loop of the thread that owns c. */
static event_loop *conn_event(const struct tcp_conn *c) {
        return c->worker ? c->worker->event : c->pf->event;
}

void portfwd_conn_free(struct tcp_conn *c) {
        struct portfwd *pf = c->pf;

        if (c->call) /* only before the hand-over: the dial is the main thread's */
                portfwd_dial_cancel(pf, c->call);
        for (int s = CLIENT; s <= NODE; s++) {
                event_source_disable_unref(c->source[s]);
                if (c->fd[s] >= 0)
                        close(c->fd[s]);
                pipe_release(c->worker ? &c->worker->pipes : NULL, &c->half[s]);
        }
        event_source_disable_unref(c->resume);
        event_source_disable_unref(c->silence_check);
        pthread_mutex_lock(&pf->lock);
        if (c->entry) {
                LIST_REMOVE(c, entry_link);
                c->entry->n_conns--;
        }
        pthread_mutex_unlock(&pf->lock);
        LIST_REMOVE(c, pf_link);
        if (c->worker)
                atomic_fetch_sub(&c->worker->n_conns, 1);
        free(c);
}

/* One side was reset or broke: pass the reset on to the other side and drop both. Both are
 * aborted (RST, not FIN), the broken side too: a node socket the kernel still holds as connected
 * (a handshake the server's full accept queue dropped, on_node_silence_check()) would otherwise
 * stay behind as an orphan in FIN-WAIT-1, retransmitting to the server for minutes, and complete
 * its handshake there as soon as the queue has room: a dead connection the server then serves,
 * and more of them after every burst. */
static void conn_reset(struct tcp_conn *c) {
        for (int s = CLIENT; s <= NODE; s++)
                if (c->fd[s] >= 0)
                        set_reset_on_close(c->fd[s]);
        portfwd_conn_free(c);
}

/* A destination that would block gets EPOLLOUT added to its watch. Connections start with
 * EPOLLIN only, so short request/response connections never wake up just for being
 * writable. (Edge-triggered: once on, EPOLLOUT only fires after a write that would block.) */
static int conn_want_writable(struct tcp_conn *c, int side) {
        if (c->writable_watched[side])
                return 0;
        c->writable_watched[side] = true;
        return event_source_set_io_events(c->source[side], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

/* The node's server has answered: the handshake did complete, nothing more to watch. */
static void node_answered(struct tcp_conn *c) {
        c->node_answered = true;
        c->silence_check = event_source_disable_unref(c->silence_check);
}

/* Moves bytes from fd[from] to the other side until both would block, the pipe's bytes are all
 * delivered, or *rounds runs out. Returns 0, or a negative errno when a socket or pipe broke. */
static int half_pump(struct tcp_conn *c, int from, unsigned *rounds) {
        struct tcp_half *h = &c->half[from];
        int src = c->fd[from], dst = c->fd[from == CLIENT ? NODE : CLIENT];
        int r;

        while (*rounds > 0) {
                bool progress = false;

                if (!h->eof && (h->pipe[0] < 0 || h->pending < h->capacity)) {
                        if (h->pipe[0] < 0) {
                                r = pipe_take(&c->worker->pipes, h);
                                if (r < 0)
                                        return r;
                        }
                        ssize_t n = splice(src, NULL, h->pipe[1], NULL, h->capacity - h->pending,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                h->pending += (size_t)n;
                                progress = true;
                                if (from == NODE && !c->node_answered)
                                        node_answered(c);
                        } else if (n == 0) {
                                h->eof = true;
                        } else if (errno != EAGAIN && errno != EINTR) {
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
                                if (r < 0)
                                        return r;
                        } else if (n < 0 && errno != EINTR) {
                                return negative_errno();
                        }
                }
                if (!progress)
                        break;
                (*rounds)--;
        }

        /* Idle halves hold no pipe: 500 idle connections cost 1000 sockets and no pipes. */
        if (h->pending == 0)
                pipe_release(&c->worker->pipes, h);
        if (h->eof && h->pending == 0 && !h->shut) {
                /* Half-close: the source's FIN becomes ours towards the destination. */
                if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
                        return negative_errno();
                h->shut = true;
        }
        return 0;
}

static bool half_done(const struct tcp_half *h) {
        return h->eof && h->pending == 0 && h->shut;
}

static int on_conn_resume(event_source *source, void *userdata);

#define HALF(from) (1u << (from))

/* Pumps the halves in mask (HALF(CLIENT): client -> node, HALF(NODE): node -> client). */
static void conn_pump(struct tcp_conn *c, unsigned mask) {
        unsigned rounds = PUMP_ROUNDS, unfinished = 0;

        for (int from = CLIENT; from <= NODE; from++) {
                if (!(mask & HALF(from)))
                        continue;
                rounds = PUMP_ROUNDS;
                if (half_pump(c, from, &rounds) < 0) {
                        conn_reset(c);
                        return;
                }
                if (rounds == 0)
                        unfinished |= HALF(from);
        }
        if (half_done(&c->half[CLIENT]) && half_done(&c->half[NODE])) {
                portfwd_conn_free(c);
                return;
        }
        if (unfinished) {
                /* Edge-triggered: nothing will wake us for bytes we left behind; come back after
                 * the other connections had their turn. */
                if (!c->resume && event_add_defer(conn_event(c), &c->resume, on_conn_resume, c) < 0) {
                        conn_reset(c);
                        return;
                }
                c->resume_mask |= unfinished;
                event_source_set_enabled(c->resume, EVENT_ONESHOT);
        }
}

static int on_conn_resume(event_source *source, void *userdata) {
        struct tcp_conn *c = userdata;
        unsigned mask = c->resume_mask;
        (void)source;

        c->resume_mask = 0;
        conn_pump(c, mask);
        return 0;
}

static int on_conn_io(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct tcp_conn *c = userdata;
        int side = fd == c->fd[CLIENT] ? CLIENT : NODE, other = side == CLIENT ? NODE : CLIENT;
        unsigned mask = 0;
        (void)source;

        if ((revents & EPOLLERR) && socket_error(fd) != 0) {
                conn_reset(c);
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

/* Every NODE_SILENCE_USEC until the node's server sends a byte: whether bytes we sent it sat
 * unacknowledged at the last check already and no ACK came since. That is a handshake the
 * server's full accept queue dropped: our side counts as connected and would retransmit the
 * client's bytes for many minutes. Such a connection is reset, its client told at once; a live
 * peer on the node's own links acknowledges within its delayed-ACK time (200 ms at most).
 * Retransmissions are no measure: their timeout grows from the RTT the kernel caches per
 * destination (tcp_metrics), and handshakes that a full queue kept waiting for seconds leave an
 * RTT of seconds there, so after a few bursts no retransmission came in time to be seen. A peer
 * that acknowledges but does not read (zero window) is alive and left alone, as on a direct
 * connection; so is one that was sent nothing yet. */
static int on_node_silence_check(event_source *source, uint64_t usec, void *userdata) {
        struct tcp_conn *c = userdata;
        struct tcp_info info = {};
        socklen_t length = sizeof(info);
        uint64_t now = usec;

        (void)event_loop_now(conn_event(c), CLOCK_MONOTONIC, &now);
        if (getsockopt(c->fd[NODE], IPPROTO_TCP, TCP_INFO, &info, &length) < 0 || info.tcpi_unacked == 0) {
                c->unacked_seen_usec = 0;
        } else if (c->unacked_seen_usec == 0 ||
                   (uint64_t)info.tcpi_last_ack_recv * 1000 < now - c->unacked_seen_usec) {
                c->unacked_seen_usec = now; /* new bytes outstanding, or an ACK came: from now */
        } else {
                log_debug("port forwarder: the node never acknowledged a connection's bytes; resetting it");
                conn_reset(c);
                return 0;
        }
        (void)event_source_set_time(source, usec + NODE_SILENCE_USEC);
        (void)event_source_set_enabled(source, EVENT_ONESHOT);
        return 0;
}

/* On c's worker: watch both sockets, edge-triggered. */
void portfwd_conn_attach(struct tcp_conn *c) {
        if (!c->node_answered &&
            event_add_time_relative(conn_event(c), &c->silence_check, CLOCK_MONOTONIC, NODE_SILENCE_USEC,
                                    NODE_SILENCE_USEC / 10, on_node_silence_check, c) < 0) {
                conn_reset(c);
                return;
        }
        for (int s = CLIENT; s <= NODE; s++) {
                int r = event_add_io(conn_event(c), &c->source[s], c->fd[s], EPOLLIN | EPOLLRDHUP | EPOLLET,
                                     on_conn_io, c);
                if (r < 0) {
                        log_warning_errno(r, "port forwarder: failed to watch a connection: %m");
                        conn_reset(c);
                        return;
                }
        }
        /* No pump here: adding an edge-triggered watch reports what is already readable (the
         * client may have written while we dialed), and the next turn of the loop pumps it. */
}

/* Both sockets are connected: from here on the connection is a worker's. */
static void conn_attach(struct tcp_conn *c) {
        int r = portfwd_worker_hand_over(c);
        if (r < 0) {
                log_warning_errno(r, "port forwarder: cannot hand a connection to a worker: %m");
                conn_reset(c);
        }
}

static void on_conn_dialed(void *owner, int fd_or_error) {
        struct tcp_conn *c = owner;

        c->call = NULL;
        if (fd_or_error < 0) {
                /* Nothing listens there (or the node is gone): the client learns it at once. */
                log_debug_errno(fd_or_error, "port forwarder: dial inside the node failed: %m");
                conn_reset(c);
                return;
        }
        c->fd[NODE] = fd_or_error;
        conn_attach(c);
}

static int on_conn_connected(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct tcp_conn *c = userdata;
        (void)revents;

        c->source[NODE] = event_source_disable_unref(source);
        if (socket_error(fd) != 0) {
                conn_reset(c);
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
                conn_reset(c);
                return;
        }
        /* On loopback the handshake (or the RST of a closed port) has been processed by the
         * time connect() returns: look before involving the event loop. */
        struct pollfd p = { .fd = sock, .events = POLLOUT };
        if (poll(&p, 1, 0) == 1) {
                if (p.revents & (POLLERR | POLLHUP))
                        conn_reset(c);
                else
                        conn_attach(c);
                return;
        }
        if (event_add_io(c->pf->event, &c->source[NODE], sock, EPOLLOUT, on_conn_connected, c) < 0)
                conn_reset(c);
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
        pthread_mutex_lock(&pf->lock);
        LIST_INSERT_HEAD(&l->entry->conns, c, entry_link);
        l->entry->n_conns++;
        pthread_mutex_unlock(&pf->lock);
        int sock = portfwd_socket_pool_take(pf, node.ss_family);
        if (sock >= 0) {
                conn_connect(c, sock, &node, node_length);
                return;
        }
        c->call = portfwd_dial_start(pf, IPPROTO_TCP, &node, node_length, on_conn_dialed, c);
        if (!c->call)
                conn_reset(c);
}

static int on_accept_resume(event_source *source, uint64_t usec, void *userdata) {
        struct listener *l = userdata;
        (void)usec;

        l->pause_timer = event_source_disable_unref(source);
        event_source_set_enabled(l->source, EVENT_ON);
        return 0;
}

/* Stops accepting on l for ACCEPT_PAUSE_USEC; what arrives meanwhile waits in the backlog. Said
 * once per episode, not every ACCEPT_PAUSE_USEC. */
static void listener_pause(struct listener *l, int error) {
        if (l->pause_timer)
                return;
        portfwd_workers_empty_pools(l->entry->pf);
        if (!l->at_limit)
                log_warning_errno(error,
                                  "port forwarder: cannot accept more connections now (%m); they wait until "
                                  "some close. Raise the open-file limit (ulimit -Hn) for more at once");
        l->at_limit = true;
        if (event_add_time_relative(l->entry->pf->event, &l->pause_timer, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC,
                                    0, on_accept_resume, l) >= 0)
                event_source_set_enabled(l->source, EVENT_OFF);
}

/* Whether accepting client, the lowest free fd number at the time, left too few files for the
 * sockets still to come from the node (a dial's reply, pooled sockets asked for) and for pipes:
 * at the limit the kernel drops a passed socket, and its connection fails instead of waiting in
 * the backlog. Files above client may be in use too, so this may overestimate the room; a lost
 * socket is then handled in portfwd_on_dial_reply(). */
static bool fd_headroom_low(struct portfwd *pf, int client) {
        uint64_t need = (uint64_t)client + 1 + pf->n_calls + pf->sockets[0].asked + pf->sockets[1].asked +
                        FD_HEADROOM;
        return pf->fd_limit != RLIM_INFINITY && need >= (uint64_t)pf->fd_limit;
}

int portfwd_on_tcp_listener(event_source *source, int fd, uint32_t revents, void *userdata) {
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
