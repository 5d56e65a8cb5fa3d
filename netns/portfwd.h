/* portfwd.h: the port forwarder, publishing node ports on the host (DESIGN.md, "Process model").
 *
 * It runs in the launcher, in the host network namespace. On the launcher's event loop it listens
 * on the host for each published port; for each TCP connection it gets a socket connected inside
 * the node, then hands the pair to one of its worker threads (one per usable CPU, each with its
 * own event loop), which moves bytes between the two with splice(2), both directions, with
 * back-pressure, half-close and reset propagation. The functions below are for the launcher's
 * thread only. That socket is one the node init's dial
 * helper (dial.h) made in the node ahead of time, connected from here (no round trip per
 * connection), or, when none is at hand, one the helper dialed on request. UDP is relayed per
 * client address, each flow with its own socket inside the node, dropped when idle.
 *
 * Removing a port closes its listeners; TCP connections already open go on until they finish.
 * UDP flows of a removed port are dropped with it (their replies leave through its socket). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/event_loop.h"

#include "netns/portspec.h"

#define PORTFWD_UDP_IDLE_DEFAULT_USEC (60ULL * 1000000ULL)

struct portfwd;

/* Takes ownership of dial_fd (the launcher's end of dial_pair()). Also raises the soft
 * RLIMIT_NOFILE to the hard limit: every forwarded connection costs the launcher two fds. */
int portfwd_new(event_loop *event, int dial_fd, struct portfwd **ret);
struct portfwd *portfwd_free(struct portfwd *pf);

void portfwd_set_udp_idle_timeout(struct portfwd *pf, uint64_t usec);

/* Publishes spec. On failure returns a negative errno and leaves a one-line message saying
 * what is wrong and how to fix it in error; nothing of the spec stays published and the other
 * ports are untouched. -EACCES: a host port below net.ipv4.ip_unprivileged_port_start;
 * -EADDRINUSE: already published, or taken by another program; -EADDRNOTAVAIL: the host
 * address is not one of this host's. */
int portfwd_add(struct portfwd *pf, const struct port_spec *spec, unsigned *ret_id, char *error,
                size_t error_size);

/* Unpublishes the port with that id: -ENOENT if there is none. */
int portfwd_remove(struct portfwd *pf, unsigned id);

/* The id of the published port whose spec equals spec, or -ENOENT. */
int portfwd_find(struct portfwd *pf, const struct port_spec *spec);

/* Published ports in the order they were added: returns false past the last one. */
struct portfwd_port {
        unsigned id;
        struct port_spec spec;
        uint64_t connections; /* TCP connections or UDP flows open now */
};
bool portfwd_get(struct portfwd *pf, size_t index, struct portfwd_port *ret);
