/* port_peer.c: both ends of the port forwarding tests and benchmarks.
 *
 *   port_peer server tcp|udp ADDR PORT [echo|count|slow]  echo server (count: answer "N\n" at
 *                                                     EOF; slow: listen(1), one accept per 20 ms)
 *   port_peer roundtrip ADDR PORT                     one line there and back
 *   port_peer bulk ADDR PORT BYTES                    send BYTES while reading the echo; verify
 *                                                     every byte both ways, print FNV-1a checksums
 *   port_peer halfclose ADDR PORT [QUIET_MS]          write, (wait QUIET_MS,) shut down writing,
 *                                                     expect "5\n"
 *   port_peer concurrent ADDR PORT N                  N connections open at once, all answered
 *   port_peer burst ADDR PORT N                       N connections at once, each answered or
 *                                                     closed (EOF/reset), none hanging or wrong
 *   port_peer refused ADDR PORT                       the connection is closed without data
 *   port_peer udp ADDR PORT N                         N datagrams echoed in order
 *   port_peer udpflows ADDR PORT N                    N sockets (N source ports) open at once,
 *                                                     each echoed its own datagrams, twice over
 *   port_peer udpburst ADDR PORT N ROUNDS             N sockets each send one datagram at once,
 *                                                     ROUNDS times, never resent; prints how many
 *                                                     were echoed (UDP may drop: the caller judges)
 *   port_peer rate ADDR PORT N                        N sequential connect/request/close; conn/s
 *   port_peer idle ADDR PORT N                        N open connections until stdin closes
 *   port_peer stream ADDR PORT                        round trips on one connection until stdin
 *                                                     closes; fails on any lost or wrong byte
 *
 * ADDR is a numeric IPv4 or IPv6 address. Exit status 0 means the check held; failures print
 * one line saying what did not. Every wait is bounded (TIMEOUT_MS). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 20000
#define PATTERN_PERIOD 1048573 /* prime: chunk boundaries never line up with it */
#define CHUNK (256 * 1024)

static int die(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));
static int die(const char *format, ...) {
        va_list ap;
        fprintf(stderr, "port_peer: ");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        exit(1);
}

static socklen_t make_address(const char *host, const char *port, struct sockaddr_storage *ss) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                die("bad address %s port %s", host, port);
        socklen_t length = ai->ai_addrlen;
        memcpy(ss, ai->ai_addr, length);
        freeaddrinfo(ai);
        return length;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void raise_nofile(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int tcp_connect(const struct sockaddr_storage *ss, socklen_t length) {
        int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0)
                die("socket: %m");
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (const struct sockaddr *)ss, length) < 0)
                die("connect: %m");
        return fd;
}

/* Waits for fd to be ready for events; dies after TIMEOUT_MS. */
static short wait_fd(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, TIMEOUT_MS);
        if (r < 0)
                die("poll: %m");
        if (r == 0)
                die("timed out after %d ms", TIMEOUT_MS);
        return p.revents;
}

static void write_all(int fd, const void *data, size_t length) {
        const char *p = data;
        while (length > 0) {
                ssize_t n = write(fd, p, length);
                if (n < 0)
                        die("write: %m");
                p += n;
                length -= (size_t)n;
        }
}

/* Reads until EOF (bounded by size and TIMEOUT_MS). */
static size_t read_to_eof(int fd, char *buffer, size_t size) {
        size_t used = 0;
        for (;;) {
                wait_fd(fd, POLLIN);
                ssize_t n = read(fd, buffer + used, size - used);
                if (n < 0)
                        die("read: %m");
                if (n == 0)
                        return used;
                used += (size_t)n;
                if (used == size)
                        die("more than %zu bytes", size);
        }
}

/* ---- server ---- */

struct peer {
        int fd;
        char *buffer;
        size_t start, end; /* pending bytes to write back */
        uint64_t count;
        bool eof;
};

