/* portfwd.c: the port forwarder (portfwd.h): its public API, the published ports and their
 * listeners, and the messages for a port that cannot be published. Dials and the node socket
 * pool are in portfwd_dial.c, TCP connections in portfwd_tcp.c, UDP flows in portfwd_udp.c. */
#include "netns/portfwd.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "netns/portfwd_internal.h"

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

/* ---- published ports ---- */

static void listener_close(struct listener *l) {
        portfwd_listener_flows_free(l);
        l->pause_timer = event_source_disable_unref(l->pause_timer);
        l->source = event_source_disable_unref(l->source);
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -EBADF;
}

static void entry_free(struct port_entry *e) {
        for (unsigned i = 0; i < e->n_listeners; i++)
                listener_close(&e->listeners[i]);
        /* Open connections outlive their port: they just stop counting for it. Workers may be
         * freeing some of them right now, hence the lock. */
        struct tcp_conn *c;
        pthread_mutex_lock(&e->pf->lock);
        for (c = LIST_FIRST(&e->conns); c; c = LIST_NEXT(c, entry_link))
                c->entry = NULL;
        pthread_mutex_unlock(&e->pf->lock);
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
        if (!tcp)
                portfwd_udp_size_buffers(fd);
        if (bind(fd, (struct sockaddr *)&address, length) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        /* Accepted sockets inherit it: the forwarder relays segments as they come, and Nagle
         * would hold back small replies. */
        if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        if (tcp && listen(fd, SOMAXCONN) < 0)
                return bind_error(&e->spec, i, errno, message, size);
        r = event_add_io(e->pf->event, &l->source, fd, EPOLLIN,
                         tcp ? portfwd_on_tcp_listener : portfwd_on_udp_listener, l);
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
                        pthread_mutex_lock(&pf->lock);
                        *ret = (struct portfwd_port){ .id = e->id,
                                                      .spec = e->spec,
                                                      .connections = e->n_conns };
                        pthread_mutex_unlock(&pf->lock);
                        return true;
                }
        return false;
}

void portfwd_set_udp_idle_timeout(struct portfwd *pf, uint64_t usec) {
        pf->udp_idle_usec = usec > 0 ? usec : PORTFWD_UDP_IDLE_DEFAULT_USEC;
}

int portfwd_new(event_loop *event, int dial_fd, struct portfwd **ret) {
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
        pf->event = event_loop_ref(event);
        pthread_mutex_init(&pf->lock, NULL);
        pf->dial_fd = TAKE_FD(owned);
        pf->udp_idle_usec = PORTFWD_UDP_IDLE_DEFAULT_USEC;
        pf->fd_limit = fd_limit;
        TAILQ_INIT(&pf->dial_queue);
        TAILQ_INIT(&pf->dial_in_flight);
        TAILQ_INIT(&pf->entries);
        LIST_INIT(&pf->conns);
        pf->datagrams = malloc((size_t)UDP_BATCH * UDP_DATAGRAM_MAX);
        if (!pf->datagrams) {
                portfwd_free(pf);
                return -ENOMEM;
        }
        /* Up to 256 bytes never come back short: the pool is initialized, or getrandom waits. */
        if (getrandom(pf->hash_key, sizeof(pf->hash_key), 0) < 0) {
                r = negative_errno();
                portfwd_free(pf);
                return r;
        }
        r = event_add_io(event, &pf->dial_source, pf->dial_fd, EPOLLIN, portfwd_on_dial_reply, pf);
        if (r < 0) {
                portfwd_free(pf);
                return r;
        }
        (void)event_source_set_description(pf->dial_source, "portfwd-dial");
        r = portfwd_workers_start(pf);
        if (r < 0) {
                portfwd_free(pf);
                return r;
        }
        portfwd_socket_pool_refill(pf, AF_INET);
        *ret = pf;
        return 0;
}

struct portfwd *portfwd_free(struct portfwd *pf) {
        if (!pf)
                return NULL;
        /* First the workers, which free the connections they hold (those still count for their
         * ports until then). */
        portfwd_workers_stop(pf);
        while (!TAILQ_EMPTY(&pf->entries)) {
                struct port_entry *e = TAILQ_FIRST(&pf->entries);
                TAILQ_REMOVE(&pf->entries, e, link);
                entry_free(e);
        }
        while (!LIST_EMPTY(&pf->conns))
                portfwd_conn_free(LIST_FIRST(&pf->conns));
        portfwd_dial_free_all(pf);
        event_source_disable_unref(pf->dial_source);
        if (pf->dial_fd >= 0)
                close(pf->dial_fd);
        event_loop_unref(pf->event);
        free(pf->datagrams);
        pthread_mutex_destroy(&pf->lock);
        free(pf);
        return NULL;
}
