/* node_protocol.h: the messages between the launcher and the node init (common/channel.h).
 *
 * Start-up is a fixed handshake: the init waits for MAPS_WRITTEN, sets up the node, answers
 * READY (or exits non-zero with its error already logged). Later messages are requests from
 * the launcher that the init answers in order. */
#pragma once

enum node_message {
        NODE_MSG_MAPS_WRITTEN = 1, /* launcher -> init: id maps written, the node may set itself up */
        NODE_MSG_READY, /* init -> launcher: namespaces, mounts (and network) are up */
        NODE_MSG_TAP_FD, /* init -> launcher, before READY with --net=slirp: tap0's fd, for the engine */
        NODE_MSG_ENGINE_UP, /* launcher -> init: the engine serves tap0; the init goes on to READY */
        /* init -> launcher, before TAP_FD with tcp_path = kernel: a listener of the kernel TCP
         * path (netns/tcp_redirect.h); payload one byte, 4 or 6, its family */
        NODE_MSG_TCP_LISTENER,
        /* init -> launcher, before TAP_FD with tcp_path = kernel when its rules could not be
         * installed (TCP stays on slirp); payload an int32_t, the positive errno, for status */
        NODE_MSG_TCP_FALLBACK,
        /* Node services (launcher/node/node_services.c -> launcher/api/node_status.c), after READY: */
        NODE_MSG_SERVICE_STATE = 0x500, /* init -> launcher: struct service_status of one service */
        NODE_MSG_STATUS_TEXT, /* init -> launcher: a progress line for humans (STATUS=) */
        NODE_MSG_SERVICES_READY, /* init -> launcher: every service is up: the node is ready */
};
