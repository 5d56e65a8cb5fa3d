/* control_api.h: the running launcher's control socket, api.sock in the state dir.
 *
 * One request per connection: the client writes one JSON object
 *   {"method": "ports.add", "params": {...}}
 * (and may shut down writing), the launcher answers with one JSON object and closes:
 *   {"ok": true, "result": {...}}   or   {"ok": false, "error": "one line", "errno": 22}
 * Requests are at most CONTROL_REQUEST_MAX bytes of valid UTF-8 and must arrive within a few
 * seconds; no string in them may hold a NUL. At most 64 connections at once: the oldest one still
 * sending its request is dropped for a new one. Only the user running the launcher, in the
 * launcher's user namespace, may connect (mode 0600; the peer's uid and user namespace are
 * checked: the slirp engine and the node's processes are refused with EPERM).
 *
 * Modules add methods with control_api_register(); a method is named "area.verb". */
#pragma once

#include <stddef.h>

#include <json-c/json.h>
#include "common/event_loop.h"

#define CONTROL_SOCKET_NAME "api.sock"
#define CONTROL_REQUEST_MAX (64 * 1024)

/* A method handler: params is the request's "params" (NULL when absent). On success it returns
 * 0 and may set *ret_result (an object it hands over; {} when left NULL). On failure it returns
 * a negative errno and writes a one-line message for the user into error. */
typedef int (*control_method_fn)(void *userdata, struct json_object *params, struct json_object **ret_result,
                                 char *error, size_t error_size);

struct control_api;

/* Listens on STATE_DIR/api.sock (a stale socket there is replaced). */
int control_api_new(event_loop *event, const char *state_dir, struct control_api **ret);
/* Stops listening and removes the socket. */
struct control_api *control_api_free(struct control_api *api);

/* -EEXIST if the method is taken. The name is copied. */
int control_api_register(struct control_api *api, const char *method, control_method_fn fn, void *userdata);

/* Client side: calls method on the launcher whose state dir is state_dir. Returns 0 with the
 * result in *ret_result (owned by the caller), or a negative errno with a one-line message in
 * error: the method's own errno and message, or -ECONNREFUSED/-ENOENT when no launcher runs
 * there. */
int control_api_call(const char *state_dir, const char *method, struct json_object *params,
                     struct json_object **ret_result, char *error, size_t error_size);
