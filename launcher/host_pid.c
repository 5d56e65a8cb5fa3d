/* host_pid.c: node pids as the host sees them (host_pid.h).
 *
 * /proc/PID/status has an NSpid line with the process's pid in every pid namespace from the
 * one /proc belongs to down to its own: "NSpid: 4242 7" is host pid 4242, pid 7 in the node. A
 * process is the one asked for when its pid namespace is the init's and its innermost pid is
 * node_pid; the namespace check keeps two nodes (whose pids repeat) apart. */
#include "launcher/host_pid.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/macro.h"

static int pid_namespace_of(pid_t pid, struct stat *ret) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
        return stat(path, ret) < 0 ? negative_errno() : 0;
}

/* The last number of the NSpid line of pid: its pid in its own namespace. */
static pid_t innermost_pid(pid_t pid) {
        char path[64], line[256];
        pid_t result = -ESRCH;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "NSpid:", 6) == 0) {
                        const char *last = strrchr(line, '\t') ?: line + 6;
                        long value = strtol(last, NULL, 10);
                        if (value > 0)
                                result = (pid_t)value;
                        break;
                }
        return result;
}

pid_t host_pid_of(pid_t init_pid, pid_t node_pid) {
        struct stat node_namespace;

        if (node_pid <= 0 || pid_namespace_of(init_pid, &node_namespace) < 0)
                return -ESRCH;
        if (node_pid == 1)
                return init_pid;
        _cleanup_closedir_ DIR *proc = opendir("/proc");
        if (!proc)
                return -ESRCH;
        struct dirent *entry;
        while ((entry = readdir(proc))) {
                char *end;
                long pid = strtol(entry->d_name, &end, 10);
                struct stat namespace;
                if (*end != '\0' || pid <= 0)
                        continue;
                /* Another user's processes cannot be looked into, and are none of ours. */
                if (pid_namespace_of((pid_t)pid, &namespace) < 0 ||
                    namespace.st_ino != node_namespace.st_ino || namespace.st_dev != node_namespace.st_dev)
                        continue;
                if (innermost_pid((pid_t)pid) == node_pid)
                        return (pid_t)pid;
        }
        return -ESRCH;
}