static void server_update(int epfd, struct peer *p) {
        struct epoll_event ev = { .events = p->end > p->start ? EPOLLOUT : EPOLLIN, .data.ptr = p };
        epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

static void peer_close(struct peer *p) {
        close(p->fd);
        free(p->buffer);
        free(p);
}

#define SLOW_ACCEPT_MS 20

/* slow: a server that falls behind, as a busy one does: a backlog of one and one accept per
 * SLOW_ACCEPT_MS, so a burst of connections sees its SYNs dropped and retried. */
static int serve_tcp(const struct sockaddr_storage *ss, socklen_t length, bool count, bool slow) {
        int one = 1, lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int epfd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        uint64_t next_accept = 0;

        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(lfd, (const struct sockaddr *)ss, length) < 0 || listen(lfd, slow ? 1 : 4096) < 0)
                die("listen: %m");
        if (!slow)
                epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
        for (;;) {
                struct epoll_event events[64];
                int timeout = -1;
                if (slow) {
                        uint64_t now = now_ms();
                        if (now >= next_accept) {
                                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                                if (fd >= 0) {
                                        struct peer *p = calloc(1, sizeof(*p));
                                        p->fd = fd;
                                        p->buffer = malloc(CHUNK);
                                        struct epoll_event pev = { .events = EPOLLIN, .data.ptr = p };
                                        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &pev);
                                }
                                next_accept = now + SLOW_ACCEPT_MS;
                        }
                        timeout = (int)(next_accept - now_ms());
                        if (timeout < 0)
                                timeout = 0;
                }
                int n = epoll_wait(epfd, events, 64, timeout);
                for (int i = 0; i < n; i++) {
                        struct peer *p = events[i].data.ptr;
                        if (!p) {
                                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                                if (fd < 0)
                                        continue;
                                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                                p = calloc(1, sizeof(*p));
                                p->fd = fd;
                                p->buffer = malloc(CHUNK);
                                struct epoll_event pev = { .events = EPOLLIN, .data.ptr = p };
                                epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &pev);
                                continue;
                        }
                        if (p->end > p->start) {
                                ssize_t w = write(p->fd, p->buffer + p->start, p->end - p->start);
                                if (w < 0 && errno != EAGAIN) {
                                        peer_close(p);
                                        continue;
                                }
                                if (w > 0)
                                        p->start += (size_t)w;
                        } else {
                                ssize_t r = read(p->fd, p->buffer, CHUNK);
                                if (r < 0 && errno == EAGAIN)
                                        continue;
                                if (r < 0) {
                                        peer_close(p);
                                        continue;
                                }
                                if (r == 0) {
                                        if (count) {
                                                char line[32];
                                                int m = snprintf(line, sizeof(line), "%llu\n",
                                                                 (unsigned long long)p->count);
                                                (void)write(p->fd, line, (size_t)m);
                                        }
                                        shutdown(p->fd, SHUT_WR);
                                        peer_close(p);
                                        continue;
                                }
                                p->count += (uint64_t)r;
                                if (!count) {
                                        p->start = 0;
                                        p->end = (size_t)r;
                                }
                        }
                        server_update(epfd, p);
                }
        }
}

static int serve_udp(const struct sockaddr_storage *ss, socklen_t length) {
        int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        char buffer[65536];

        /* As much buffer as we may have: the forwarder's drops are what tests measure. (Root of
         * the node's user namespace may force more in the node's network namespace.) */
        int size = 8 << 20;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (bind(fd, (const struct sockaddr *)ss, length) < 0)
                die("bind: %m");
        for (;;) {
                struct sockaddr_storage from;
                socklen_t from_length = sizeof(from);
                ssize_t n = recvfrom(fd, buffer, sizeof(buffer), 0, (struct sockaddr *)&from, &from_length);
                if (n >= 0)
                        (void)sendto(fd, buffer, (size_t)n, 0, (struct sockaddr *)&from, from_length);
        }
}

/* ---- clients ---- */

static char *pattern_make(void) {
        char *p = malloc(PATTERN_PERIOD + CHUNK);
        uint64_t x = 0x9E3779B97F4A7C15ULL;
        for (size_t i = 0; i < PATTERN_PERIOD + CHUNK; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p[i] = (char)(x >> 24);
        }
        /* The tail repeats the head so any offset has CHUNK contiguous bytes. */
        memcpy(p + PATTERN_PERIOD, p, CHUNK);
        return p;
}

