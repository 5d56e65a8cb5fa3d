/* test_dial.c: the dial helper (netns/dial.c) answering on its own socketpair, in this process's
 * network namespace: connected sockets, refused dials as errno, UDP, sockets made ahead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns/dial.h"

struct fixture {
        event_loop *event;
        struct dial_helper *helper;
        int launcher_fd;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        int fds[2];

        assert_int_equal(event_loop_new(&f->event), 0);
        assert_int_equal(dial_pair(fds), 0);
        assert_int_equal(dial_helper_new(f->event, fds[1], &f->helper), 0);
        f->launcher_fd = fds[0];
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        dial_helper_free(f->helper);
        close(f->launcher_fd);
        event_loop_unref(f->event);
        free(f);
        return 0;
}

/* Runs the helper's loop until an answer arrives (bounded: 200 turns of 10 ms). */
static void receive(struct fixture *f, struct dial_answer *answer, int *fd) {
        for (int i = 0; i < 200; i++) {
                int r = dial_recv(f->launcher_fd, answer, fd);
                if (r == 0)
                        return;
                assert_int_equal(r, -EAGAIN);
                assert_true(event_loop_run_once(f->event, 10000) >= 0);
        }
        fail_msg("no answer from the dial helper");
}

static int listener(int type, struct sockaddr_storage *address, socklen_t *length) {
        struct sockaddr_in *sin = (struct sockaddr_in *)address;
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

        memset(address, 0, sizeof(*address));
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *length = sizeof(*sin);
        assert_int_equal(bind(fd, (struct sockaddr *)address, *length), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)address, length), 0);
        if (type == SOCK_STREAM)
                assert_int_equal(listen(fd, 8), 0);
        return fd;
}

static void test_tcp_dial_returns_a_connected_socket(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address;
        socklen_t length;
        struct dial_answer answer;
        int sock = -1, lfd = listener(SOCK_STREAM, &address, &length);

        assert_int_equal(dial_send_request(f->launcher_fd, 42, IPPROTO_TCP, &address, length), 0);
        receive(f, &answer, &sock);
        assert_int_equal(answer.type, DIAL_MSG_REPLY);
        assert_int_equal(answer.reply.cookie, 42);
        assert_int_equal(answer.reply.error, 0);
        assert_true(sock >= 0);
        int peer = accept(lfd, NULL, NULL);
        assert_true(peer >= 0);
        assert_int_equal(write(sock, "x", 1), 1);
        char c;
        assert_int_equal(read(peer, &c, 1), 1);
        close(peer);
        close(sock);
        close(lfd);
}

static void test_refused_dial_answers_the_errno(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address;
        socklen_t length;
        struct dial_answer answer;
        int sock = -1, lfd = listener(SOCK_STREAM, &address, &length);

        close(lfd); /* nothing listens there any more */
        assert_int_equal(dial_send_request(f->launcher_fd, 7, IPPROTO_TCP, &address, length), 0);
        receive(f, &answer, &sock);
        assert_int_equal(answer.reply.cookie, 7);
        assert_int_equal(answer.reply.error, ECONNREFUSED);
        assert_int_equal(sock, -EBADF);
}

static void test_udp_dial_returns_a_connected_datagram_socket(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address;
        socklen_t length;
        struct dial_answer answer;
        int sock = -1, server = listener(SOCK_DGRAM, &address, &length);
        char buffer[8];

        assert_int_equal(dial_send_request(f->launcher_fd, 9, IPPROTO_UDP, &address, length), 0);
        receive(f, &answer, &sock);
        assert_int_equal(answer.reply.error, 0);
        assert_int_equal(send(sock, "ping", 4, 0), 4);
        assert_int_equal(recv(server, buffer, sizeof(buffer), 0), 4);
        close(sock);
        close(server);
}

