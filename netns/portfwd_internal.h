/* portfwd_internal.h: what the files of the port forwarder (portfwd*.c) share: its structures
 * and the functions one of them offers the others. Included by netns/portfwd*.c only; everyone
 * else uses portfwd.h.
 *
 *   portfwd.c       the public API, published ports and their listeners, bind errors
 *   portfwd_dial.c  requests to the node's dial helper and the pool of unconnected node sockets
 *   portfwd_tcp.c   TCP connections: pipes, the splice pump, accepting and pausing at the limit
 *   portfwd_worker.c  the worker threads that pump connected TCP connections, each on its own loop
 *   portfwd_udp.c   UDP flows: the per-listener flow table, datagrams both ways
 *
 * Threads: the launcher's loop (the "main" thread) owns the listeners, the dials, the UDP flows
 * and each TCP connection until both of its sockets are connected; then the connection is handed
 * to a worker, whose thread alone touches it from there on. What both sides reach is guarded:
 * pf->lock covers every port entry's conns list and n_conns and each connection's entry pointer;
 * a worker's lock covers its inbox and requests. Nothing else is shared. */
#pragma once

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/event_loop.h"

#include "common/siphash.h"
#include "netns/portfwd.h"
#include "netns/portspec.h"

#define PIPE_POOL_MAX 16 /* idle pipes kept for the next burst, by all workers together */
#define UDP_DATAGRAM_MAX 65536
#define UDP_BATCH 32 /* datagrams per recvmmsg/sendmmsg */
#define SOCKET_POOL_MAX 32 /* unconnected node sockets kept at hand, per address family */
#define PORTFWD_WORKERS_MAX 8 /* threads pumping TCP connections: one per usable CPU, at most this */

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
struct portfwd_worker;

struct tcp_conn {
        struct portfwd *pf;
        struct portfwd_worker *worker; /* NULL until handed over (both sockets connected) */
        struct port_entry *entry; /* NULL once its port was removed (pf->lock) */
        LIST_ENTRY(tcp_conn) entry_link; /* pf->lock */
        LIST_ENTRY(tcp_conn) pf_link; /* in pf->conns, a worker's inbox, or its conns */
        int fd[2]; /* [CLIENT], [NODE] */
        event_source *source[2];
        event_source *resume; /* continues a pump that used up its rounds */
        unsigned resume_mask; /* the halves it continues */
        bool writable_watched[2];
        bool node_answered; /* a byte came from the node: the silence check is over */
        event_source *silence_check; /* until then (portfwd_tcp.c, on_node_silence_check()) */
        uint64_t unacked_seen_usec; /* the last silence check, if it saw bytes unacknowledged */
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
        event_source *source;
        event_source *timer;
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
        event_source *source;
        event_source *pause_timer;
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
        struct conn_list conns; /* pf->lock */
        uint64_t n_conns; /* TCP connections and UDP flows; pf->lock */
        unsigned n_listeners; /* bound so far */
        struct listener listeners[];
};

/* Idle pipes kept for the next burst; each worker has its own, of PIPE_POOL_MAX / workers (at
 * least 2): 1 MiB pipes count against the user's pipe budget (fs.pipe-user-pages-soft) even
 * when empty, so more workers must not mean more of them idle. */
struct pipe_pool {
        struct pooled_pipe {
                int fds[2];
                size_t capacity;
        } pipes[PIPE_POOL_MAX];
        unsigned n;
        unsigned max;
};

/* A thread with its own event loop that pumps the connections handed to it (portfwd_worker.c). */
struct portfwd_worker {
        struct portfwd *pf;
        unsigned index;
        pthread_t thread;
        bool running; /* the thread was started and not joined yet */
        event_loop *event; /* the thread's alone while it runs */
        int wake_fd; /* eventfd: the inbox or a request changed */
        event_source *wake_source;
        pthread_mutex_t lock; /* guards the three below */
        struct conn_list inbox; /* handed over, not taken in yet */
        bool quit;
        bool empty_pool;
        /* The worker thread's only: */
        struct conn_list conns;
        struct pipe_pool pipes;
        atomic_uint n_conns; /* handed over and not freed yet: where the next one goes */
};