static uint64_t fnv1a(uint64_t h, const char *data, size_t length) {
        for (size_t i = 0; i < length; i++) {
                h ^= (unsigned char)data[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static int bulk(const struct sockaddr_storage *ss, socklen_t length, uint64_t total) {
        int fd = tcp_connect(ss, length);
        char *pattern = pattern_make(), *in = malloc(CHUNK);
        uint64_t sent = 0, received = 0, sent_sum = 0xcbf29ce484222325ULL, received_sum = sent_sum;
        bool shut = false;

        fcntl(fd, F_SETFL, O_NONBLOCK);
        while (received < total || !shut) {
                struct pollfd p = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };
                if (poll(&p, 1, TIMEOUT_MS) <= 0)
                        die("bulk: stalled after sending %llu and receiving %llu bytes",
                            (unsigned long long)sent, (unsigned long long)received);
                if (sent < total && (p.revents & POLLOUT)) {
                        size_t want = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
                        const char *data = pattern + sent % PATTERN_PERIOD;
                        ssize_t n = write(fd, data, want);
                        if (n < 0 && errno != EAGAIN)
                                die("bulk: write: %m");
                        if (n > 0) {
                                sent_sum = fnv1a(sent_sum, data, (size_t)n);
                                sent += (uint64_t)n;
                        }
                }
                if (sent == total && !shut) {
                        shutdown(fd, SHUT_WR);
                        shut = true;
                }
                if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(fd, in, CHUNK);
                        if (n < 0 && errno != EAGAIN)
                                die("bulk: read: %m");
                        if (n == 0 && received < total)
                                die("bulk: EOF after %llu of %llu bytes", (unsigned long long)received,
                                    (unsigned long long)total);
                        if (n > 0) {
                                if (received + (uint64_t)n > total)
                                        die("bulk: received more than sent");
                                if (memcmp(in, pattern + received % PATTERN_PERIOD, (size_t)n) != 0)
                                        die("bulk: wrong byte within [%llu, %llu)",
                                            (unsigned long long)received,
                                            (unsigned long long)received + (unsigned long long)n);
                                received_sum = fnv1a(received_sum, in, (size_t)n);
                                received += (uint64_t)n;
                        }
                }
        }
        /* After the echo of the last byte the server closes: EOF, not more data. */
        char extra;
        fcntl(fd, F_SETFL, 0);
        wait_fd(fd, POLLIN);
        if (read(fd, &extra, 1) != 0)
                die("bulk: data or error after the echo instead of EOF");
        if (sent_sum != received_sum)
                die("bulk: checksum sent %016llx != received %016llx", (unsigned long long)sent_sum,
                    (unsigned long long)received_sum);
        printf("sent %llu received %llu fnv1a %016llx %016llx\n", (unsigned long long)sent,
               (unsigned long long)received, (unsigned long long)sent_sum, (unsigned long long)received_sum);
        free(pattern);
        free(in);
        close(fd);
        return 0;
}

static int roundtrip(const struct sockaddr_storage *ss, socklen_t length) {
        int fd = tcp_connect(ss, length);
        char buffer[64];
        write_all(fd, "hello\n", 6);
        shutdown(fd, SHUT_WR);
        size_t n = read_to_eof(fd, buffer, sizeof(buffer));
        if (n != 6 || memcmp(buffer, "hello\n", 6) != 0)
                die("roundtrip: got %zu bytes \"%.*s\"", n, (int)n, buffer);
        printf("hello\n");
        return 0;
}

/* quiet_ms: how long the connection carries our bytes and nothing back before we shut down. */
static int halfclose(const struct sockaddr_storage *ss, socklen_t length, long quiet_ms) {
        int fd = tcp_connect(ss, length);
        char buffer[64];
        write_all(fd, "hello", 5);
        if (quiet_ms > 0) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, (int)quiet_ms) != 0)
                        die("halfclose: the connection was %s while the server was quiet",
                            (p.revents & POLLHUP) || recv(fd, buffer, 1, MSG_PEEK) <= 0 ? "closed"
                                                                                        : "answered");
        }
        shutdown(fd, SHUT_WR);
        /* The server answers only once it saw our FIN: the answer proves both directions. */
        size_t n = read_to_eof(fd, buffer, sizeof(buffer));
        if (n != 2 || memcmp(buffer, "5\n", 2) != 0)
                die("halfclose: expected \"5\\n\" after shutting down writing, got \"%.*s\"", (int)n,
                    buffer);
        printf("answered after half-close: %.*s", (int)n, buffer);
        return 0;
}

