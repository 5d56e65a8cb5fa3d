/* portfwd_udp.c: UDP through the port forwarder: a flow per client address and local address,
 * each with its own socket connected inside the node (dialed by the dial helper) and dropped
 * when idle. Flows live in a keyed hash table per listener; replies go back through the
 * listener's socket from the address the client sent to. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "netns/portfwd_internal.h"

#define UDP_BURST 256 /* datagrams per wakeup, in batches of UDP_BATCH */
/* Asked for on listeners; the kernel grants up to net.core.rmem_max / wmem_max (doubled for its
 * bookkeeping), the most an ordinary user may have. The default buffer holds about 270 small
 * datagrams: a burst of 500 clients lost a third. */
#define UDP_SOCKET_BUFFER (8 << 20)
#define UDP_FLOWS_MAX 4096 /* per listener: client addresses are attacker-chosen */
#define UDP_BUCKETS_MIN 16 /* the flow table's first size; it doubles up to UDP_FLOWS_MAX */
#define UDP_QUEUE_MAX 32 /* datagrams held while a flow's socket is being dialed */

/* ---- UDP: flows per client address and local address ---- */

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message, the only one a listener asks for. */
union pktinfo_control {
        struct cmsghdr align;
        char buffer[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

void portfwd_udp_size_buffers(int fd) {
        int size = UDP_SOCKET_BUFFER;

        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

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

        portfwd_dial_cancel(l->entry->pf, f->call);
        event_source_disable_unref(f->source);
        event_source_disable_unref(f->timer);
        if (f->fd >= 0)
                close(f->fd);
        while (!STAILQ_EMPTY(&f->queue)) {
                struct queued_datagram *d = STAILQ_FIRST(&f->queue);
                STAILQ_REMOVE_HEAD(&f->queue, link);
                free(d);
        }
        LIST_REMOVE(f, link);
        l->n_flows--;
        pthread_mutex_lock(&l->entry->pf->lock);
        l->entry->n_conns--;
        pthread_mutex_unlock(&l->entry->pf->lock);
        free(f);
}

static uint64_t now_usec(struct portfwd *pf) {
        uint64_t now = 0;
        (void)event_loop_now(pf->event, CLOCK_MONOTONIC, &now);
        return now;
}

static int on_flow_timer(event_source *source, uint64_t usec, void *userdata) {
        struct udp_flow *f = userdata;
        struct portfwd *pf = f->listener->entry->pf;

        if (usec >= f->last_active + pf->udp_idle_usec) {
                flow_free(f);
                return 0;
        }
        event_source_set_time(source, f->last_active + pf->udp_idle_usec);
        event_source_set_enabled(source, EVENT_ONESHOT);
        return 0;
}

/* Fills msg to send to F's client through the listener's socket, from the local address the
 * client sent to: a client whose socket is connected to that address (any secondary address of
 * the host, or 127.0.0.2) drops datagrams from another one, and routing alone would pick another
 * one. msg's iov is the caller's. */
static void flow_reply_header(struct udp_flow *f, struct msghdr *msg, union pktinfo_control *control) {
        msg->msg_name = &f->key.client;
        msg->msg_namelen = flow_client_length(&f->key);
        msg->msg_control = NULL;
        msg->msg_controllen = 0;
        if (flow_has_local(&f->key)) {
                struct cmsghdr *c;

                memset(control, 0, sizeof(*control));
                msg->msg_control = control->buffer;
                if (f->key.client.sa.sa_family == AF_INET) {
                        /* ifindex 0: the route to the client picks the interface, as without it. */
                        struct in_pktinfo info = { .ipi_spec_dst = f->key.local.in };
                        msg->msg_controllen = CMSG_SPACE(sizeof(info));
                        c = CMSG_FIRSTHDR(msg);
                        *c = (struct cmsghdr){ .cmsg_level = IPPROTO_IP,
                                               .cmsg_type = IP_PKTINFO,
                                               .cmsg_len = CMSG_LEN(sizeof(info)) };
                        memcpy(CMSG_DATA(c), &info, sizeof(info));
                } else {
                        /* A link-local client carries its scope id, which names the interface. */
                        struct in6_pktinfo info = { .ipi6_addr = f->key.local.in6 };
                        msg->msg_controllen = CMSG_SPACE(sizeof(info));
                        c = CMSG_FIRSTHDR(msg);
                        *c = (struct cmsghdr){ .cmsg_level = IPPROTO_IPV6,
                                               .cmsg_type = IPV6_PKTINFO,
                                               .cmsg_len = CMSG_LEN(sizeof(info)) };
                        memcpy(CMSG_DATA(c), &info, sizeof(info));
                }
        }
}

/* Points batch[i] at datagram slot i of pf (one iovec each, in iovs). */
static void batch_init(struct portfwd *pf, struct mmsghdr *batch, struct iovec *iovs) {
        for (unsigned i = 0; i < UDP_BATCH; i++) {
                iovs[i] = (struct iovec){ .iov_base = pf->datagrams + (size_t)i * UDP_DATAGRAM_MAX,
                                          .iov_len = UDP_DATAGRAM_MAX };
                batch[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iovs[i], .msg_iovlen = 1 } };
        }
}

/* Replies from inside the node go back to the client through the listener's socket: received
 * and sent a batch at a time. */
static int on_flow_readable(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct udp_flow *f = userdata;
        struct portfwd *pf = f->listener->entry->pf;
        struct mmsghdr batch[UDP_BATCH];
        struct iovec iovs[UDP_BATCH];
        union pktinfo_control control;
        (void)source;
        (void)revents;

        for (int done = 0; done < UDP_BURST;) {
                batch_init(pf, batch, iovs);
                int n = recvmmsg(fd, batch, UDP_BATCH, MSG_DONTWAIT, NULL);
                if (n < 0) {
                        if (errno == ECONNREFUSED) {
                                done++; /* an earlier datagram found no listener: ICMP, not fatal */
                                continue;
                        }
                        break;
                }
                f->last_active = now_usec(pf);
                flow_reply_header(f, &batch[0].msg_hdr, &control);
                for (int i = 0; i < n; i++) {
                        iovs[i].iov_len = batch[i].msg_len;
                        if (i > 0) {
                                batch[i].msg_hdr.msg_name = batch[0].msg_hdr.msg_name;
                                batch[i].msg_hdr.msg_namelen = batch[0].msg_hdr.msg_namelen;
                                batch[i].msg_hdr.msg_control = batch[0].msg_hdr.msg_control;
                                batch[i].msg_hdr.msg_controllen = batch[0].msg_hdr.msg_controllen;
                        }
                }
                /* UDP may drop: what the client's side does not take now is not retried. */
                (void)sendmmsg(f->listener->fd, batch, (unsigned)n, MSG_DONTWAIT);
                done += n;
                if (n < UDP_BATCH)
                        break;
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
        if (event_add_io(pf->event, &f->source, f->fd, EPOLLIN, on_flow_readable, f) < 0) {
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
        pthread_mutex_lock(&l->entry->pf->lock);
        l->entry->n_conns++;
        pthread_mutex_unlock(&l->entry->pf->lock);

        if (event_add_time(pf->event, &f->timer, CLOCK_MONOTONIC, f->last_active + pf->udp_idle_usec,
                           1000000ULL, on_flow_timer, f) < 0) {
                flow_free(f);
                return NULL;
        }
        f->call = portfwd_dial_start(pf, IPPROTO_UDP, &node, node_length, on_flow_dialed, f);
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

/* Fills key from a datagram received on l: the sender (already in key->client) and, on a
 * wildcard listener, the local address it was sent to (from msg's control part). */
static void listener_key_local(const struct msghdr *msg, struct flow_key *key) {
        /* A truncated control part (MSG_CTRUNC) leaves no message: local stays zero and the
         * replies leave from where routing says, as on a listener bound to one address. */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
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
}

/* Datagrams from clients, a batch per recvmmsg (a burst of clients must not outrun the socket
 * buffer one wakeup per datagram), each to its flow. */
int portfwd_on_udp_listener(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct listener *l = userdata;
        struct portfwd *pf = l->entry->pf;
        struct mmsghdr batch[UDP_BATCH];
        struct iovec iovs[UDP_BATCH];
        struct flow_key keys[UDP_BATCH];
        union pktinfo_control controls[UDP_BATCH] = {};
        (void)source;
        (void)revents;

        for (int done = 0; done < UDP_BURST;) {
                batch_init(pf, batch, iovs);
                memset(keys, 0, sizeof(keys));
                for (unsigned i = 0; i < UDP_BATCH; i++) {
                        batch[i].msg_hdr.msg_name = &keys[i].client;
                        batch[i].msg_hdr.msg_namelen = sizeof(keys[i].client);
                        batch[i].msg_hdr.msg_control = l->pktinfo ? controls[i].buffer : NULL;
                        batch[i].msg_hdr.msg_controllen = l->pktinfo ? sizeof(controls[i].buffer) : 0;
                }
                int n = recvmmsg(fd, batch, UDP_BATCH, MSG_DONTWAIT, NULL);
                if (n <= 0)
                        break;
                for (int i = 0; i < n; i++) {
                        struct flow_key *key = &keys[i];
                        if (l->pktinfo)
                                listener_key_local(&batch[i].msg_hdr, key);
                        uint64_t hash = siphash24(key, sizeof(*key), pf->hash_key);
                        struct udp_flow *f = flow_find(l, key, hash);
                        if (!f)
                                f = flow_new(l, key, hash);
                        if (!f)
                                continue;
                        f->last_active = now_usec(pf);
                        flow_forward(f, iovs[i].iov_base, batch[i].msg_len);
                }
                done += n;
                if (n < UDP_BATCH)
                        break;
        }
        return 0;
}

void portfwd_listener_flows_free(struct listener *l) {
        for (unsigned i = 0; i < l->n_buckets; i++)
                while (!LIST_EMPTY(&l->buckets[i]))
                        flow_free(LIST_FIRST(&l->buckets[i]));
        free(l->buckets);
        l->buckets = NULL;
        l->n_buckets = 0;
}
