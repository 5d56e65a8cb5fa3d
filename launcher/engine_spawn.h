/* engine_spawn.h: start the slirp engine program (netns/engine_main.c) that the launcher carries
 * inside its own binary.
 *
 * The program is copied once into a sealed memfd, so every restart runs exactly the engine the
 * launcher was built with, whatever happens to files on disk meanwhile, and usernode stays one
 * file to install. */
#pragma once

#include <sys/types.h>

#include "netns/network_options.h"

/* A sealed, executable memfd holding the engine program. Returns the fd (O_CLOEXEC) or a
 * negative errno. */
int engine_program_open(void);

/* Start the engine from `program_fd` on `tap_fd` and the kernel TCP path's listeners
 * `tcp_listen` (IPv4, IPv6; each -1 when absent), with `ready_fd` (or -1) as the pipe it writes
 * one byte to once it serves. The caller closes its copies. Returns the pid or a negative errno. */
pid_t engine_spawn(int program_fd, const struct network_options *options, int tap_fd,
                   const int tcp_listen[2], int ready_fd);