static int refused(const struct sockaddr_storage *ss, socklen_t length) {
        int fd = tcp_connect(ss, length);
        char c;
        uint64_t start = now_ms();
        wait_fd(fd, POLLIN);
        ssize_t n = read(fd, &c, 1);
        if (n > 0)
                die("refused: got data");
        printf("closed after %llu ms (%s)\n", (unsigned long long)(now_ms() - start),
               n == 0 ? "EOF" : strerror(errno));
        return 0;
}

static int concurrent(const struct sockaddr_storage *ss, socklen_t length, int count) {
        struct pollfd *fds = calloc((size_t)count, sizeof(*fds));
        int answered = 0;

        raise_nofile();
        for (int i = 0; i < count; i++) {
                fds[i].fd = tcp_connect(ss, length);
                fds[i].events = POLLIN;
        }
        /* All are open before any is used: the forwarder holds count connections at once. */
        for (int i = 0; i < count; i++) {
                char line[32];
                int m = snprintf(line, sizeof(line), "conn %d\n", i);
                write_all(fds[i].fd, line, (size_t)m);
        }
        uint64_t deadline = now_ms() + TIMEOUT_MS;
        while (answered < count) {
                if (now_ms() > deadline)
                        die("concurrent: only %d of %d answered", answered, count);
                if (poll(fds, (nfds_t)count, 1000) < 0)
                        die("poll: %m");
                for (int i = 0; i < count; i++) {
                        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        char expected[32], got[32];
                        int m = snprintf(expected, sizeof(expected), "conn %d\n", i);
                        ssize_t n = recv(fds[i].fd, got, (size_t)m, MSG_WAITALL);
                        if (n != m || memcmp(got, expected, (size_t)m) != 0)
                                die("concurrent: connection %d got a wrong answer", i);
                        fds[i].events = 0;
                        fds[i].fd = -fds[i].fd - 1; /* poll ignores negative fds */
                        answered++;
                }
        }
        printf("%d of %d answered\n", answered, count);
        for (int i = 0; i < count; i++)
                close(-fds[i].fd - 1);
        free(fds);
        return 0;
}

/* A burst at a server that may fall behind: every connection either gets its line back or is
 * closed (EOF or reset, before or after connecting), within TIMEOUT_MS; none hangs, none gets
 * someone else's bytes. Prints "A answered, C closed of N". */
