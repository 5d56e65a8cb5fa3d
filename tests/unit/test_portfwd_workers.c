/* test_portfwd_workers.c: the port forwarder's worker threads (netns/portfwd_worker.c) with real
 * sockets in this process's network namespace: a dial helper on the test's loop stands in for the
 * node init's, an echo server on 127.0.0.1 for the node's server, and client threads stream
 * through a published port while the test's thread runs the launcher's loop, adds and removes
 * ports and frees the forwarder in the middle of transfers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns/dial.h"
#include "netns/portfwd.h"

#define CLIENTS 4
#define SERVER_CONNS_MAX 64
#define NO_PROGRESS_MS 10000 /* a client that moves nothing for this long has failed */

struct server {
        int listen_fd;
        uint16_t port;
        pthread_t acceptor;
        pthread_t conns[SERVER_CONNS_MAX];
        atomic_int n_conns;
};

struct client {
        uint16_t port;
        uint64_t total; /* bytes to send, and to get back */
        unsigned seed;
        pthread_t thread;
        atomic_ullong received;
        atomic_bool done;
        bool intact; /* all bytes came back, in order, then EOF */
        bool cut; /* the connection ended early (EOF or reset) */
};

struct fixture {
        event_loop *event;
        struct dial_helper *helper;
        struct portfwd *pf;
        struct server server;
        int fds_before;
};

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The byte at offset k of a client's stream: a dropped, repeated or reordered chunk shows. */
static uint8_t pattern(unsigned seed, uint64_t k) {
        return (uint8_t)((k * 7 + seed + (k >> 12)) & 0xff);
}

static void *server_conn(void *userdata) {
        int fd = (int)(intptr_t)userdata;
        char buffer[65536];

        for (;;) {
                ssize_t n = read(fd, buffer, sizeof(buffer));
                if (n <= 0)
                        break;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(fd, buffer + off, (size_t)(n - off));
                        if (w <= 0)
                                goto out;
                        off += w;
                }
        }
        (void)shutdown(fd, SHUT_WR);
out:
        close(fd);
        return NULL;
}

static void *server_accept(void *userdata) {
        struct server *s = userdata;

        for (;;) {
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        return NULL; /* shutdown() of the listener at teardown */
                int i = atomic_load(&s->n_conns);
                if (i >= SERVER_CONNS_MAX ||
                    pthread_create(&s->conns[i], NULL, server_conn, (void *)(intptr_t)fd) != 0) {
                        close(fd);
                        continue;
                }
                atomic_store(&s->n_conns, i + 1);
        }
}

static uint16_t loopback_listener(int *ret_fd) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t length = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sin, length), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &length), 0);
        assert_int_equal(listen(fd, 64), 0);
        *ret_fd = fd;
        return ntohs(sin.sin_port);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        int fds[2];

        f->fds_before = count_fds();
        assert_int_equal(event_loop_new(&f->event), 0);
        assert_int_equal(dial_pair(fds), 0);
        assert_int_equal(dial_helper_new(f->event, fds[1], &f->helper), 0);
        assert_int_equal(portfwd_new(f->event, fds[0], &f->pf), 0);
        f->server.port = loopback_listener(&f->server.listen_fd);
        assert_int_equal(pthread_create(&f->server.acceptor, NULL, server_accept, &f->server), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        portfwd_free(f->pf); /* closes the node side of what is still open: server threads end */
        dial_helper_free(f->helper);
        (void)shutdown(f->server.listen_fd, SHUT_RDWR);
        pthread_join(f->server.acceptor, NULL);
        for (int i = 0; i < atomic_load(&f->server.n_conns); i++)
                pthread_join(f->server.conns[i], NULL);
        close(f->server.listen_fd);
        event_loop_unref(f->event);
        /* Every socket, pipe, eventfd and epoll fd of the forwarder and its workers is closed. */
        assert_int_equal(count_fds(), f->fds_before);
        free(f);
        return 0;
}

/* Publishes 127.0.0.1:H -> the echo server, H a free port; returns H. */
static uint16_t publish(struct fixture *f, unsigned *ret_id) {
        char text[64], error[256];
        struct port_spec spec;

        for (int attempt = 0; attempt < 20; attempt++) {
                int fd;
                uint16_t host = loopback_listener(&fd);
                close(fd);
                snprintf(text, sizeof(text), "127.0.0.1:%u:%u:127.0.0.1/tcp", host, f->server.port);
                assert_int_equal(portspec_parse(text, &spec, error, sizeof(error)), 0);
                int r = portfwd_add(f->pf, &spec, ret_id, error, sizeof(error));
                if (r == 0)
                        return host;
                assert_int_equal(r, -EADDRINUSE); /* taken since: try another */
        }
        fail_msg("no free host port");
        return 0;
}

