/* slirp_engine.h: the process that connects the node's tap device to the host through libslirp.
 *
 * It is a program of its own, usernode-slirp (engine_main.c, started as engine_exec.h says), and stays in the host's network namespace, so the sockets slirp
 * opens for the node's connections are ordinary sockets of the user on the host. It reads
 * Ethernet frames from the tap fd into slirp and writes slirp's frames back, serves slirp's
 * sockets and timers, and exits when the launcher goes away. */
#pragma once

#include <sys/types.h>

#include "netns/network_options.h"

/* The name the engine gives itself (comm, as ps and /proc/PID/comm show it). */
#define SLIRP_ENGINE_NAME "usernode-slirp"

/* Run the engine in the calling process (usernode-slirp, freshly exec'd): die with `launcher_pid`, sandbox
 * itself when options->sandbox, write one byte to `ready_fd` (if >= 0) once it serves, then
 * serve `tap_fd`, and the node's redirected TCP connections on `tcp_listen` (IPv4, IPv6; each
 * -1 when absent; netns/tcp_splice.h), until an unrecoverable error. Never returns: exits
 * EXIT_RUNTIME after logging why it stopped. */
_Noreturn void slirp_engine_main(const struct network_options *options, int tap_fd, const int tcp_listen[2],
                                 int ready_fd, pid_t launcher_pid);
