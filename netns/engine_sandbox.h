/* engine_sandbox.h: what the slirp engine may still do once it serves the network.
 *
 * As slirp4netns --enable-sandbox --enable-seccomp: a user namespace of its own that maps only the
 * user's own ids (the engine needs no privilege over the node), a mount namespace whose root is an
 * empty read-only tmpfs holding read-only binds of /etc and /run (libslirp reads resolv.conf for
 * every DNS query's upstream), no capabilities, no_new_privs, and a seccomp filter that denies
 * execve, ptrace, module loading, mount and namespace changes (compiled at build time by
 * netns/engine_filter_gen.c, so the engine does not map libseccomp). */
#pragma once

/* Confine the calling process. Call before libslirp opens anything. Returns 0 or a negative
 * errno, logged. */
int engine_sandbox_apply(void);

/* Install only the seccomp filter, the last step of engine_sandbox_apply(); no_new_privs (or
 * CAP_SYS_ADMIN) must be in place. Returns 0 or a negative errno, logged. */
int engine_sandbox_load_filter(void);