/* Streams c->total bytes through the port and checks what comes back, with poll() so that
 * neither direction waits for the other; gives up after NO_PROGRESS_MS without progress. */
static void *client_main(void *userdata) {
        struct client *c = userdata;
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(c->port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        uint8_t out[32768], in[65536];
        uint64_t sent = 0, got = 0, last = now_ms();
        bool ok = true;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
                c->cut = true;
                goto out;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN | (sent < c->total ? POLLOUT : 0) };
                if (poll(&p, 1, 100) < 0)
                        break;
                if (now_ms() - last > NO_PROGRESS_MS) {
                        ok = false;
                        break;
                }
                if ((p.revents & POLLOUT) && sent < c->total) {
                        size_t n = c->total - sent < sizeof(out) ? (size_t)(c->total - sent) : sizeof(out);
                        for (size_t i = 0; i < n; i++)
                                out[i] = pattern(c->seed, sent + i);
                        ssize_t w = send(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (w > 0) {
                                sent += (uint64_t)w;
                                last = now_ms();
                                if (sent == c->total)
                                        (void)shutdown(fd, SHUT_WR);
                        } else if (w < 0 && errno != EAGAIN) {
                                c->cut = true;
                                break;
                        }
                }
                if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
                        if (n == 0) {
                                c->cut = got < c->total;
                                break;
                        }
                        if (n < 0 && errno != EAGAIN) {
                                c->cut = true;
                                break;
                        }
                        for (ssize_t i = 0; i < n; i++)
                                if (in[i] != pattern(c->seed, got + (uint64_t)i))
                                        ok = false;
                        if (n > 0) {
                                got += (uint64_t)n;
                                atomic_store(&c->received, got);
                                last = now_ms();
                        }
                }
        }
        c->intact = ok && !c->cut && got == c->total;
out:
        if (fd >= 0)
                close(fd);
        atomic_store(&c->done, true);
        return NULL;
}

