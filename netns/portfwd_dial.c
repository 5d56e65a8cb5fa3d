/* portfwd_dial.c: the port forwarder's side of the dial helper (dial.h): requests for sockets
 * connected inside the node, with a bound on how many are in flight, their replies, and the pool
 * of unconnected node sockets that TCP connections connect() from here. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "netns/dial.h"
#include "netns/portfwd_internal.h"

#define DIAL_IN_FLIGHT_MAX 64 /* keeps both directions of the dial channel far below its buffer */
#define SOCKET_POOL_LOW 16 /* below this many (counting those asked for), ask for more */

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
 * and done() is never called from inside portfwd_dial_start(). */
struct dial_call *portfwd_dial_start(struct portfwd *pf, int protocol,
                                     const struct sockaddr_storage *address, uint32_t address_length,
                                     void (*done)(void *, int), void *owner) {
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
void portfwd_dial_cancel(struct portfwd *pf, struct dial_call *call) {
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
        event_source_set_enabled(pf->dial_source, EVENT_OFF);
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

void portfwd_socket_pool_refill(struct portfwd *pf, int family) {
        struct socket_pool *p = socket_pool_of(pf, family);
        unsigned want = SOCKET_POOL_MAX - p->n - p->asked;

        if (pf->dial_dead || p->n + p->asked >= SOCKET_POOL_LOW)
                return;
        if (dial_send_sockets_request(pf->dial_fd, family, want) == 0)
                p->asked += want;
}

/* A socket in the node to connect() from here, or -EBADF when none is at hand. */
int portfwd_socket_pool_take(struct portfwd *pf, int family) {
        struct socket_pool *p = socket_pool_of(pf, family);
        int fd = p->n > 0 ? p->fds[--p->n] : -EBADF;

        portfwd_socket_pool_refill(pf, family);
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

int portfwd_on_dial_reply(event_source *source, int fd, uint32_t revents, void *userdata) {
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

void portfwd_dial_free_all(struct portfwd *pf) {
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
        for (unsigned f = 0; f < ELEMENTSOF(pf->sockets); f++)
                for (unsigned i = 0; i < pf->sockets[f].n; i++)
                        close(pf->sockets[f].fds[i]);
}