static int burst(const struct sockaddr_storage *ss, socklen_t length, int count) {
        struct pollfd *fds = calloc((size_t)count, sizeof(*fds));
        int answered = 0, closed = 0;

        raise_nofile();
        for (int i = 0; i < count; i++) {
                int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        die("socket: %m");
                if (connect(fd, (const struct sockaddr *)ss, length) < 0 && errno != EINPROGRESS)
                        die("connect: %m");
                fds[i] = (struct pollfd){ .fd = fd, .events = POLLOUT };
        }
        uint64_t start = now_ms(), deadline = start + 6 * TIMEOUT_MS;
        while (answered + closed < count) {
                if (now_ms() > deadline)
                        die("burst: %d of %d neither answered nor closed", count - answered - closed, count);
                if (poll(fds, (nfds_t)count, 1000) < 0)
                        die("poll: %m");
                for (int i = 0; i < count; i++) {
                        if (fds[i].fd < 0 || !fds[i].revents)
                                continue;
                        char expected[32], got[32];
                        int m = snprintf(expected, sizeof(expected), "conn %d\n", i);
                        if (fds[i].events == POLLOUT) {
                                if (!(fds[i].revents & (POLLERR | POLLHUP)) &&
                                    write(fds[i].fd, expected, (size_t)m) == m) {
                                        fds[i].events = POLLIN;
                                        continue;
                                }
                                closed++; /* refused before a byte went through */
                        } else {
                                ssize_t n = recv(fds[i].fd, got, (size_t)m, MSG_DONTWAIT | MSG_WAITALL);
                                if (n < 0 && errno == EAGAIN)
                                        continue;
                                if (n == m && memcmp(got, expected, (size_t)m) == 0)
                                        answered++;
                                else if (n <= 0)
                                        closed++;
                                else
                                        die("burst: connection %d got a wrong answer", i);
                        }
                        close(fds[i].fd);
                        fds[i].fd = -1;
                }
        }
        printf("%d answered, %d closed of %d in %llu ms\n", answered, closed, count,
               (unsigned long long)(now_ms() - start));
        free(fds);
        return 0;
}

static int udp(const struct sockaddr_storage *ss, socklen_t length, int count) {
        int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int echoed = 0, resent = 0;

        if (connect(fd, (const struct sockaddr *)ss, length) < 0)
                die("udp: connect: %m");
        for (int i = 0; i < count; i++) {
                char out[64], in[64];
                int m = snprintf(out, sizeof(out), "datagram %d", i);
                for (int attempt = 0;; attempt++) {
                        if (attempt == 5)
                                die("udp: datagram %d not echoed after 5 tries", i);
                        if (send(fd, out, (size_t)m, 0) < 0 && errno != ECONNREFUSED)
                                die("udp: send: %m");
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        bool got = false;
                        while (poll(&p, 1, 1000) == 1) {
                                ssize_t n = recv(fd, in, sizeof(in), 0);
                                if (n == m && memcmp(in, out, (size_t)m) == 0) {
                                        got = true;
                                        break;
                                }
                                /* A late echo of an earlier try: keep waiting for ours. */
                        }
                        if (got)
                                break;
                        resent++;
                }
                echoed++;
        }
        printf("%d of %d datagrams echoed (%d resent)\n", echoed, count, resent);
        return 0;
}

/* Bursts of count datagrams from count source ports at once, rounds times, no resends: what a
 * DNS or game server behind a published port sees at a peak. */
static int udp_burst(const struct sockaddr_storage *ss, socklen_t length, int count, int rounds) {
        struct pollfd *p = calloc((size_t)count, sizeof(*p));
        long echoed = 0;

        raise_nofile();
        for (int i = 0; i < count; i++) {
                p[i] = (struct pollfd){ .fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0),
                                        .events = POLLIN };
                if (p[i].fd < 0 || connect(p[i].fd, (const struct sockaddr *)ss, length) < 0)
                        die("udpburst: socket: %m");
        }
        for (int round = 0; round < rounds; round++) {
                int pending = count;
                for (int i = 0; i < count; i++) {
                        char out[64];
                        int m = snprintf(out, sizeof(out), "burst %d round %d", i, round);
                        if (send(p[i].fd, out, (size_t)m, 0) < 0 && errno != ECONNREFUSED)
                                die("udpburst: send: %m");
                        p[i].events = POLLIN;
                }
                /* Until all are answered, or a second passes without a reply. */
                while (pending > 0 && poll(p, (nfds_t)count, 1000) > 0)
                        for (int i = 0; i < count; i++) {
                                char expected[64], in[64];
                                if (!(p[i].revents & POLLIN))
                                        continue;
                                int m = snprintf(expected, sizeof(expected), "burst %d round %d", i, round);
                                ssize_t n = recv(p[i].fd, in, sizeof(in), MSG_DONTWAIT);
                                if (n == m && memcmp(in, expected, (size_t)m) == 0) {
                                        echoed++;
                                        pending--;
                                        p[i].events = 0;
                                }
                        }
                /* Late replies of this round must not count for the next. */
                for (int i = 0; i < count; i++) {
                        char in[64];
                        while (recv(p[i].fd, in, sizeof(in), MSG_DONTWAIT) > 0)
                                ;
                }
        }
        printf("%ld of %ld echoed\n", echoed, (long)count * rounds);
        for (int i = 0; i < count; i++)
                close(p[i].fd);
        free(p);
        return 0;
}