static void test_sockets_asked_ahead_arrive_unconnected_and_connect_from_here(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address;
        socklen_t length;
        struct dial_answer answer;
        int socks[3], lfd = listener(SOCK_STREAM, &address, &length);

        assert_int_equal(dial_send_sockets_request(f->launcher_fd, AF_INET, 3), 0);
        for (int i = 0; i < 3; i++) {
                receive(f, &answer, &socks[i]);
                assert_int_equal(answer.type, DIAL_MSG_SOCKET);
                assert_int_equal(answer.socket.family, AF_INET);
                assert_true(socks[i] >= 0);
        }
        int r = connect(socks[0], (struct sockaddr *)&address, length);
        assert_true(r == 0 || errno == EINPROGRESS);
        int peer = accept(lfd, NULL, NULL);
        assert_true(peer >= 0);
        close(peer);
        for (int i = 0; i < 3; i++)
                close(socks[i]);
        close(lfd);
}

static void test_bad_address_family_is_an_error_not_a_crash(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address = { .ss_family = AF_UNIX };
        struct dial_answer answer;
        int sock = -1;

        assert_int_equal(dial_send_request(f->launcher_fd, 3, IPPROTO_TCP, &address, sizeof(address)), 0);
        receive(f, &answer, &sock);
        assert_int_equal(answer.reply.error, EAFNOSUPPORT);
}

/* Runs the helper's loop until an answer waits on the launcher's end, without receiving it. */
static void wait_answer_queued(struct fixture *f) {
        for (int i = 0; i < 200; i++) {
                struct pollfd p = { .fd = f->launcher_fd, .events = POLLIN };
                if (poll(&p, 1, 0) == 1)
                        return;
                assert_true(event_loop_run_once(f->event, 10000) >= 0);
        }
        fail_msg("no answer from the dial helper");
}

/* dial_recv() with no file left for a passed socket: the soft limit lowered to the lowest free
 * fd number, so the kernel cannot install the socket and drops it. */
static int recv_at_fd_limit(struct fixture *f, struct dial_answer *answer, int *sock) {
        struct rlimit saved, low;
        int lowest = dup(0);

        assert_true(lowest >= 0);
        close(lowest);
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
        low = (struct rlimit){ .rlim_cur = (rlim_t)lowest, .rlim_max = saved.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        int r = dial_recv(f->launcher_fd, answer, sock);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
        return r;
}

static void test_a_socket_lost_at_the_fd_limit_still_delivers_its_answer(void **state) {
        struct fixture *f = *state;
        struct sockaddr_storage address;
        socklen_t length;
        struct dial_answer answer = {};
        int sock = 0, lfd = listener(SOCK_STREAM, &address, &length);

        /* A dial's reply: the forwarder must learn which dial failed, or its client hangs. */
        assert_int_equal(dial_send_request(f->launcher_fd, 11, IPPROTO_TCP, &address, length), 0);
        wait_answer_queued(f);
        assert_int_equal(recv_at_fd_limit(f, &answer, &sock), -EMFILE);
        assert_int_equal(answer.type, DIAL_MSG_REPLY);
        assert_int_equal(answer.reply.cookie, 11);
        assert_int_equal(sock, -EBADF);

        /* A socket asked for ahead: the forwarder must stop counting it as on its way. */
        assert_int_equal(dial_send_sockets_request(f->launcher_fd, AF_INET, 1), 0);
        wait_answer_queued(f);
        assert_int_equal(recv_at_fd_limit(f, &answer, &sock), -EMFILE);
        assert_int_equal(answer.type, DIAL_MSG_SOCKET);
        assert_int_equal(answer.socket.family, AF_INET);
        assert_int_equal(sock, -EBADF);

        /* and the channel goes on */
        assert_int_equal(dial_send_request(f->launcher_fd, 12, IPPROTO_TCP, &address, length), 0);
        receive(f, &answer, &sock);
        assert_int_equal(answer.reply.cookie, 12);
        assert_true(sock >= 0);
        close(sock);
        close(lfd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_tcp_dial_returns_a_connected_socket, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_dial_answers_the_errno, setup, teardown),
                cmocka_unit_test_setup_teardown(test_udp_dial_returns_a_connected_datagram_socket, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_sockets_asked_ahead_arrive_unconnected_and_connect_from_here, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_address_family_is_an_error_not_a_crash, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_socket_lost_at_the_fd_limit_still_delivers_its_answer,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
