/* test_control_api.c: the control socket (launcher/api/control_api.c): method registry, one JSON
 * request per connection, errors with errno and message, bounded requests, mode 0600, answers
 * that are always valid JSON, room for a new client, peers in other user namespaces refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/api/control_api.h"

struct fixture {
        char dir[64];
        event_loop *event;
        struct control_api *api;
};

static int method_echo(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                       size_t size) {
        (void)userdata;
        (void)error;
        (void)size;
        *ret = json_object_new_object();
        json_object_object_add(*ret, "echo", json_object_get(json_object_object_get(params, "text")));
        return 0;
}

static int method_fail(void *userdata, struct json_object *params, struct json_object **ret, char *error,
                       size_t size) {
        (void)userdata;
        (void)params;
        (void)ret;
        snprintf(error, size, "port 80 is taken");
        return -EADDRINUSE;
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/test_control_api.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(event_loop_new(&f->event), 0);
        assert_int_equal(control_api_new(f->event, f->dir, &f->api), 0);
        assert_int_equal(control_api_register(f->api, "test.echo", method_echo, NULL), 0);
        assert_int_equal(control_api_register(f->api, "test.fail", method_fail, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char path[128];

        control_api_free(f->api);
        snprintf(path, sizeof(path), "%s/%s", f->dir, CONTROL_SOCKET_NAME);
        assert_int_equal(access(path, F_OK), -1); /* removed with the API */
        rmdir(f->dir);
        event_loop_unref(f->event);
        free(f);
        return 0;
}

/* Runs child() in a child process while this one serves; returns the child's exit status. */
static int serve_while(struct fixture *f, int (*child)(struct fixture *f)) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(child(f));
        for (int i = 0; i < 500; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
                assert_true(event_loop_run_once(f->event, 10000) >= 0);
        }
        fail_msg("the client did not finish");
        return 100;
}

static int call_echo(struct fixture *f) {
        struct json_object *params = json_object_new_object(), *result = NULL, *echo;
        char error[256];

        json_object_object_add(params, "text", json_object_new_string("hi"));
        if (control_api_call(f->dir, "test.echo", params, &result, error, sizeof(error)) < 0)
                return 1;
        if (!json_object_object_get_ex(result, "echo", &echo) ||
            strcmp(json_object_get_string(echo), "hi") != 0)
                return 2;
        json_object_put(result);
        json_object_put(params);
        return 0;
}

static int call_fail(struct fixture *f) {
        struct json_object *result = NULL;
        char error[256];
        int r = control_api_call(f->dir, "test.fail", NULL, &result, error, sizeof(error));
        return r == -EADDRINUSE && strcmp(error, "port 80 is taken") == 0 ? 0 : 1;
}

static int call_unknown(struct fixture *f) {
        struct json_object *result = NULL;
        char error[256];
        int r = control_api_call(f->dir, "test.nope", NULL, &result, error, sizeof(error));
        return r == -EOPNOTSUPP && strstr(error, "unknown method") ? 0 : 1;
}

/* Raw bytes, then read the answer. */
static int raw_request(struct fixture *f, const char *data, size_t length, char *answer, size_t size) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        size_t used = 0;

        snprintf(address.sun_path, sizeof(address.sun_path), "%s/%s", f->dir, CONTROL_SOCKET_NAME);
        if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0)
                return -1;
        while (length > 0) {
                ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
                if (n <= 0)
                        break; /* the server may stop reading once it has answered */
                data += n;
                length -= (size_t)n;
        }
        shutdown(fd, SHUT_WR);
        for (;;) {
                ssize_t n = read(fd, answer + used, size - 1 - used);
                if (n <= 0)
                        break;
                used += (size_t)n;
        }
        answer[used] = '\0';
        close(fd);
        return 0;
}

static int call_too_large(struct fixture *f) {
        size_t length = CONTROL_REQUEST_MAX + 4096;
        char *data = malloc(length), answer[512];

        /* A JSON string that never ends: only the size limit stops it. */
        memset(data, 'a', length);
        data[0] = '"';
        int r = raw_request(f, data, length, answer, sizeof(answer));
        free(data);
        return r == 0 && strstr(answer, "\"ok\":false") && strstr(answer, "too large") ? 0 : 1;
}

static int call_not_json(struct fixture *f) {
        char answer[512];
        int r = raw_request(f, "{method", 7, answer, sizeof(answer));
        return r == 0 && strstr(answer, "not valid JSON") && strstr(answer, "\"errno\":22") ? 0 : 1;
}

/* Whether answer is one JSON object, valid UTF-8 throughout, with "ok": false and that errno. */
static bool answer_is_error(const char *answer, int error) {
        json_tokener *tokener = json_tokener_new();
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        struct json_object *o = json_tokener_parse_ex(tokener, answer, (int)strlen(answer) + 1), *v;
        bool ok = o && json_tokener_get_error(tokener) == json_tokener_success &&
                  json_object_object_get_ex(o, "ok", &v) && !json_object_get_boolean(v) &&
                  json_object_object_get_ex(o, "errno", &v) && json_object_get_int(v) == error;
        json_object_put(o);
        json_tokener_free(tokener);
        return ok;
}

static int call_nul_in_method(struct fixture *f) {
        static const char request[] = "{\"method\":\"test.echo\\u0000x\"}";
        char answer[512];
        int r = raw_request(f, request, sizeof(request) - 1, answer, sizeof(answer));
        return r == 0 && answer_is_error(answer, EINVAL) && strstr(answer, "NUL") ? 0 : 1;
}