struct portfwd {
        event_loop *event;
        pthread_mutex_t lock; /* see the top of this file */
        struct portfwd_worker *workers;
        unsigned n_workers;
        int dial_fd;
        event_source *dial_source;
        bool dial_dead;
        uint64_t next_cookie;
        struct dial_call_list dial_queue; /* not sent yet */
        struct dial_call_list dial_in_flight; /* sent, waiting for the reply */
        unsigned n_in_flight;
        unsigned n_calls; /* queued or in flight: each reply may bring a socket */
        rlim_t fd_limit; /* RLIMIT_NOFILE, after raise_fd_limit() */

        TAILQ_HEAD(entry_list, port_entry) entries;
        unsigned next_id;
        struct conn_list conns; /* TCP connections not handed to a worker yet */
        uint64_t udp_idle_usec;

        char *datagrams; /* UDP_BATCH slots of UDP_DATAGRAM_MAX bytes (pages touched as used) */
        uint8_t hash_key[SIPHASH_KEY_SIZE]; /* random, per process: flow buckets are unpredictable */

        /* Unconnected TCP sockets made in the node (dial.h): [0] AF_INET, [1] AF_INET6. */
        struct socket_pool {
                int fds[SOCKET_POOL_MAX];
                unsigned n;
                unsigned asked; /* requested, not arrived yet */
        } sockets[2];
};

/* ---- portfwd_dial.c ---- */

/* Asks the dial helper for a socket connected to address (protocol IPPROTO_TCP or IPPROTO_UDP);
 * done(owner, fd or -errno) tells the outcome later, never from inside portfwd_dial_start(). NULL when
 * the dial cannot even be asked for: the caller then gives up itself. */
struct dial_call *portfwd_dial_start(struct portfwd *pf, int protocol,
                                     const struct sockaddr_storage *address, uint32_t address_length,
                                     void (*done)(void *, int), void *owner);
/* Forgets call's owner (NULL is a no-op): done() is not called, a socket still coming is closed. */
void portfwd_dial_cancel(struct portfwd *pf, struct dial_call *call);
/* The event handler of pf->dial_fd: replies to dials and pooled sockets from the dial helper. */
int portfwd_on_dial_reply(event_source *source, int fd, uint32_t revents, void *userdata);
/* Asks the dial helper for more unconnected sockets of family when few are at hand. */
void portfwd_socket_pool_refill(struct portfwd *pf, int family);
/* An unconnected socket made in the node to connect() from here, or -EBADF when none is at hand. */
int portfwd_socket_pool_take(struct portfwd *pf, int family);
/* At portfwd_free(): frees the calls not answered yet, without calling their owners, and closes
 * the pooled sockets. */
void portfwd_dial_free_all(struct portfwd *pf);

/* ---- portfwd_tcp.c ---- */

/* Closes both sockets of c and gives back its pipes; on the thread that owns c. */
void portfwd_conn_free(struct tcp_conn *c);
/* Closes the idle pipes of a pool. */
void portfwd_pipe_pool_empty(struct pipe_pool *pool);
/* On c's worker, just taken in: watches both sockets on the worker's loop. */
void portfwd_conn_attach(struct tcp_conn *c);
/* The event handler of a TCP listener (userdata: struct listener): accepts and forwards. */
int portfwd_on_tcp_listener(event_source *source, int fd, uint32_t revents, void *userdata);

/* ---- portfwd_worker.c ---- */

/* Starts pf->n_workers threads (one per usable CPU, at most PORTFWD_WORKERS_MAX). */
int portfwd_workers_start(struct portfwd *pf);
/* Stops and joins them; each frees the connections it holds first. */
void portfwd_workers_stop(struct portfwd *pf);
/* Main thread: gives c, both sockets connected, to the least loaded worker. Returns a negative
 * errno when it cannot (c is still the caller's then). */
int portfwd_worker_hand_over(struct tcp_conn *c);
/* Main thread: asks every worker to close its idle pipes (at the open-file limit). */
void portfwd_workers_empty_pools(struct portfwd *pf);

/* ---- portfwd_udp.c ---- */

/* Gives a UDP listener's socket the biggest buffers an ordinary user may ask for. */
void portfwd_udp_size_buffers(int fd);
/* Drops every flow of l and its flow table. */
void portfwd_listener_flows_free(struct listener *l);
/* The event handler of a UDP listener (userdata: struct listener): relays datagrams to flows. */
int portfwd_on_udp_listener(event_source *source, int fd, uint32_t revents, void *userdata);