#define UDP_FLOWS_BATCH 100 /* sockets in flight at once: the forwarder's socket buffer holds them */

/* Sends "flow I round R" on each of SOCKS[first, end) until each got exactly that back; dies
 * when a socket receives another flow's datagram or after 5 tries. */
static void udp_flows_batch(const int *socks, int first, int end, int round) {
        struct pollfd p[UDP_FLOWS_BATCH];
        int pending = end - first;

        for (int i = first; i < end; i++)
                p[i - first] = (struct pollfd){ .fd = socks[i], .events = POLLIN };
        for (int attempt = 0; pending > 0; attempt++) {
                if (attempt == 5)
                        die("udpflows: round %d: %d of flows %d-%d not answered after 5 tries", round,
                            pending, first, end - 1);
                for (int i = first; i < end; i++) {
                        char out[64];
                        int m = snprintf(out, sizeof(out), "flow %d round %d", i, round);
                        if (p[i - first].fd >= 0 && send(socks[i], out, (size_t)m, 0) < 0 &&
                            errno != ECONNREFUSED)
                                die("udpflows: send: %m");
                }
                /* Until all are answered, or a second passes without a reply: then resend. */
                while (pending > 0 && poll(p, (nfds_t)(end - first), 1000) > 0)
                        for (int i = first; i < end; i++) {
                                char expected[64], own[64], in[64];
                                if (p[i - first].fd < 0 || !p[i - first].revents)
                                        continue;
                                int m = snprintf(expected, sizeof(expected), "flow %d round %d", i, round);
                                int o = snprintf(own, sizeof(own), "flow %d round ", i);
                                ssize_t n = recv(socks[i], in, sizeof(in) - 1, MSG_DONTWAIT);
                                if (n < 0)
                                        continue; /* EAGAIN, or ECONNREFUSED from an early try */
                                in[n] = '\0';
                                if (n == m && memcmp(in, expected, (size_t)m) == 0) {
                                        p[i - first].fd = -1; /* answered: poll ignores it */
                                        pending--;
                                } else if (strncmp(in, own, (size_t)o) != 0) {
                                        die("udpflows: flow %d got \"%s\", the reply to another flow", i,
                                            in);
                                }
                                /* else a late echo of this flow's earlier round: skip it */
                        }
        }
}

static int udp_flows(const struct sockaddr_storage *ss, socklen_t length, int count) {
        int *socks = calloc((size_t)count, sizeof(*socks));

        raise_nofile();
        for (int i = 0; i < count; i++) {
                socks[i] = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (socks[i] < 0)
                        die("udpflows: socket: %m");
                /* Connected: each gets its own source port, and only replies from ADDR PORT. */
                if (connect(socks[i], (const struct sockaddr *)ss, length) < 0)
                        die("udpflows: connect: %m");
        }
        /* Round 0 makes the flows; round 1 finds each among all the others. */
        for (int round = 0; round < 2; round++)
                for (int first = 0; first < count; first += UDP_FLOWS_BATCH)
                        udp_flows_batch(socks, first,
                                        count - first < UDP_FLOWS_BATCH ? count : first + UDP_FLOWS_BATCH,
                                        round);
        printf("%d of %d flows answered\n", count, count);
        for (int i = 0; i < count; i++)
                close(socks[i]);
        free(socks);
        return 0;
}

