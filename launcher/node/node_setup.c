/* node_setup.c: preparing the inside of the node for crio and kubelet.
 *
 * The copy-up (mounts.c) left /etc, /run and /var/lib as tmpfs dirs of symlinks to the host's
 * originals. Whatever crio, kubelet and CNI write must not go through such a symlink to the
 * host, and must not find the host's state (a stale /run/crio of a crio on the host): those
 * entries are replaced by private dirs, or by binds of the node's data dir so state survives
 * a restart of the node. */
#include "launcher/node/node_setup.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/node/kubelet_user.h"
#include "launcher/node/mounts.h"
#include "launcher/node/node_network.h"

/* A private, empty directory at `path` instead of the copied-up symlink to the host's. */
static int make_private_dir(const char *path) {
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && unlink(path) < 0)
                return log_error_errno(errno, "cannot remove the host's %s from the node: %m", path);
        int r = mkdir_p(path, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create %s in the node: %m", path);
        return 0;
}

/* data_dir/name bound on `target`, so what the service writes there lives in the data dir. */
static int bind_data_dir(const char *data_dir, const char *name, const char *target) {
        _cleanup_free_ char *source = NULL;
        if (asprintf(&source, "%s/%s", data_dir, name) < 0)
                return log_error_errno(ENOMEM, "cannot bind %s: %m", target);
        int r = mkdir_p(source, 0700);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", source);
        r = make_private_dir(target);
        if (r < 0)
                return r;
        if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                return log_error_errno(errno, "cannot bind %s on %s: %m", source, target);
        return 0;
}

/* crio's socket at the path tools look for when nobody tells them (cAdvisor inside kubelet asks
 * /var/run/crio/crio.sock for container details; crictl's default endpoints), and crictl's
 * config naming it, so `usernode exec -- crictl ps` needs no flags. The socket itself stays in
 * the state dir, where the supervisor and the host side find it. */
static int setup_crio_socket_path(const char *crio_socket) {
        if (symlink(crio_socket, "/run/crio/crio.sock") < 0 && errno != EEXIST)
                return log_error_errno(errno, "cannot link /run/crio/crio.sock to %s: %m", crio_socket);
        struct stat st;
        if (lstat("/etc/crictl.yaml", &st) == 0 && S_ISLNK(st.st_mode) && unlink("/etc/crictl.yaml") < 0)
                return log_error_errno(errno, "cannot remove the host's /etc/crictl.yaml from the node: %m");
        /* timeout: crictl's 2 s default is too short for a busy crio on a slow machine. */
        static const char crictl_yaml[] = "runtime-endpoint: unix:///run/crio/crio.sock\n"
                                          "image-endpoint: unix:///run/crio/crio.sock\n"
                                          "timeout: 30\n";
        _cleanup_close_ int fd =
                open("/etc/crictl.yaml", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(errno, "cannot write /etc/crictl.yaml in the node: %m");
        ssize_t n = write(fd, crictl_yaml, sizeof(crictl_yaml) - 1);
        if (n != (ssize_t)sizeof(crictl_yaml) - 1)
                return log_error_errno(n < 0 ? errno : EIO, "cannot write /etc/crictl.yaml in the node: %m");
        return 0;
}

int node_setup_services(const struct node_setup_dirs *dirs) {
        int r;

        /* Pods reach each other and the outside through cni0: the node routes (problem 10). ping
         * in pods needs ICMP sockets for every group (problem 12). Both are per network
         * namespace, so only written when the node has its own. */
        if (dirs->own_network) {
                r = write_string_file("/proc/sys/net/ipv4/ip_forward", "1");
                if (r < 0)
                        return log_error_errno(r, "cannot set net.ipv4.ip_forward=1 in the node: %m");
                /* Only mapped gids: "0 2147483647" was refused with EINVAL on every run. */
                r = node_network_ping_range();
                if (r < 0)
                        log_warning_errno(r,
                                          "cannot set net.ipv4.ping_group_range in the node, ping in pods "
                                          "will fail: %m");
        }

        /* kubelet's OOM watcher dies when /dev/kmsg cannot be read, as with dmesg_restrict=1
         * (problem 4); an empty stream keeps it alive. */
        _cleanup_close_ int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (kmsg < 0 && errno != ENOENT) {
                if (mount("/dev/null", "/dev/kmsg", NULL, MS_BIND, NULL) < 0)
                        return log_error_errno(errno,
                                               "/dev/kmsg is unreadable and /dev/null cannot be bound "
                                               "over it: %m");
                log_debug("/dev/kmsg is unreadable here; kubelet reads /dev/null instead");
        }

        static const struct {
                const char *name, *target;
        } binds[] = {
                { "kubelet", "/var/lib/kubelet" },
                { "containers", "/var/lib/containers" },
                { "cni", "/var/lib/cni" },
                { "log", "/var/log" },
        };
        for (size_t i = 0; i < ELEMENTSOF(binds); i++) {
                r = bind_data_dir(dirs->data_dir, binds[i].name, binds[i].target);
                if (r < 0)
                        return r;
        }

        /* A crio or CNI on the host must not be seen: their run state and network configs. */
        static const char *const private_dirs[] = { "/run/crio", "/run/containers", "/etc/cni",
                                                    "/etc/cni/net.d" };
        for (size_t i = 0; i < ELEMENTSOF(private_dirs); i++) {
                r = make_private_dir(private_dirs[i]);
                if (r < 0)
                        return r;
        }
        r = setup_crio_socket_path(dirs->crio_socket);
        if (r < 0)
                return r;
        /* kubelet reads its ids for pods with hostUsers: false when it starts. */
        if (dirs->kubelet_ids && dirs->kubelet_ids->pods > 0) {
                r = kubelet_user_setup(dirs->kubelet_ids);
                if (r < 0)
                        return r;
                /* crun gives such pods idmapped mounts of what kubelet binds in from its pods dir
                 * (etc-hosts, termination-log, emptyDir): allowed only on a file system of the
                 * node (mounts.h), so that dir is a tmpfs of the node; what pods keep there lives
                 * as long as the node. */
                if (r > 0) {
                        r = mounts_node_tmpfs("/var/lib/kubelet/pods", 0750);
                        if (r < 0)
                                return r;
                        /* kubelet makes its root dir rshared at start (MakeRShared): when it is
                         * not shared yet, by a non-recursive bind of it on itself first, which
                         * hides this tmpfs under the data dir's disk again (seen in the VM:
                         * findmnt -R /var/lib/kubelet). Shared already, kubelet leaves it. The
                         * peer group is the node's: / is a slave, nothing reaches the host. */
                        if (mount(NULL, "/var/lib/kubelet", NULL, MS_SHARED | MS_REC, NULL) < 0)
                                return log_error_errno(errno,
                                                       "cannot make /var/lib/kubelet a shared mount: %m");
                }
        }

        r = mkdir_p(dirs->cni_conf_dir, 0700);
        if (r >= 0 && mount(dirs->cni_conf_dir, "/etc/cni/net.d", NULL, MS_BIND, NULL) < 0)
                r = negative_errno();
        if (r < 0)
                return log_error_errno(r, "cannot bind %s on /etc/cni/net.d: %m", dirs->cni_conf_dir);
        return 0;
}
