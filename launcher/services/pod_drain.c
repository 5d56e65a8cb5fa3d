/* pod_drain.c: see pod_drain.h. */
#include "launcher/services/pod_drain.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/services/host_tools.h"

/* What crictl prints for a node's containers; thousands fit. */
#define CRICTL_OUTPUT_MAX (16u * 1024 * 1024)
/* crictl's own --timeout, per request; StopContainer gets the grace period on top (cri-client). */
#define CRICTL_REQUEST_TIMEOUT "--timeout=30s"

static bool id_valid(const char *id) {
        size_t n = strlen(id);
        return n > 0 && n < sizeof(((struct drain_item *)0)->id) &&
               strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int pod_drain_parse_containers(const char *json, unsigned grace_max_sec, struct drain_item **ret,
                               size_t *n) {
        json_object *root = json_tokener_parse(json), *list;
        *ret = NULL;
        *n = 0;
        if (!root || !json_object_object_get_ex(root, "containers", &list) ||
            !json_object_is_type(list, json_type_array)) {
                json_object_put(root);
                return -EBADMSG;
        }
        size_t count = json_object_array_length(list);
        struct drain_item *items = calloc(count ? count : 1, sizeof(*items));
        if (!items) {
                json_object_put(root);
                return -ENOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
                json_object *c = json_object_array_get_idx(list, i), *id, *state, *annotations, *grace;
                if (!json_object_object_get_ex(c, "id", &id) || !id_valid(json_object_get_string(id)))
                        continue;
                /* `crictl ps` lists running ones only, but say so anyway. */
                if (json_object_object_get_ex(c, "state", &state) &&
                    strcmp(json_object_get_string(state), "CONTAINER_RUNNING") != 0)
                        continue;
                unsigned sec = POD_GRACE_DEFAULT_SEC;
                if (json_object_object_get_ex(c, "annotations", &annotations) &&
                    json_object_object_get_ex(annotations, POD_GRACE_ANNOTATION, &grace)) {
                        char *end;
                        unsigned long v = strtoul(json_object_get_string(grace), &end, 10);
                        if (*end == '\0' && end != json_object_get_string(grace))
                                sec = v > grace_max_sec ? grace_max_sec : (unsigned)v;
                }
                if (sec > grace_max_sec)
                        sec = grace_max_sec;
                snprintf(items[k].id, sizeof(items[k].id), "%s", json_object_get_string(id));
                items[k].grace_sec = sec;
                k++;
        }
        json_object_put(root);
        *ret = items;
        *n = k;
        return 0;
}

static pid_t spawn(char *const *argv, int out_fd) {
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0)
                dup2(null_fd, STDIN_FILENO);
        if (out_fd >= 0)
                dup2(out_fd, STDOUT_FILENO);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "usernode: cannot execute %s: %m\n", argv[0]);
        _exit(127);
}

static int wait_ok(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Runs argv and returns what it printed on stdout (at most CRICTL_OUTPUT_MAX bytes). */
static int run_capture(char *const *argv, char **ret) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = spawn(argv, fds[1]);
        close(fds[1]);
        if (pid < 0) {
                close(fds[0]);
                return negative_errno();
        }
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 0;
        for (;;) {
                if (size - len < 4096) {
                        size = size ? size * 2 : 65536;
                        char *grown = size <= CRICTL_OUTPUT_MAX + 1 ? realloc(buf, size) : NULL;
                        if (!grown)
                                break;
                        buf = grown;
                }
                ssize_t k = read(fds[0], buf + len, size - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        close(fds[0]);
        int r = wait_ok(pid);
        if (r < 0 || !buf)
                return r < 0 ? r : -ENOMEM;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int stop_containers(const char *crictl, const char *endpoint_arg, const struct drain_item *items,
                           size_t n) {
        _cleanup_free_ pid_t *pids = calloc(n ? n : 1, sizeof(pid_t));
        int r = 0;
        if (!pids)
                return -ENOMEM;
        /* All at once, as kubelet stops a pod's containers: the slowest grace period bounds it. */
        for (size_t i = 0; i < n; i++) {
                char timeout[32];
                snprintf(timeout, sizeof(timeout), "--timeout=%u", items[i].grace_sec);
                char *argv[] = { (char *)crictl,
                                 (char *)endpoint_arg,
                                 CRICTL_REQUEST_TIMEOUT,
                                 "stop",
                                 timeout,
                                 (char *)items[i].id,
                                 NULL };
                pids[i] = spawn(argv, -EBADF);
        }
        for (size_t i = 0; i < n; i++)
                if (pids[i] < 0 || wait_ok(pids[i]) < 0) {
                        log_warning("pod drain: crictl stop %s failed", items[i].id);
                        r = -EIO;
                }
        return r;
}

int pod_drain(const char *crictl_name, const char *endpoint, usec_t grace_max) {
        _cleanup_free_ char *crictl = NULL, *endpoint_arg = NULL, *ps = NULL;
        _cleanup_free_ struct drain_item *items = NULL;
        size_t n = 0;
        int r;

        if (find_executable(crictl_name, &crictl) < 0) {
                log_warning("pod drain: %s is not on PATH: containers get no grace period, the node's "
                            "cgroup.kill ends them (install cri-tools for crictl)",
                            crictl_name);
                return 0;
        }
        if (asprintf(&endpoint_arg, "--runtime-endpoint=%s", endpoint) < 0)
                return -ENOMEM;
        char *ps_argv[] = { crictl, endpoint_arg, CRICTL_REQUEST_TIMEOUT, "ps", "-o", "json", NULL };
        r = run_capture(ps_argv, &ps);
        if (r < 0)
                return log_error_errno(r, "pod drain: %s ps failed: %m", crictl);
        r = pod_drain_parse_containers(ps, (unsigned)(grace_max / USEC_PER_SEC), &items, &n);
        if (r < 0)
                return log_error_errno(r, "pod drain: cannot read the output of %s ps -o json: %m", crictl);
        unsigned longest = 0;
        for (size_t i = 0; i < n; i++)
                longest = items[i].grace_sec > longest ? items[i].grace_sec : longest;
        log_info("pod drain: stopping %zu container(s), grace period up to %us", n, longest);
        int stopped = stop_containers(crictl, endpoint_arg, items, n);

        /* Then every pod at once, removed (its network torn down, its infra container and
         * sandbox gone): a pod left stopped would be found again when crio next starts, whose
         * restore then fails on the netns of the state dir that went with this stop and cleans up
         * after it, on the way to the next start's first pod. kubelet makes its pods anew. One
         * crictl for all: each start of it is a Go program (over a second under emulation). */
        char *rmp_argv[] = { crictl, endpoint_arg, CRICTL_REQUEST_TIMEOUT, "rmp", "--all", "--force", NULL };
        pid_t pid = spawn(rmp_argv, -EBADF);
        if (pid < 0 || wait_ok(pid) < 0)
                log_warning(
                        "pod drain: crictl rmp --all --force failed; crio cleans up the pods when it next "
                        "starts");
        return stopped < 0 ? stopped : 0;
}