static int rate(const struct sockaddr_storage *ss, socklen_t length, int count) {
        uint64_t start = now_ms();
        for (int i = 0; i < count; i++) {
                int fd = tcp_connect(ss, length);
                char buffer[16];
                write_all(fd, "ping\n", 5);
                ssize_t n = recv(fd, buffer, 5, MSG_WAITALL);
                if (n != 5)
                        die("rate: connection %d: no answer", i);
                close(fd);
        }
        uint64_t elapsed = now_ms() - start;
        printf("%.0f\n", count * 1000.0 / (double)(elapsed ? elapsed : 1));
        return 0;
}

static int idle(const struct sockaddr_storage *ss, socklen_t length, int count) {
        char c;
        raise_nofile();
        for (int i = 0; i < count; i++) {
                int fd = tcp_connect(ss, length);
                char buffer[8];
                write_all(fd, "ping\n", 5);
                if (recv(fd, buffer, 5, MSG_WAITALL) != 5)
                        die("idle: connection %d: no answer", i);
        }
        printf("ready\n");
        fflush(stdout);
        while (read(STDIN_FILENO, &c, 1) > 0)
                ;
        return 0;
}

static int stream(const struct sockaddr_storage *ss, socklen_t length) {
        int fd = tcp_connect(ss, length);
        unsigned long rounds = 0;

        for (;;) {
                char out[64], in[64], c;
                struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
                if (poll(&input, 1, 0) == 1 && read(STDIN_FILENO, &c, 1) <= 0)
                        break; /* stdin closed: stop */
                int m = snprintf(out, sizeof(out), "round %lu\n", rounds);
                write_all(fd, out, (size_t)m);
                wait_fd(fd, POLLIN);
                if (recv(fd, in, (size_t)m, MSG_WAITALL) != m || memcmp(in, out, (size_t)m) != 0)
                        die("stream: round %lu lost or garbled", rounds);
                rounds++;
                if (rounds % 64 == 0)
                        usleep(1000); /* steady traffic, not a busy loop */
        }
        shutdown(fd, SHUT_WR);
        char tail[8];
        if (read_to_eof(fd, tail, sizeof(tail)) != 0)
                die("stream: unexpected bytes at the end");
        printf("%lu rounds\n", rounds);
        return 0;
}

int main(int argc, char **argv) {
        struct sockaddr_storage ss;

        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 5 && strcmp(argv[1], "server") == 0) {
                socklen_t length = make_address(argv[3], argv[4], &ss);
                if (strcmp(argv[2], "udp") == 0)
                        return serve_udp(&ss, length);
                return serve_tcp(&ss, length, argc >= 6 && strcmp(argv[5], "count") == 0,
                                 argc >= 6 && strcmp(argv[5], "slow") == 0);
        }
        if (argc < 4)
                die("usage: see the comment at the top of port_peer.c");
        socklen_t length = make_address(argv[2], argv[3], &ss);
        const char *mode = argv[1];
        long n = argc >= 5 ? strtol(argv[4], NULL, 10) : 0;
        if (strcmp(mode, "roundtrip") == 0)
                return roundtrip(&ss, length);
        if (strcmp(mode, "bulk") == 0)
                return bulk(&ss, length, (uint64_t)strtoull(argv[4], NULL, 10));
        if (strcmp(mode, "halfclose") == 0)
                return halfclose(&ss, length, n);
        if (strcmp(mode, "refused") == 0)
                return refused(&ss, length);
        if (strcmp(mode, "concurrent") == 0)
                return concurrent(&ss, length, (int)n);
        if (strcmp(mode, "burst") == 0)
                return burst(&ss, length, (int)n);
        if (strcmp(mode, "udp") == 0)
                return udp(&ss, length, (int)n);
        if (strcmp(mode, "udpburst") == 0)
                return udp_burst(&ss, length, (int)n, argc >= 6 ? atoi(argv[5]) : 1);
        if (strcmp(mode, "udpflows") == 0)
                return udp_flows(&ss, length, (int)n);
        if (strcmp(mode, "rate") == 0)
                return rate(&ss, length, (int)n);
        if (strcmp(mode, "idle") == 0)
                return idle(&ss, length, (int)n);
        if (strcmp(mode, "stream") == 0)
                return stream(&ss, length);
        die("unknown mode %s", mode);
}
