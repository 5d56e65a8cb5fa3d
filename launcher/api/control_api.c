/* control_api.c: the control socket (control_api.h): server on the launcher's event loop, and
 * the client used by commands such as `usernode ports`. */
#include "launcher/api/control_api.h"

#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>

#include <sys/queue.h>

#include "common/log.h"

#define METHODS_MAX 32
#define REQUEST_TIMEOUT_USEC (5 * 1000000ULL) /* a client that stalls does not hold a slot */
#define CONNECTIONS_MAX 64 /* at the bound, the oldest one still sending its request goes */
#define METHOD_QUOTE_MAX 100 /* bytes of an unknown method's name quoted back */
#define RESPONSE_MAX (16 * 1024 * 1024) /* what the client accepts */
#define CLIENT_TIMEOUT_SEC 10

struct control_method {
        char *name;
        control_method_fn fn;
        void *userdata;
};

struct control_connection {
        struct control_api *api;
        TAILQ_ENTRY(control_connection) link; /* oldest first */
        int fd;
        event_source *source;
        event_source *timer;
        json_tokener *tokener;
        size_t received;
        char *response; /* once the request is answered */
        size_t response_length, sent;
};

struct control_api {
        event_loop *event;
        char *path;
        int fd;
        event_source *source;
        struct control_method methods[METHODS_MAX];
        size_t n_methods;
        TAILQ_HEAD(connection_list, control_connection) connections;
        unsigned n_connections;
        ino_t user_ns; /* the launcher's user namespace: peers must be in it */
};

