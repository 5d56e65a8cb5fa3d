/* journal_stream.h: a stream socket to the journal for a service's output, as
 * sd_journal_stream_fd(3) opens it, from a libsystemd.so.0 opened for that one call.
 *
 * Called in the service's child, between fork and exec: the node init (the supervisor) is
 * long-lived and must not map libsystemd and the five libraries it needs (docs/DESIGN.md,
 * issue 11); the child is replaced by exec a moment later, so the mapping costs nothing. */
#pragma once

/* The stream for `identifier` at `priority` (LOG_INFO...), without level prefixes: an O_CLOEXEC
 * fd, or a negative errno (logged at debug): -ENOPKG when libsystemd.so.0 cannot be opened, else
 * what sd_journal_stream_fd() returned. */
int journal_stream_open(const char *identifier, int priority);
