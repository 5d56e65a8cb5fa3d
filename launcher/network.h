/* network.h: the launcher's half of the node's network: the slirp engine and the files the node
 * binds into its /etc.
 *
 * The launcher holds the node's tap fd for the node's whole life, so an engine that dies (a crash,
 * an OOM kill, a stray SIGKILL) is replaced on the same device and the node never notices more
 * than the loss of the connections the old engine carried. */
#pragma once

#include "common/event_loop.h"

#include "netns/network_options.h"

#define NETWORK_ENGINE_PID_FILE "engine.pid"

struct config;

struct network_engine;

/* The [network] keys of `config` (validated by the schema when they were set) as options, with
 * the checks that need them together or need the host. Returns 0 or -EINVAL, logged. */
int network_options_from_config(const struct config *config, struct network_options *ret);

/* Write resolv.conf and hosts into `state_dir`, for node_network_bind_files(). */
int network_write_node_files(const struct network_options *options, const char *state_dir,
                             const char *hostname);

/* Start the engine on `tap_fd` and the kernel TCP path's listeners `tcp_listen` (IPv4, IPv6,
 * each -EBADF when absent; all taken over: closed with the engine object, handed to every
 * restarted engine too) and return once it serves (sandboxed, slirp configured). Its pid is kept in state_dir/NETWORK_ENGINE_PID_FILE.
 * `options` must outlive the engine. Returns 0 or a negative errno, logged, also when the engine
 * died setting itself up. Called as soon as the node hands over its tap device, so the network
 * works from the node's first instruction. */
int network_engine_start(const struct network_options *options, int tap_fd, const int tcp_listen[2],
                         const char *state_dir, struct network_engine **ret);

/* Keep the engine running from `event`: when it exits it is started again at once on the same
 * tap fd (after a second when it keeps dying younger than that), logged. */
int network_engine_attach(struct network_engine *engine, event_loop *event);

/* Stop the engine (SIGKILL: it holds no state worth saving) and free everything. */
struct network_engine *network_engine_free(struct network_engine *engine);

/* The running engine's pid, or 0 between a death and the restart. */
pid_t network_engine_pid(const struct network_engine *engine);

/* How many times the engine was restarted. */
unsigned network_engine_restarts(const struct network_engine *engine);

static inline void network_engine_freep(struct network_engine **engine) {
        if (*engine)
                network_engine_free(*engine);
}