static int build_path(const char *state_dir, struct sockaddr_un *address, char **ret_path) {
        int n = snprintf(address->sun_path, sizeof(address->sun_path), "%s/%s", state_dir,
                         CONTROL_SOCKET_NAME);
        if (n < 0 || (size_t)n >= sizeof(address->sun_path))
                return -ENAMETOOLONG;
        address->sun_family = AF_UNIX;
        if (ret_path) {
                *ret_path = strdup(address->sun_path);
                if (!*ret_path)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- server ---- */

static void connection_free(struct control_connection *c) {
        struct control_api *api = c->api;

        TAILQ_REMOVE(&api->connections, c, link);
        api->n_connections--;
        event_source_disable_unref(c->source);
        event_source_disable_unref(c->timer);
        if (c->tokener)
                json_tokener_free(c->tokener);
        close(c->fd);
        free(c->response);
        free(c);
}

static struct json_object *error_response(int r, const char *message) {
        struct json_object *response = json_object_new_object();
        if (!response)
                return NULL;
        json_object_object_add(response, "ok", json_object_new_boolean(0));
        json_object_object_add(response, "error", json_object_new_string(message));
        json_object_object_add(response, "errno", json_object_new_int(r < 0 ? -r : r));
        return response;
}

/* Whether a string anywhere in o holds a NUL (\u0000): C code would see it cut there, so
 * "node.status\u0000x" would be served as node.status. json-c bounds the nesting depth. */
static bool json_has_nul(struct json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                return strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o);
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (json_has_nul(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, key, value) {
                        (void)key;
                        if (json_has_nul(value))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}

/* The length of the longest prefix of name (valid UTF-8) of at most max bytes that does not
 * end inside a character. */
static int utf8_prefix_length(const char *name, size_t max) {
        size_t n = strnlen(name, max);

        if (name[n] != '\0')
                while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
                        n--;
        return (int)n;
}

static struct json_object *dispatch(struct control_api *api, struct json_object *request) {
        struct json_object *method = NULL, *params = NULL, *result = NULL;
        char error[1024] = "";

        if (!json_object_is_type(request, json_type_object) ||
            !json_object_object_get_ex(request, "method", &method) ||
            !json_object_is_type(method, json_type_string))
                return error_response(-EINVAL, "request must be an object with a string \"method\"");
        if (json_has_nul(request))
                return error_response(-EINVAL, "request strings must not contain NUL (\\u0000)");
        (void)json_object_object_get_ex(request, "params", &params);

        const char *name = json_object_get_string(method);
        for (size_t i = 0; i < api->n_methods; i++) {
                if (strcmp(api->methods[i].name, name) != 0)
                        continue;
                int r = api->methods[i].fn(api->methods[i].userdata, params, &result, error, sizeof(error));
                if (r < 0) {
                        json_object_put(result);
                        return error_response(r, error[0] ? error : strerror(-r));
                }
                struct json_object *response = json_object_new_object();
                if (!response) {
                        json_object_put(result);
                        return NULL;
                }
                json_object_object_add(response, "ok", json_object_new_boolean(1));
                json_object_object_add(response, "result", result ? result : json_object_new_object());
                return response;
        }
        snprintf(error, sizeof(error), "unknown method \"%.*s\"", utf8_prefix_length(name, METHOD_QUOTE_MAX),
                 name);
        return error_response(-EOPNOTSUPP, error);
}

static int connection_flush(struct control_connection *c) {
        while (c->sent < c->response_length) {
                ssize_t n = send(c->fd, c->response + c->sent, c->response_length - c->sent, MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                c->sent += (size_t)n;
        }
        return 1; /* all sent */
}

static int connection_answer(struct control_connection *c, struct json_object *response) {
        const char *text;
        int r;

        if (!response)
                return -ENOMEM;
        text = json_object_to_json_string_ext(response,
                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        c->response = text ? strdup(text) : NULL;
        json_object_put(response);
        if (!c->response)
                return -ENOMEM;
        c->response_length = strlen(c->response);
        r = event_source_set_io_events(c->source, EPOLLOUT);
        if (r < 0)
                return r;
        return connection_flush(c);
}

static int on_connection_io(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct control_connection *c = userdata;
        char buffer[4096];
        int r = 0;
        (void)source;
        (void)revents;

        if (c->response) {
                r = connection_flush(c);
                if (r != 0)
                        connection_free(c);
                return 0;
        }
        for (;;) {
                ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
                if (n < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        connection_free(c);
                        return 0;
                }
                if (n == 0) {
                        r = connection_answer(
                                c, error_response(-EINVAL, "request ended before its JSON object"));
                        break;
                }
                c->received += (size_t)n;
                if (c->received > CONTROL_REQUEST_MAX) {
                        r = connection_answer(c, error_response(-E2BIG, "request too large"));
                        break;
                }
                struct json_object *request = json_tokener_parse_ex(c->tokener, buffer, (int)n);
                enum json_tokener_error error = json_tokener_get_error(c->tokener);
                if (error == json_tokener_continue)
                        continue;
                if (error != json_tokener_success) {
                        char message[256];
                        snprintf(message, sizeof(message), "request is not valid JSON: %s",
                                 json_tokener_error_desc(error));
                        r = connection_answer(c, error_response(-EINVAL, message));
                        break;
                }
                r = connection_answer(c, dispatch(c->api, request));
                json_object_put(request);
                break;
        }
        if (r != 0) /* answered in full, or failed */
                connection_free(c);
        return 0;
}

static int on_connection_timeout(event_source *source, uint64_t usec, void *userdata) {
        (void)source;
        (void)usec;
        connection_free(userdata);
        return 0;
}

static int user_namespace_of_self(ino_t *ret) {
        struct stat st;

        if (stat("/proc/self/ns/user", &st) < 0)
                return negative_errno();
        *ret = st.st_ino;
        return 0;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; older kernels say ENOPROTOOPT */
#endif

/* The user namespace of the peer of fd: /proc/PID/ns/user of its pid, confirmed by its pidfd
 * (SO_PEERPIDFD) still being alive afterwards, so a pid recycled meanwhile is not taken for it. */
static int peer_user_namespace(int fd, ino_t *ret) {
        struct ucred cred;
        socklen_t length = sizeof(cred);
        _cleanup_close_ int pidfd = -EBADF;
        struct stat st;
        char path[64];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0)
                return negative_errno();
        if (cred.pid <= 0)
                return -ESRCH; /* in a pid namespace we cannot see: not one of ours */
        length = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) < 0)
                pidfd = -EBADF;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)cred.pid);
        if (stat(path, &st) < 0)
                return negative_errno();
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -ESRCH;
        *ret = st.st_ino;
        return 0;
}

/* NULL when the peer may use the API, else why not. The uid alone does not say enough: the
 * slirp engine runs as the user too, in a sandbox (a user namespace of its own) that must not
 * reach the API, and neither must the node's processes. */
static const char *peer_refusal(struct control_api *api, int fd) {
        struct ucred cred;
        socklen_t length = sizeof(cred);
        ino_t ns;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0 || cred.uid != getuid())
                return "only the user running the node may use its control socket";
        if (peer_user_namespace(fd, &ns) < 0 || ns != api->user_ns)
                return "the control socket serves only the launcher's user namespace, not the node or "
                       "its network engine";
        return NULL;
}

