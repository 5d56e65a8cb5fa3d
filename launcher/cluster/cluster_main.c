/* cluster_main.c: main() of usernode-cluster, the program that does a joined node's HTTPS,
 * X.509 and YAML (cluster_exec.h says why it is a program of its own and how it is started).
 *
 * Each command is what the launcher did itself before: the same functions, the same one-line
 * messages, and their exit codes as the launcher's (it passes them on). Anything wrong with how
 * it was started is a bug of the launcher: one line, exit EXIT_RUNTIME. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "launcher/cluster/cluster_agent.h"
#include "launcher/cluster/cluster_exec.h"
#include "launcher/cluster/cluster_join.h"
#include "launcher/cluster/join_files.h"
#include "launcher/cluster/node_identity.h"
#include "launcher/cluster/serving_cert.h"

static const char *nonempty(const char *s) {
        return s && s[0] ? s : NULL;
}

static int cmd_discover(const char **in) {
        _cleanup_(cluster_join_done) struct cluster_join join = {
                .joining = true,
                .server = nonempty(in[DISCOVER_IN_SERVER]),
                .discovery_file = nonempty(in[DISCOVER_IN_DISCOVERY_FILE]),
                .ca_file = nonempty(in[DISCOVER_IN_CA_FILE]),
                .ca_cert_hash = nonempty(in[DISCOVER_IN_CA_CERT_HASH]),
        };
        _cleanup_(cluster_endpoint_done) struct cluster_endpoint cluster = {};
        _cleanup_free_ char *name = NULL;
        char ip[NODE_IP_MAX], *end = NULL;
        const char *token = in[DISCOVER_IN_TOKEN];

        /* The launcher checked all of it (cluster_join_from_config): parsed again, not trusted. */
        unsigned long timeout = strtoul(in[DISCOVER_IN_TIMEOUT], &end, 10);
        if (*end != '\0' || strlen(token) >= sizeof(join.token_text) ||
            bootstrap_token_parse(token, &join.token) < 0 ||
            (join.ca_cert_hash && ca_pins_parse(join.ca_cert_hash, &join.pins) < 0)) {
                log_error("cluster program: a join record the launcher should not have sent");
                return EXIT_RUNTIME;
        }
        join.discovery_timeout = (unsigned)timeout;
        memcpy(join.token_text, token, strlen(token) + 1);
        if (nonempty(in[DISCOVER_IN_JOINED_CA_FILE]) &&
            !(join.joined_ca_file = strdup(in[DISCOVER_IN_JOINED_CA_FILE])))
                return log_error_errno(ENOMEM, "cannot prepare the join: %m"), EXIT_RUNTIME;

        if (node_identity_name(in[DISCOVER_IN_NODE], nonempty(in[DISCOVER_IN_NODE_NAME]), &name) < 0)
                return EXIT_USAGE;
        int r = cluster_discover(&join, &cluster);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r < 0)
                return EXIT_HOST;
        r = node_identity_ip(cluster.server, nonempty(in[DISCOVER_IN_NODE_IP]), ip);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : EXIT_HOST;
        const char *out[DISCOVER_OUT_N] = {
                [DISCOVER_OUT_NODE_NAME] = name,
                [DISCOVER_OUT_SERVER] = cluster.server,
                [DISCOVER_OUT_CA_PEM] = cluster.ca_pem,
                [DISCOVER_OUT_NODE_IP] = ip,
        };
        r = cluster_record_write(CLUSTER_EXEC_OUT_FD, out, DISCOVER_OUT_N);
        if (r < 0)
                return log_error_errno(r, "cluster program: cannot hand the discovery to the launcher: %m"),
                       EXIT_RUNTIME;
        return 0;
}

static int cmd_write_files(const char **in) {
        const struct join_files files = {
                .bootstrap_kubeconfig = (char *)in[WRITE_IN_BOOTSTRAP_KUBECONFIG],
                .ca_file = (char *)in[WRITE_IN_CA_FILE],
                .cert_dir = (char *)in[WRITE_IN_CERT_DIR],
        };
        const struct cluster_endpoint cluster = {
                .server = (char *)in[WRITE_IN_SERVER],
                .ca_pem = (char *)in[WRITE_IN_CA_PEM],
                .ca_pem_size = strlen(in[WRITE_IN_CA_PEM]),
        };
        if (join_files_write(&files, &cluster, in[WRITE_IN_TOKEN]) < 0 ||
            serving_cert_ensure(files.cert_dir, in[WRITE_IN_NODE_NAME], in[WRITE_IN_NODE_IP]) < 0)
                return EXIT_RUNTIME;
        return 0;
}

static _Noreturn void cmd_agent(const char **in) {
        const struct node_settings s = {
                .kubeconfig = (char *)in[AGENT_IN_KUBECONFIG],
                .data_dir = (char *)in[AGENT_IN_DATA_DIR],
                .state_dir = (char *)in[AGENT_IN_STATE_DIR],
                .kubelet_hostname = (char *)in[AGENT_IN_HOSTNAME],
                .kubelet_node_ip = (char *)in[AGENT_IN_NODE_IP],
                .cni_subnet = (char *)in[AGENT_IN_CNI_SUBNET],
                .cni_bridge = (char *)in[AGENT_IN_CNI_BRIDGE],
        };
        cluster_agent_main(&s);
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                size_t n_in;
        } commands[] = {
                { CLUSTER_CMD_DISCOVER, DISCOVER_IN_N },
                { CLUSTER_CMD_WRITE_FILES, WRITE_IN_N },
                { CLUSTER_CMD_AGENT, AGENT_IN_N },
        };
        const char *in[16];
        char *buf = NULL, *end = NULL;
        size_t size = 0, cmd = ELEMENTSOF(commands);
        long level = -1;

        _Static_assert((int)DISCOVER_IN_N <= 16 && (int)WRITE_IN_N <= 16 && (int)AGENT_IN_N <= 16,
                       "in[] holds every command's fields");
        if (argc == 3) {
                for (cmd = 0; cmd < ELEMENTSOF(commands); cmd++)
                        if (strcmp(argv[1], commands[cmd].name) == 0)
                                break;
                level = strtol(argv[2], &end, 10);
        }
        if (cmd == ELEMENTSOF(commands) || *end != '\0' || level < LOG_LEVEL_ERROR ||
            level > LOG_LEVEL_DEBUG) {
                log_error("cluster program: started with bad arguments; it is run by usernode only");
                return EXIT_RUNTIME;
        }
        log_set_level((enum log_level)level);
        (void)prctl(PR_SET_NAME, CLUSTER_PROGRAM_NAME);
        int r = cluster_record_read(CLUSTER_EXEC_IN_FD, &buf, &size, in, commands[cmd].n_in);
        if (r < 0) {
                log_error_errno(r, "cluster program: cannot read its input from the launcher: %m");
                return EXIT_RUNTIME;
        }
        (void)close(CLUSTER_EXEC_IN_FD);
        if (cmd == 2)
                cmd_agent(in);
        r = cmd == 0 ? cmd_discover(in) : cmd_write_files(in);
        cluster_record_free(buf, size);
        return r;
}
