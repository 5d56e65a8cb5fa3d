/* ports_setup.h: the launcher's part of publishing ports at start (`[ports]` in the
 * configuration and `usernode run --publish/-p`), and of `usernode ports` later on. */
#pragma once

#include "common/event_loop.h"

#include "launcher/api/control_api.h"
#include "launcher/cli/run_options.h"
#include "netns/portfwd.h"

/* Checks a `[ports] publish` value: specs separated by commas or blanks. 0 or -EINVAL. */
int ports_publish_list_valid(const char *value);

/* With dial_fd >= 0 (the node has a network of its own): starts the port forwarder on the
 * launcher's loop (taking dial_fd), registers the ports.* methods on api and publishes every
 * spec of `[ports] publish`, then of --publish. A spec that cannot be published stops the start
 * (returns a negative errno after logging why and how to fix it). With dial_fd < 0 a publish
 * request is only warned about: the node then shares the host's ports. */
int ports_setup(event_loop *event, int dial_fd, const struct run_options *options, struct control_api *api,
                struct portfwd **ret);

/* Publish one more SPEC (a port spec, already known to be valid) on PF; logs on failure. */
int ports_publish(struct portfwd *pf, const char *spec);