/* The oldest connection still sending its request makes room for a new one: idle clients can
 * never lock out `usernode status`. */
static bool connection_make_room(struct control_api *api) {
        struct control_connection *c;

        TAILQ_FOREACH(c, &api->connections, link)
        if (!c->response) {
                connection_free(c);
                return true;
        }
        return false;
}

/* One error answer, best effort (the socket is fresh, so it fits), then the connection goes. */
static void refuse(int fd, const char *why) {
        struct json_object *response = error_response(-EPERM, why);
        const char *text =
                response ? json_object_to_json_string_ext(response, JSON_C_TO_STRING_PLAIN) : NULL;

        if (text)
                (void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
        json_object_put(response);
}

static int on_accept(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct control_api *api = userdata;
        (void)source;
        (void)revents;

        for (;;) {
                _cleanup_close_ int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (client < 0)
                        return 0;
                const char *refusal = peer_refusal(api, client);
                if (refusal) {
                        refuse(client, refusal);
                        continue;
                }
                if (api->n_connections >= CONNECTIONS_MAX && !connection_make_room(api))
                        continue;

                struct control_connection *c = calloc(1, sizeof(*c));
                if (!c)
                        continue;
                c->api = api;
                c->fd = TAKE_FD(client);
                TAILQ_INSERT_TAIL(&api->connections, c, link);
                api->n_connections++;
                c->tokener = json_tokener_new();
                if (c->tokener)
                        /* Answers quote parts of the request: invalid UTF-8 in it would make them
                         * invalid JSON. */
                        json_tokener_set_flags(c->tokener, JSON_TOKENER_VALIDATE_UTF8);
                if (!c->tokener ||
                    event_add_io(api->event, &c->source, c->fd, EPOLLIN, on_connection_io, c) < 0 ||
                    event_add_time_relative(api->event, &c->timer, CLOCK_MONOTONIC, REQUEST_TIMEOUT_USEC, 0,
                                            on_connection_timeout, c) < 0)
                        connection_free(c);
        }
}

int control_api_new(event_loop *event, const char *state_dir, struct control_api **ret) {
        struct sockaddr_un address = {};
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        assert(event);
        assert(state_dir);

        r = build_path(state_dir, &address, &path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* The state dir is locked by this launcher: a socket left there is from a dead one. */
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        /* Created 0600 from the start (single-threaded here, so the umask dance is safe). */
        mode_t saved = umask(0177);
        r = bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 ? negative_errno() : 0;
        umask(saved);
        if (r < 0)
                return r;
        if (listen(fd, 64) < 0)
                return negative_errno();

        struct control_api *api = calloc(1, sizeof(*api));
        if (!api)
                return -ENOMEM;
        TAILQ_INIT(&api->connections);
        r = user_namespace_of_self(&api->user_ns);
        if (r < 0) {
                free(api);
                return r;
        }
        api->event = event_loop_ref(event);
        api->fd = TAKE_FD(fd);
        api->path = TAKE_PTR(path);
        r = event_add_io(event, &api->source, api->fd, EPOLLIN, on_accept, api);
        if (r < 0) {
                control_api_free(api);
                return r;
        }
        (void)event_source_set_description(api->source, "control-api");
        *ret = api;
        return 0;
}

struct control_api *control_api_free(struct control_api *api) {
        if (!api)
                return NULL;
        while (!TAILQ_EMPTY(&api->connections))
                connection_free(TAILQ_FIRST(&api->connections));
        event_source_disable_unref(api->source);
        if (api->fd >= 0)
                close(api->fd);
        if (api->path)
                (void)unlink(api->path);
        for (size_t i = 0; i < api->n_methods; i++)
                free(api->methods[i].name);
        event_loop_unref(api->event);
        free(api->path);
        free(api);
        return NULL;
}

int control_api_register(struct control_api *api, const char *method, control_method_fn fn, void *userdata) {
        assert(api);
        assert(method);
        assert(fn);

        for (size_t i = 0; i < api->n_methods; i++)
                if (strcmp(api->methods[i].name, method) == 0)
                        return -EEXIST;
        if (api->n_methods >= METHODS_MAX)
                return -ENOSPC;
        char *name = strdup(method);
        if (!name)
                return -ENOMEM;
        api->methods[api->n_methods++] =
                (struct control_method){ .name = name, .fn = fn, .userdata = userdata };
        return 0;
}

/* ---- client ---- */

static int send_all(int fd, const char *data, size_t length) {
        while (length > 0) {
                ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                data += n;
                length -= (size_t)n;
        }
        return 0;
}

static int read_response(int fd, struct json_object **ret) {
        json_tokener *tokener = json_tokener_new();
        struct json_object *response = NULL;
        size_t total = 0;
        char buffer[4096];
        int r = -EBADMSG;

        if (!tokener)
                return -ENOMEM;
        for (;;) {
                ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                        break;
                }
                if (n == 0)
                        break; /* -EBADMSG: closed before a whole answer */
                total += (size_t)n;
                if (total > RESPONSE_MAX)
                        break;
                response = json_tokener_parse_ex(tokener, buffer, (int)n);
                if (json_tokener_get_error(tokener) == json_tokener_continue)
                        continue;
                if (response && json_object_is_type(response, json_type_object)) {
                        *ret = response;
                        r = 0;
                } else
                        json_object_put(response);
                break;
        }
        json_tokener_free(tokener);
        return r;
}

int control_api_call(const char *state_dir, const char *method, struct json_object *params,
                     struct json_object **ret_result, char *error, size_t size) {
        struct sockaddr_un address = {};
        struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_SEC };
        _cleanup_close_ int fd = -EBADF;
        struct json_object *request, *response = NULL, *value;
        int r;

        r = build_path(state_dir, &address, NULL);
        if (r < 0) {
                snprintf(error, size, "state dir path \"%s\" is too long for a unix socket", state_dir);
                return r;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
                r = negative_errno();
                snprintf(error, size, "no running node answers at %s (%s): start it with 'usernode run'",
                         address.sun_path, strerror(-r));
                return r;
        }

        request = json_object_new_object();
        if (!request)
                return -ENOMEM;
        json_object_object_add(request, "method", json_object_new_string(method));
        if (params)
                json_object_object_add(request, "params", json_object_get(params));
        const char *text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
        r = text ? send_all(fd, text, strlen(text)) : -ENOMEM;
        json_object_put(request);
        if (r >= 0 && shutdown(fd, SHUT_WR) < 0)
                r = negative_errno();
        /* A refused client is answered at once and closed: the answer says why. */
        if (r >= 0 || r == -EPIPE || r == -ECONNRESET)
                r = read_response(fd, &response);
        if (r < 0) {
                snprintf(error, size, "the node at %s did not answer %s: %s", state_dir, method,
                         strerror(-r));
                return r;
        }

        if (json_object_object_get_ex(response, "ok", &value) && json_object_get_boolean(value)) {
                if (json_object_object_get_ex(response, "result", &value))
                        *ret_result = json_object_get(value);
                else
                        *ret_result = json_object_new_object();
                json_object_put(response);
                return 0;
        }
        r = -EPROTO;
        if (json_object_object_get_ex(response, "errno", &value) && json_object_get_int(value) > 0)
                r = -json_object_get_int(value);
        if (json_object_object_get_ex(response, "error", &value))
                snprintf(error, size, "%s", json_object_get_string(value));
        else
                snprintf(error, size, "%s failed", method);
        json_object_put(response);
        return r;
}
