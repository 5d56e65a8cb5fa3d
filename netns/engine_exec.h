/* engine_exec.h: how the slirp engine program (netns/engine_main.c, built as usernode-slirp) is
 * started: the fds it finds open, its arguments, and the options record it reads.
 *
 * The launcher execs it rather than running the engine in a fork of itself, so the engine maps
 * only libc, libslirp, glib and libcap (not libcurl, OpenSSL and the rest the launcher links)
 * and holds no copy of the launcher's memory. Both programs come from one build (the launcher
 * carries the engine inside it, launcher/engine_spawn.c), so the options travel as the struct
 * itself behind a header that catches a mismatch rather than trusting it. */
#pragma once

#include <stdint.h>

#include "netns/network_options.h"

/* The fds the engine program starts with: the node's tap device, the pipe it writes one byte to
 * once it serves (absent on a restart), the pipe it reads its options from, and the kernel TCP
 * path's listeners in the node (IPv4, IPv6: each present when the record says so). */
#define ENGINE_EXEC_TAP_FD 3
#define ENGINE_EXEC_READY_FD 4
#define ENGINE_EXEC_OPTIONS_FD 5
#define ENGINE_EXEC_TCP4_FD 6
#define ENGINE_EXEC_TCP6_FD 7

/* argv: usernode-slirp LAUNCHER_PID LOG_LEVEL [ready] */
#define ENGINE_EXEC_ARG_READY "ready"

#define ENGINE_EXEC_MAGIC UINT32_C(0x75736c70) /* "uslp" */

struct engine_exec_record {
        uint32_t magic;
        uint32_t size; /* sizeof(struct engine_exec_record) */
        struct network_options options;
        uint8_t tcp_listen[2]; /* 1: ENGINE_EXEC_TCP4_FD / ENGINE_EXEC_TCP6_FD is open */
};
