/* cluster_exec.h: how the cluster program (launcher/cluster/cluster_main.c, built as
 * usernode-cluster) is started: its arguments, the fds it finds open and the records on them.
 *
 * Everything that speaks HTTPS, X.509 or YAML for a joined node (discovery, the bootstrap
 * kubeconfig, kubelet's serving certificate, the cluster agent) runs in that program, so only it
 * maps libcurl, OpenSSL and libyaml with their ~30 dependencies; the launcher and the node init
 * (a clone of the launcher) map none of them. The launcher carries the program inside its binary
 * (launcher/cluster_spawn.c) and execs it only for a joined node.
 *
 *   argv: usernode-cluster COMMAND LOG_LEVEL
 *
 * The input is a memfd at CLUSTER_EXEC_IN_FD: the command's fields, each NUL-terminated, in the
 * order below (an absent one empty). Secrets (the token) travel only there, never in argv or the
 * environment. A command with a result writes it the same way into the memfd at
 * CLUSTER_EXEC_OUT_FD, which the launcher reads once the program exited 0. Exit status: 0, or
 * EXIT_USAGE / EXIT_HOST / EXIT_RUNTIME after one line on stderr, which is the launcher's. */
#pragma once

#include <stddef.h>

#define CLUSTER_PROGRAM_NAME "usernode-cluster"

#define CLUSTER_EXEC_IN_FD 3
#define CLUSTER_EXEC_OUT_FD 4

/* The largest record: a CA bundle (KUBECONFIG_MAX) and a few paths. */
#define CLUSTER_RECORD_MAX (1024 * 1024 + 64 * 1024)

/* Discovery and the node's identity in the cluster (cluster_join.h, node_identity.h). */
#define CLUSTER_CMD_DISCOVER "discover"
enum {
        DISCOVER_IN_SERVER,
        DISCOVER_IN_DISCOVERY_FILE,
        DISCOVER_IN_CA_FILE,
        DISCOVER_IN_CA_CERT_HASH,
        DISCOVER_IN_TOKEN,
        DISCOVER_IN_TIMEOUT, /* seconds, decimal */
        DISCOVER_IN_JOINED_CA_FILE,
        DISCOVER_IN_NODE, /* usernode's node name */
        DISCOVER_IN_NODE_NAME, /* [cluster] node_name */
        DISCOVER_IN_NODE_IP, /* [cluster] node_ip */
        DISCOVER_IN_N,
};
enum {
        DISCOVER_OUT_NODE_NAME,
        DISCOVER_OUT_SERVER,
        DISCOVER_OUT_CA_PEM,
        DISCOVER_OUT_NODE_IP,
        DISCOVER_OUT_N,
};

/* The join's files (join_files.h) and kubelet's serving certificate (serving_cert.h). */
#define CLUSTER_CMD_WRITE_FILES "write-files"
enum {
        WRITE_IN_BOOTSTRAP_KUBECONFIG,
        WRITE_IN_CA_FILE,
        WRITE_IN_CERT_DIR,
        WRITE_IN_SERVER,
        WRITE_IN_CA_PEM,
        WRITE_IN_TOKEN,
        WRITE_IN_NODE_NAME,
        WRITE_IN_NODE_IP,
        WRITE_IN_N,
};

/* The cluster agent (cluster_agent.h): the node settings it reads. */
#define CLUSTER_CMD_AGENT "agent"
enum {
        AGENT_IN_KUBECONFIG,
        AGENT_IN_DATA_DIR,
        AGENT_IN_STATE_DIR,
        AGENT_IN_HOSTNAME,
        AGENT_IN_NODE_IP,
        AGENT_IN_CNI_SUBNET,
        AGENT_IN_CNI_BRIDGE,
        AGENT_IN_N,
};

/* Write the N fields VALUES (NULL: empty) to FD. Returns 0 or a negative errno. */
int cluster_record_write(int fd, const char *const *values, size_t n);

/* Read the record at FD (from its start, at most CLUSTER_RECORD_MAX bytes) into *BUF, with
 * VALUES[0..N-1] pointing into it. Returns 0, -EBADMSG when it does not hold exactly N fields, or
 * a negative errno. Free *BUF with cluster_record_free() (it may hold the token). */
int cluster_record_read(int fd, char **buf, size_t *size, const char **values, size_t n);
void cluster_record_free(char *buf, size_t size);
