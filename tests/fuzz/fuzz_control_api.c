/* fuzz_control_api.c: libFuzzer target for the control socket (launcher/api/control_api.c): the
 * input is what a client writes to api.sock; the server runs on its event loop, over a real
 * socket, until it has answered and closed. The answer must be one JSON object in valid UTF-8. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/api/control_api.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static event_loop *event;
static struct control_api *api;
static char dir[64] = "/tmp/fuzz_control_api.XXXXXX";
static struct sockaddr_un address = { .sun_family = AF_UNIX };
static char answer[1 << 20];

/* Echoes its params, as a method that reads them would see them. */
static int method_echo(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                       size_t size) {
        (void)userdata;
        (void)error;
        (void)size;
        *ret = json_object_new_object();
        json_object_object_add(*ret, "params", json_object_get(params));
        return 0;
}

static int method_fail(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                       size_t size) {
        (void)userdata;
        (void)ret;
        snprintf(error, size, "failed on %s", params ? json_object_to_json_string(params) : "nothing");
        return -EINVAL;
}

static void cleanup(void) {
        control_api_free(api);
        rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        log_set_level(LOG_LEVEL_ERROR);
        if (!mkdtemp(dir) || event_loop_new(&event) < 0 || control_api_new(event, dir, &api) < 0 ||
            control_api_register(api, "test.echo", method_echo, NULL) < 0 ||
            control_api_register(api, "test.fail", method_fail, NULL) < 0)
                abort();
        atexit(cleanup);
        snprintf(address.sun_path, sizeof(address.sun_path), "%s/%s", dir, CONTROL_SOCKET_NAME);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        size_t used = 0, sent = 0;
        bool eof = false;

        if (size > CONTROL_REQUEST_MAX + 1024)
                return 0;
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0)
                abort();
        for (int round = 0; round < 10000 && !eof; round++) {
                if (sent < size) {
                        ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n > 0)
                                sent += (size_t)n;
                        else if (n < 0 && errno != EAGAIN)
                                sent = size; /* the server answered early and closed */
                        if (sent == size)
                                shutdown(fd, SHUT_WR);
                } else if (round == 0)
                        shutdown(fd, SHUT_WR);
                (void)event_loop_run_once(event, 0);
                for (;;) {
                        ssize_t n = recv(fd, answer + used, sizeof(answer) - 1 - used, MSG_DONTWAIT);
                        if (n > 0) {
                                used += (size_t)n;
                                continue;
                        }
                        if (n == 0 || (n < 0 && errno != EAGAIN))
                                eof = true;
                        break;
                }
        }
        close(fd);
        if (!eof)
                abort(); /* the server never finished with this client */
        answer[used] = '\0';
        json_tokener *tokener = json_tokener_new();
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        struct json_object *o = json_tokener_parse_ex(tokener, answer, (int)used);
        if (!o || json_tokener_get_error(tokener) != json_tokener_success ||
            !json_object_is_type(o, json_type_object))
                abort(); /* every answer is one JSON object in valid UTF-8 */
        json_object_put(o);
        json_tokener_free(tokener);
        return 0;
}
