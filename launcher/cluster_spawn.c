/* cluster_spawn.c: the cluster program, embedded, exec'd from a memfd (launcher/embedded_exec.h)
 * with its input in another memfd and, for discovery, its result in a third. */
#include "launcher/cluster_spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "launcher/cluster/cluster_exec.h"
#include "launcher/cluster/node_identity.h"
#include "launcher/config/embedded_programs.h"
#include "launcher/embedded_exec.h"

/* Start COMMAND with the record IN (N fields) and OUT_FD (or -1) for its result. The whole
 * environment goes along: libcurl reads the proxy variables (https_proxy, no_proxy) from it. */
static pid_t cluster_start(const char *command, const char *const *in, size_t n, int out_fd, int pdeathsig) {
        _cleanup_close_ int program = -EBADF, in_fd = -EBADF;
        char level[4];
        char *argv[] = { (char *)CLUSTER_PROGRAM_NAME, (char *)command, level, NULL };

        /* Untouched by a node that does not join: those pages are never read into memory. */
        program = embedded_program_memfd(CLUSTER_PROGRAM_NAME, cluster_program_start, cluster_program_end);
        if (program < 0)
                return program;
        in_fd = memfd_create("usernode-cluster-input", MFD_CLOEXEC);
        if (in_fd < 0)
                return negative_errno();
        int r = cluster_record_write(in_fd, in, n);
        if (r < 0)
                return r;
        snprintf(level, sizeof(level), "%d", (int)log_get_level());
        const int fds[] = { in_fd, out_fd };
        _Static_assert(CLUSTER_EXEC_IN_FD == 3 && CLUSTER_EXEC_OUT_FD == 4, "fds[] follows cluster_exec.h");
        return embedded_program_spawn(program, fds, ELEMENTSOF(fds), argv, environ, pdeathsig);
}

/* Wait for PID: its exit status as the launcher's exit code (it logged the cause). */
static int cluster_wait(pid_t pid, const char *command) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        log_error_errno(errno, "cannot wait for the cluster program: %m");
                        return EXIT_RUNTIME;
                }
        if (WIFEXITED(status)) {
                int code = WEXITSTATUS(status);
                if (code == 0 || code == EXIT_RUNTIME || code == EXIT_USAGE || code == EXIT_HOST)
                        return code;
                if (code == EMBEDDED_EXEC_FAILED)
                        log_error("cannot run the cluster program (%s) from its memfd; a host with "
                                  "vm.memfd_noexec = 2 refuses executable memfds",
                                  command);
                else
                        log_error("the cluster program (%s) exited with status %d", command, code);
        } else
                log_error("the cluster program (%s) was killed by signal %d", command, WTERMSIG(status));
        return EXIT_RUNTIME;
}

int cluster_program_discover(const struct cluster_join *join, const char *node, const char *node_name,
                             const char *node_ip, char **ret_name, struct cluster_endpoint *ret_cluster,
                             char ret_ip[46]) {
        _cleanup_close_ int out_fd = -EBADF;
        char timeout[16], *buf = NULL;
        const char *out[DISCOVER_OUT_N];
        size_t size = 0;

        snprintf(timeout, sizeof(timeout), "%u", join->discovery_timeout);
        const char *in[DISCOVER_IN_N] = {
                [DISCOVER_IN_SERVER] = join->server,
                [DISCOVER_IN_DISCOVERY_FILE] = join->discovery_file,
                [DISCOVER_IN_CA_FILE] = join->ca_file,
                [DISCOVER_IN_CA_CERT_HASH] = join->ca_cert_hash,
                [DISCOVER_IN_TOKEN] = join->token_text,
                [DISCOVER_IN_TIMEOUT] = timeout,
                [DISCOVER_IN_JOINED_CA_FILE] = join->joined_ca_file,
                [DISCOVER_IN_NODE] = node,
                [DISCOVER_IN_NODE_NAME] = node_name,
                [DISCOVER_IN_NODE_IP] = node_ip,
        };
        out_fd = memfd_create("usernode-cluster-output", MFD_CLOEXEC);
        if (out_fd < 0) {
                log_error_errno(errno, "cannot start the cluster program: %m");
                return EXIT_RUNTIME;
        }
        pid_t pid = cluster_start(CLUSTER_CMD_DISCOVER, in, DISCOVER_IN_N, out_fd, SIGKILL);
        if (pid < 0) {
                log_error_errno(pid, "cannot start the cluster program: %m");
                return EXIT_RUNTIME;
        }
        int code = cluster_wait(pid, CLUSTER_CMD_DISCOVER);
        if (code != 0)
                return code;
        int r = cluster_record_read(out_fd, &buf, &size, out, DISCOVER_OUT_N);
        if (r >= 0 && strlen(out[DISCOVER_OUT_NODE_IP]) >= NODE_IP_MAX)
                r = -EBADMSG;
        if (r >= 0) {
                *ret_name = strdup(out[DISCOVER_OUT_NODE_NAME]);
                ret_cluster->server = strdup(out[DISCOVER_OUT_SERVER]);
                ret_cluster->ca_pem = strdup(out[DISCOVER_OUT_CA_PEM]);
                ret_cluster->ca_pem_size = strlen(out[DISCOVER_OUT_CA_PEM]);
                strcpy(ret_ip, out[DISCOVER_OUT_NODE_IP]);
                if (!*ret_name || !ret_cluster->server || !ret_cluster->ca_pem)
                        r = -ENOMEM;
        }
        cluster_record_free(buf, size);
        if (r < 0) {
                log_error_errno(r, "cannot read the cluster program's discovery: %m");
                return EXIT_RUNTIME;
        }
        return 0;
}

int cluster_program_write_files(const struct join_files *files, const struct cluster_endpoint *cluster,
                                const char *token, const char *node_name, const char *node_ip) {
        const char *in[WRITE_IN_N] = {
                [WRITE_IN_BOOTSTRAP_KUBECONFIG] = files->bootstrap_kubeconfig,
                [WRITE_IN_CA_FILE] = files->ca_file,
                [WRITE_IN_CERT_DIR] = files->cert_dir,
                [WRITE_IN_SERVER] = cluster->server,
                [WRITE_IN_CA_PEM] = cluster->ca_pem,
                [WRITE_IN_TOKEN] = token,
                [WRITE_IN_NODE_NAME] = node_name,
                [WRITE_IN_NODE_IP] = node_ip,
        };
        pid_t pid = cluster_start(CLUSTER_CMD_WRITE_FILES, in, WRITE_IN_N, -1, SIGKILL);
        if (pid < 0) {
                log_error_errno(pid, "cannot start the cluster program: %m");
                return EXIT_RUNTIME;
        }
        return cluster_wait(pid, CLUSTER_CMD_WRITE_FILES);
}

pid_t cluster_program_start_agent(const struct node_settings *s) {
        const char *in[AGENT_IN_N] = {
                [AGENT_IN_KUBECONFIG] = s->kubeconfig,   [AGENT_IN_DATA_DIR] = s->data_dir,
                [AGENT_IN_STATE_DIR] = s->state_dir,     [AGENT_IN_HOSTNAME] = s->kubelet_hostname,
                [AGENT_IN_NODE_IP] = s->kubelet_node_ip, [AGENT_IN_CNI_SUBNET] = s->cni_subnet,
                [AGENT_IN_CNI_BRIDGE] = s->cni_bridge,
        };
        return cluster_start(CLUSTER_CMD_AGENT, in, AGENT_IN_N, -1, SIGTERM);
}