static void clients_start(struct client *clients, unsigned n, uint16_t port, uint64_t total) {
        for (unsigned i = 0; i < n; i++) {
                clients[i] = (struct client){ .port = port, .total = total, .seed = i * 31 + 1 };
                assert_int_equal(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
        }
}

static bool clients_done(struct client *clients, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (!atomic_load(&clients[i].done))
                        return false;
        return true;
}

static uint64_t clients_received(struct client *clients, unsigned n) {
        uint64_t sum = 0;
        for (unsigned i = 0; i < n; i++)
                sum += atomic_load(&clients[i].received);
        return sum;
}

/* Runs the launcher's loop until cond(arg) holds, at most seconds. */
static bool run_until(struct fixture *f, bool (*cond)(void *), void *arg, unsigned seconds) {
        uint64_t deadline = now_ms() + seconds * 1000ULL;
        while (!cond(arg)) {
                if (now_ms() > deadline)
                        return false;
                assert_true(event_loop_run_once(f->event, 10000) >= 0);
        }
        return true;
}

struct clients_arg {
        struct client *clients;
        unsigned n;
        uint64_t received_at_least;
};
static bool cond_done(void *arg) {
        struct clients_arg *a = arg;
        return clients_done(a->clients, a->n);
}
static bool cond_each_received(void *arg) {
        struct clients_arg *a = arg;
        for (unsigned i = 0; i < a->n; i++)
                if (atomic_load(&a->clients[i].received) < a->received_at_least &&
                    !atomic_load(&a->clients[i].done))
                        return false;
        return true;
}
static bool cond_received(void *arg) {
        struct clients_arg *a = arg;
        return clients_received(a->clients, a->n) >= a->received_at_least || clients_done(a->clients, a->n);
}

static uint64_t port_connections(struct fixture *f, unsigned id) {
        struct portfwd_port port;
        for (size_t i = 0; portfwd_get(f->pf, i, &port); i++)
                if (port.id == id)
                        return port.connections;
        return UINT64_MAX;
}

static unsigned worker_threads(void) {
        DIR *d = opendir("/proc/self/task");
        struct dirent *e;
        unsigned n = 0;

        assert_non_null(d);
        while ((e = readdir(d))) {
                char path[300], comm[32] = "";
                snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
                FILE *file = fopen(path, "re");
                if (!file)
                        continue;
                if (fgets(comm, sizeof(comm), file) && strncmp(comm, "portfwd-", 8) == 0)
                        n++;
                fclose(file);
        }
        closedir(d);
        return n;
}

static void test_parallel_streams_arrive_intact_through_the_workers(void **state) {
        struct fixture *f = *state;
        struct client clients[CLIENTS];
        unsigned id;
        uint16_t port = publish(f, &id);

        assert_true(worker_threads() >= 1);
        clients_start(clients, CLIENTS, port, 32ULL << 20);
        struct clients_arg arg = { clients, CLIENTS, 1ULL << 20 };
        /* In flight, every connection counts for its port, whichever worker it is on: a client
         * still short of its bytes afterwards was in flight when the count was read. */
        assert_true(run_until(f, cond_each_received, &arg, 60));
        uint64_t counted = port_connections(f, id);
        bool all_in_flight = true;
        for (unsigned i = 0; i < CLIENTS; i++)
                all_in_flight = all_in_flight && atomic_load(&clients[i].received) < clients[i].total;
        if (all_in_flight)
                assert_int_equal(counted, CLIENTS);
        assert_true(run_until(f, cond_done, &arg, 120));
        for (unsigned i = 0; i < CLIENTS; i++) {
                pthread_join(clients[i].thread, NULL);
                assert_true(clients[i].intact);
        }
}

struct count_arg {
        struct fixture *f;
        unsigned id;
};
static bool cond_no_connections(void *arg) {
        struct count_arg *a = arg;
        return port_connections(a->f, a->id) == 0;
}

static void test_ports_added_and_removed_while_workers_pump(void **state) {
        struct fixture *f = *state;
        struct client clients[CLIENTS], probe;
        unsigned id, other;
        uint16_t port = publish(f, &id);

        clients_start(clients, CLIENTS, port, 48ULL << 20);
        struct clients_arg arg = { clients, CLIENTS, 1ULL << 20 };
        assert_true(run_until(f, cond_received, &arg, 60));
        /* Another port comes and goes 20 times, each time carrying a connection of its own, while
         * the workers free and count connections of the first. */
        for (int round = 0; round < 20; round++) {
                uint16_t p = publish(f, &other);
                clients_start(&probe, 1, p, 4096);
                struct clients_arg one = { &probe, 1, 0 };
                assert_true(run_until(f, cond_done, &one, 30));
                pthread_join(probe.thread, NULL);
                assert_true(probe.intact);
                struct count_arg gone = { f, other };
                assert_true(run_until(f, cond_no_connections, &gone, 10));
                assert_int_equal(portfwd_remove(f->pf, other), 0);
        }
        /* The streams' own port goes too: its connections go on to the end. */
        assert_int_equal(portfwd_remove(f->pf, id), 0);
        assert_true(run_until(f, cond_done, &arg, 120));
        for (unsigned i = 0; i < CLIENTS; i++) {
                pthread_join(clients[i].thread, NULL);
                assert_true(clients[i].intact);
        }
        struct portfwd_port unused;
        assert_false(portfwd_get(f->pf, 0, &unused));
}

static void test_freeing_the_forwarder_mid_transfer_ends_every_connection(void **state) {
        struct fixture *f = *state;
        struct client clients[CLIENTS];
        unsigned id;
        uint16_t port = publish(f, &id);

        clients_start(clients, CLIENTS, port, 1ULL << 40); /* far more than it will move */
        struct clients_arg arg = { clients, CLIENTS, 16ULL << 20 };
        assert_true(run_until(f, cond_received, &arg, 60));
        f->pf = portfwd_free(f->pf);
        /* Nothing runs the loop now: the clients learn from the sockets the workers closed. */
        uint64_t deadline = now_ms() + 30000;
        while (!clients_done(clients, CLIENTS) && now_ms() < deadline)
                usleep(10000);
        for (unsigned i = 0; i < CLIENTS; i++) {
                assert_true(atomic_load(&clients[i].done));
                pthread_join(clients[i].thread, NULL);
                assert_true(clients[i].cut);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_parallel_streams_arrive_intact_through_the_workers,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_ports_added_and_removed_while_workers_pump, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_freeing_the_forwarder_mid_transfer_ends_every_connection, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