static int call_nul_in_params(struct fixture *f) {
        static const char request[] = "{\"method\":\"test.echo\",\"params\":{\"text\":[\"a\\u0000b\"]}}";
        char answer[512];
        int r = raw_request(f, request, sizeof(request) - 1, answer, sizeof(answer));
        return r == 0 && answer_is_error(answer, EINVAL) ? 0 : 1;
}

static int call_invalid_utf8(struct fixture *f) {
        static const char request[] = "{\"method\":\"x\xff\xfe\xc3\"}";
        char answer[512];
        int r = raw_request(f, request, sizeof(request) - 1, answer, sizeof(answer));
        return r == 0 && answer_is_error(answer, EINVAL) ? 0 : 1;
}

/* An unknown method's name is quoted in the answer, cut to a bound: never inside a character. */
static int call_long_multibyte_unknown(struct fixture *f) {
        char request[512] = "{\"method\":\"x", answer[1024];
        for (int i = 0; i < 101; i++)
                strcat(request, "\xc3\xa9"); /* é, 2 bytes: after "x", byte 100 falls inside one */
        strcat(request, "\"}");
        int r = raw_request(f, request, strlen(request), answer, sizeof(answer));
        return r == 0 && answer_is_error(answer, EOPNOTSUPP) ? 0 : 1;
}

static int connect_api(struct fixture *f) {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(address.sun_path, sizeof(address.sun_path), "%s/%s", f->dir, CONTROL_SOCKET_NAME);
        return connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0 ? -1 : fd;
}

/* 200 connections that never send a byte, then a real call: it is served at once. */
static int call_after_idle_connections(struct fixture *f) {
        int idle[200];
        for (int i = 0; i < 200; i++)
                if ((idle[i] = connect_api(f)) < 0)
                        return 3;
        int r = call_echo(f);
        for (int i = 0; i < 200; i++)
                close(idle[i]);
        return r;
}

/* The slirp engine's sandbox is a user namespace of its own: a peer there is refused though its
 * uid is the user's. */
static int call_from_another_user_namespace(struct fixture *f) {
        struct json_object *result = NULL;
        char error[256];

        if (unshare(CLONE_NEWUSER) < 0)
                return 77;
        int r = control_api_call(f->dir, "test.echo", NULL, &result, error, sizeof(error));
        return r == -EPERM && strstr(error, "namespace") ? 0 : 1;
}

static void test_a_nul_in_the_method_name_is_refused(void **state) {
        assert_int_equal(serve_while(*state, call_nul_in_method), 0);
}

static void test_a_nul_in_any_string_of_the_params_is_refused(void **state) {
        assert_int_equal(serve_while(*state, call_nul_in_params), 0);
}

static void test_invalid_utf8_is_refused_with_a_valid_json_answer(void **state) {
        assert_int_equal(serve_while(*state, call_invalid_utf8), 0);
}

static void test_an_unknown_method_is_quoted_as_valid_utf8(void **state) {
        assert_int_equal(serve_while(*state, call_long_multibyte_unknown), 0);
}

static void test_idle_connections_never_lock_out_a_new_client(void **state) {
        assert_int_equal(serve_while(*state, call_after_idle_connections), 0);
}

static void test_a_peer_in_another_user_namespace_is_refused(void **state) {
        int r = serve_while(*state, call_from_another_user_namespace);
        if (r == 77)
                skip();
        assert_int_equal(r, 0);
}

static void test_a_registered_method_gets_params_and_returns_its_result(void **state) {
        assert_int_equal(serve_while(*state, call_echo), 0);
}

static void test_a_failing_method_returns_its_errno_and_message(void **state) {
        assert_int_equal(serve_while(*state, call_fail), 0);
}

static void test_an_unknown_method_is_an_error(void **state) {
        assert_int_equal(serve_while(*state, call_unknown), 0);
}

static void test_a_request_over_the_limit_is_refused(void **state) {
        assert_int_equal(serve_while(*state, call_too_large), 0);
}

static void test_malformed_json_is_refused_with_einval(void **state) {
        assert_int_equal(serve_while(*state, call_not_json), 0);
}

static void test_socket_is_private_to_the_user(void **state) {
        struct fixture *f = *state;
        char path[128];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", f->dir, CONTROL_SOCKET_NAME);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_a_method_name_is_registered_once(void **state) {
        struct fixture *f = *state;
        assert_int_equal(control_api_register(f->api, "test.echo", method_echo, NULL), -EEXIST);
}

static void test_no_launcher_gives_a_clear_error(void **state) {
        struct json_object *result = NULL;
        char error[256];
        (void)state;

        assert_true(control_api_call("/nonexistent", "test.echo", NULL, &result, error, sizeof(error)) < 0);
        assert_non_null(strstr(error, "no running node"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_a_registered_method_gets_params_and_returns_its_result,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_failing_method_returns_its_errno_and_message, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_an_unknown_method_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_request_over_the_limit_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_json_is_refused_with_einval, setup, teardown),
                cmocka_unit_test_setup_teardown(test_socket_is_private_to_the_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_method_name_is_registered_once, setup, teardown),
                cmocka_unit_test(test_no_launcher_gives_a_clear_error),
                cmocka_unit_test_setup_teardown(test_a_nul_in_the_method_name_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_nul_in_any_string_of_the_params_is_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_invalid_utf8_is_refused_with_a_valid_json_answer, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_an_unknown_method_is_quoted_as_valid_utf8, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_idle_connections_never_lock_out_a_new_client, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_peer_in_another_user_namespace_is_refused, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
