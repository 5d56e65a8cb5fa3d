/* splice_relay.c: the smallest TCP relay that splice(2) allows, as the benchmarks' ceiling.
 *
 *   splice_relay LISTEN_PORT TARGET_PORT
 *
 * Listens on 127.0.0.1:LISTEN_PORT; each accepted connection is relayed to 127.0.0.1:TARGET_PORT
 * by two threads, one per direction, each a blocking splice loop through a 1 MiB pipe: no event
 * loop, no bookkeeping, no dial helper. The data path is the one every port forwarder built on
 * splice shares (two loopback TCP connections and page references moved between them), so its
 * throughput is what such a forwarder can reach on the machine at hand. Not a product: no
 * half-close subtleties beyond passing FIN on, no limits, runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1024 * 1024)

/* One accepted connection and its target; the last direction to finish closes both. */
struct connection {
        int client, server;
        atomic_int directions_left;
};

struct direction {
        struct connection *connection;
        int from, to;
};

static int die(const char *what) {
        fprintf(stderr, "splice_relay: %s: %s\n", what, strerror(errno));
        exit(1);
}

static struct sockaddr_in loopback(const char *port) {
        return (struct sockaddr_in){ .sin_family = AF_INET,
                                     .sin_port = htons((uint16_t)atoi(port)),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* Moves bytes one way until EOF or an error, then passes the FIN on. */
static void *relay_direction(void *arg) {
        struct direction *d = arg;
        int pipe_fds[2];

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                die("pipe2");
        (void)fcntl(pipe_fds[1], F_SETPIPE_SZ, PIPE_SIZE);
        for (;;) {
                ssize_t n = splice(d->from, NULL, pipe_fds[1], NULL, PIPE_SIZE, SPLICE_F_MOVE);
                if (n <= 0)
                        break;
                while (n > 0) {
                        ssize_t written = splice(pipe_fds[0], NULL, d->to, NULL, (size_t)n, SPLICE_F_MOVE);
                        if (written <= 0)
                                goto out;
                        n -= written;
                }
        }
out:
        (void)shutdown(d->to, SHUT_WR);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        struct connection *c = d->connection;
        if (atomic_fetch_sub(&c->directions_left, 1) == 1) {
                close(c->client);
                close(c->server);
                free(c);
        }
        free(d);
        return NULL;
}

static void start_direction(struct connection *c, int from, int to) {
        struct direction *d = malloc(sizeof(*d));
        pthread_t thread;

        if (!d)
                die("malloc");
        *d = (struct direction){ .connection = c, .from = from, .to = to };
        errno = pthread_create(&thread, NULL, relay_direction, d);
        if (errno != 0)
                die("pthread_create");
        (void)pthread_detach(thread);
}

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: splice_relay LISTEN_PORT TARGET_PORT\n");
                return 2;
        }
        /* A peer that resets while a direction still writes must not end the relay. */
        signal(SIGPIPE, SIG_IGN);

        struct sockaddr_in listen_address = loopback(argv[1]), target = loopback(argv[2]);
        int one = 1;
        int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener < 0)
                die("socket");
        (void)setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(listener, (struct sockaddr *)&listen_address, sizeof(listen_address)) < 0 ||
            listen(listener, 64) < 0)
                die("listen");
        for (;;) {
                int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                if (client < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        die("accept4");
                }
                int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (server < 0 || connect(server, (struct sockaddr *)&target, sizeof(target)) < 0) {
                        /* The target is not up yet: the client sees the connection close. */
                        if (server >= 0)
                                close(server);
                        close(client);
                        continue;
                }
                struct connection *c = malloc(sizeof(*c));
                if (!c)
                        die("malloc");
                *c = (struct connection){ .client = client, .server = server };
                atomic_init(&c->directions_left, 2);
                start_direction(c, client, server);
                start_direction(c, server, client);
        }
}
