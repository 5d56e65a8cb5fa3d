/* fake_service: crio, kubelet, conmon, pinns and crun in one small C program, for tests where
 * python (tests/helpers/standins) is not available, like the VM. Run through a symlink named
 * after the role:
 *
 *   crio --config FILE      (needs _CRIO_ROOTLESS=1) listens on the `listen` socket of FILE
 *   kubelet --config=FILE   answers HTTP 200 on 127.0.0.1:healthzPort of FILE
 *   ROLE --version          prints a version usernode accepts
 *
 * SIGTERM ends it (default action). */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *option_value(int argc, char **argv, const char *name) {
        size_t n = strlen(name);
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], name) == 0 && i + 1 < argc)
                        return argv[i + 1];
                if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
                        return argv[i] + n + 1;
        }
        return NULL;
}

/* The text after `prefix` on the first line of FILE starting with it, up to `end` (or the line's end). */
static int config_value(const char *file, const char *prefix, char end, char *out, size_t size) {
        FILE *f = fopen(file, "re");
        char line[4096];
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, prefix, strlen(prefix)) != 0)
                        continue;
                char *v = line + strlen(prefix);
                v[strcspn(v, end ? (char[]){ end, '\n', 0 } : "\n")] = '\0';
                snprintf(out, size, "%s", v);
                fclose(f);
                return 0;
        }
        fclose(f);
        return -ENOENT;
}

static int fail(const char *role, const char *what) {
        fprintf(stderr, "%s fake: %s\n", role, what);
        return 97;
}

static int run_crio(int argc, char **argv) {
        char path[108];
        const char *config = option_value(argc, argv, "--config");
        const char *rootless = getenv("_CRIO_ROOTLESS");
        if (!rootless || strcmp(rootless, "1") != 0)
                return fail("crio", "_CRIO_ROOTLESS=1 is not set");
        if (!config || config_value(config, "listen = \"", '"', path, sizeof(path)) < 0)
                return fail("crio", "no listen socket in --config");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        char dir[108];
        snprintf(dir, sizeof(dir), "%s", path);
        mkdir(dirname(dir), 0700);
        unlink(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return fail("crio", "cannot listen on its socket");
        printf("crio fake listening on %s\n", path);
        fflush(stdout);
        for (;;) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0)
                        close(c);
        }
}

static int run_kubelet(int argc, char **argv) {
        char port[16];
        const char *config = option_value(argc, argv, "--config");
        if (!config || config_value(config, "healthzPort: ", 0, port, sizeof(port)) < 0)
                return fail("kubelet", "no healthzPort in --config");
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return fail("kubelet", "cannot listen on its healthz port");
        printf("kubelet fake answering on 127.0.0.1:%s\n", port);
        fflush(stdout);
        for (;;) {
                static const char answer[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
                char request[1024];
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                if (read(c, request, sizeof(request)) > 0 && write(c, answer, sizeof(answer) - 1) < 0)
                        perror("kubelet fake: write");
                close(c);
        }
}

int main(int argc, char **argv) {
        const char *role = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                if (strcmp(role, "kubelet") == 0)
                        printf("Kubernetes v1.30.0\n");
                else
                        printf("%s version 1.30.0\n", role);
                return 0;
        }
        if (strcmp(role, "crio") == 0)
                return run_crio(argc, argv);
        if (strcmp(role, "kubelet") == 0)
                return run_kubelet(argc, argv);
        return fail(role, "this role only answers --version");
}
