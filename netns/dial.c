/* dial.c: the dial helper in the node init, and the messages it exchanges with the launcher. */
#include "netns/dial.h"

#include <assert.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/queue.h>

#include "common/channel.h"
#include "common/log.h"

/* A connect that returned EINPROGRESS and is waited for in the event loop. */
struct pending_connect {
        LIST_ENTRY(pending_connect) link;
        struct dial_helper *helper;
        uint64_t cookie;
        int fd;
        event_source *source;
};

struct dial_helper {
        int fd;
        event_source *source;
        LIST_HEAD(pending_list, pending_connect) pending;
};

static int set_nonblocking(int fd) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

int dial_pair(int fds[2]) {
        int r = channel_pair(fds);
        if (r < 0)
                return r;
        if (set_nonblocking(fds[0]) < 0 || set_nonblocking(fds[1]) < 0) {
                r = negative_errno();
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        return 0;
}

int dial_send_request(int fd, uint64_t cookie, int protocol, const struct sockaddr_storage *address,
                      uint32_t address_length) {
        struct dial_request request = { .cookie = cookie,
                                        .protocol = protocol,
                                        .address_length = address_length };

        assert(address_length <= sizeof(request.address));
        memcpy(&request.address, address, address_length);
        return channel_send(fd, DIAL_MSG_REQUEST, &request, sizeof(request), -EBADF);
}

int dial_send_sockets_request(int fd, int family, unsigned count) {
        struct dial_sockets_request request = { .family = family, .count = count };

        assert(count <= DIAL_SOCKETS_MAX);
        return channel_send(fd, DIAL_MSG_SOCKETS, &request, sizeof(request), -EBADF);
}

int dial_recv(int fd, struct dial_answer *answer, int *ret_fd) {
        struct channel_message message;
        int r;

        r = channel_recv(fd, &message, ret_fd);
        if (r < 0 && r != -EMFILE)
                return r;
        bool lost = r == -EMFILE; /* the answer came, its socket did not */
        answer->type = message.type;
        if (message.type == DIAL_MSG_REPLY && message.length == sizeof(answer->reply)) {
                memcpy(&answer->reply, message.payload, sizeof(answer->reply));
                return lost ? -EMFILE : 0;
        }
        if (message.type == DIAL_MSG_SOCKET && message.length == sizeof(answer->socket) &&
            (lost || *ret_fd >= 0)) {
                memcpy(&answer->socket, message.payload, sizeof(answer->socket));
                return lost ? -EMFILE : 0;
        }
        if (*ret_fd >= 0)
                close(*ret_fd);
        *ret_fd = -EBADF;
        return -EBADMSG;
}

/* Sends the reply and closes our copy of the socket (the launcher owns it from now on). */
static void send_reply(struct dial_helper *helper, uint64_t cookie, int error, int sock) {
        struct dial_reply reply = { .cookie = cookie, .error = error };
        int r;

        r = channel_send(helper->fd, DIAL_MSG_REPLY, &reply, sizeof(reply), error == 0 ? sock : -EBADF);
        if (r < 0)
                /* The launcher caps the dials in flight well below the channel's buffer, so a full
                 * channel means the launcher is stuck or gone; its connection then has no answer. */
                log_warning_errno(r, "dial helper: failed to answer the port forwarder: %m");
        if (sock >= 0)
                close(sock);
}

/* A TCP socket as the forwarder wants it: non-blocking, no Nagle (it relays segments as they
 * come), and ~15 s instead of ~2 min of SYN retries towards an address that never answers. */
static int tcp_socket(int family) {
        int one = 1, syn_retries = 3;
        int sock = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (sock < 0)
                return negative_errno();
        (void)setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(sock, IPPROTO_TCP, TCP_SYNCNT, &syn_retries, sizeof(syn_retries));
        return sock;
}

static void send_sockets(struct dial_helper *helper, const struct dial_sockets_request *request) {
        struct dial_socket answer = { .family = request->family };

        if (request->family != AF_INET && request->family != AF_INET6)
                return;
        for (uint32_t i = 0; i < request->count && i < DIAL_SOCKETS_MAX; i++) {
                _cleanup_close_ int sock = tcp_socket(request->family);
                if (sock < 0 || channel_send(helper->fd, DIAL_MSG_SOCKET, &answer, sizeof(answer), sock) < 0)
                        return; /* the launcher dials the slow way meanwhile */
        }
}

static int socket_error(int sock) {
        int error = 0;
        socklen_t length = sizeof(error);

        if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                return errno;
        return error;
}

/* Removes the watch first, then closes the socket (see on_connect_done()). */
static void pending_free(struct pending_connect *p) {
        LIST_REMOVE(p, link);
        event_source_disable_unref(p->source);
        if (p->fd >= 0)
                close(p->fd);
        free(p);
}

static int on_connect_done(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct pending_connect *p = userdata;
        int error = socket_error(fd);
        (void)source;
        (void)revents;

        /* The watch goes before the socket does: a socket in flight by SCM_RIGHTS is still open
         * after our close(), so epoll would keep reporting it to a freed source, and
         * EPOLL_CTL_DEL on the closed number can no longer remove it. */
        p->source = event_source_disable_unref(p->source);
        send_reply(p->helper, p->cookie, error, error == 0 ? TAKE_FD(p->fd) : -EBADF);
        pending_free(p);
        return 0;
}

/* Returns 0 with *ret_sock connected, a positive errno, or -EINPROGRESS with *ret_sock set. */
static int connect_inside(const struct dial_request *request, int *ret_sock) {
        _cleanup_close_ int sock = -EBADF;

        if (request->address_length > sizeof(request->address) ||
            (request->address.ss_family != AF_INET && request->address.ss_family != AF_INET6))
                return EAFNOSUPPORT;
        if (request->protocol == IPPROTO_UDP)
                sock = socket(request->address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        else
                sock = tcp_socket(request->address.ss_family);
        if (sock < 0)
                return errno;
        if (connect(sock, (const struct sockaddr *)&request->address, request->address_length) == 0) {
                *ret_sock = TAKE_FD(sock);
                return 0;
        }
        if (errno != EINPROGRESS)
                return errno;
        /* On loopback the handshake has usually finished by the time connect() returns (the
         * SYN-ACK is processed when the socket lock is released): look before going to the
         * event loop. */
        struct pollfd pfd = { .fd = sock, .events = POLLOUT };
        if (poll(&pfd, 1, 0) == 1) {
                if (pfd.revents & (POLLERR | POLLHUP)) {
                        int error = socket_error(sock);
                        return error != 0 ? error : ECONNREFUSED;
                }
                *ret_sock = TAKE_FD(sock);
                return 0;
        }
        *ret_sock = TAKE_FD(sock);
        return -EINPROGRESS;
}

static void handle_request(struct dial_helper *helper, const struct dial_request *request) {
        int sock = -EBADF;
        int r = connect_inside(request, &sock);

        if (r >= 0) {
                send_reply(helper, request->cookie, r, sock);
                return;
        }

        struct pending_connect *p = calloc(1, sizeof(*p));
        if (!p) {
                close(sock);
                send_reply(helper, request->cookie, ENOMEM, -EBADF);
                return;
        }
        *p = (struct pending_connect){ .helper = helper, .cookie = request->cookie, .fd = sock };
        LIST_INSERT_HEAD(&helper->pending, p, link);
        r = event_add_io(event_source_get_event(helper->source), &p->source, sock, EPOLLOUT, on_connect_done,
                         p);
        if (r < 0) {
                pending_free(p);
                send_reply(helper, request->cookie, -r, -EBADF);
        }
}

static int on_request(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct dial_helper *helper = userdata;
        struct channel_message message;
        (void)revents;

        /* Drain the channel: a burst of connections arrives as a burst of requests. */
        for (;;) {
                int r = channel_recv_message(fd, &message); /* requests carry no fd */
                if (r == -EAGAIN)
                        return 0;
                if (r < 0) {
                        if (r != -ECONNRESET)
                                log_warning_errno(r, "dial helper: channel failed: %m");
                        /* The launcher is gone; nobody will ask again. */
                        event_source_set_enabled(source, EVENT_OFF);
                        return 0;
                }
                if (message.type == DIAL_MSG_SOCKETS &&
                    message.length == sizeof(struct dial_sockets_request)) {
                        struct dial_sockets_request request;
                        memcpy(&request, message.payload, sizeof(request));
                        send_sockets(helper, &request);
                        continue;
                }
                if (message.type != DIAL_MSG_REQUEST || message.length != sizeof(struct dial_request)) {
                        log_warning("dial helper: ignoring unexpected message %u", message.type);
                        continue;
                }
                struct dial_request request;
                memcpy(&request, message.payload, sizeof(request));
                handle_request(helper, &request);
        }
}

int dial_helper_new(event_loop *event, int fd, struct dial_helper **ret) {
        _cleanup_close_ int owned = fd;
        struct dial_helper *helper;
        int r;

        assert(event);
        assert(fd >= 0);
        r = set_nonblocking(fd);
        if (r < 0)
                return r;
        helper = calloc(1, sizeof(*helper));
        if (!helper)
                return -ENOMEM;
        helper->fd = TAKE_FD(owned);
        LIST_INIT(&helper->pending);
        r = event_add_io(event, &helper->source, helper->fd, EPOLLIN, on_request, helper);
        if (r < 0) {
                dial_helper_free(helper);
                return r;
        }
        (void)event_source_set_description(helper->source, "dial-helper");
        *ret = helper;
        return 0;
}

struct dial_helper *dial_helper_free(struct dial_helper *helper) {
        if (!helper)
                return NULL;
        while (!LIST_EMPTY(&helper->pending))
                pending_free(LIST_FIRST(&helper->pending));
        event_source_disable_unref(helper->source);
        if (helper->fd >= 0)
                close(helper->fd);
        free(helper);
        return NULL;
}
