/* notify.h: the service manager's notification protocol (sd_notify(3)): one datagram of
 * newline-separated VAR=value assignments to the AF_UNIX socket in $NOTIFY_SOCKET (a path, or
 * an abstract name written with a leading '@'). systemd documents the protocol as stable for
 * other implementations; writing it here keeps libsystemd out of the long-lived processes
 * (common/event_loop.h says why). */
#pragma once

#include "common/macro.h"

/* Sends `state` ("READY=1", "STATUS=...", "WATCHDOG=1"). Returns 1 if sent, 0 without
 * $NOTIFY_SOCKET (not under a service manager), or a negative errno (a bad address, a socket
 * that refused the datagram). */
int notify_send(const char *state);
_printf_(1, 2) int notify_sendf(const char *format, ...);
