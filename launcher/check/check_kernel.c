/* check_kernel.c: what the kernel must allow: user namespaces, tun, overlayfs in a user namespace,
 * unprivileged ports, idmapped mounts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/services/host_tools.h"

/* The integer in /proc/sys/NAME, or -1 when this kernel has no such sysctl. */
static long sysctl_value(const char *name) {
        char path[256], buffer[32] = {};
        snprintf(path, sizeof(path), "/proc/sys/%s", name);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buffer, sizeof(buffer) - 1) <= 0)
                return -1;
        return strtol(buffer, NULL, 10);
}

static void check_userns(const struct check_context *ctx, struct check_result *r) {
        char label[256] = "";
        (void)ctx;
        if (sysctl_value("user/max_user_namespaces") == 0)
                return check_fail(r, "sudo sysctl -w user.max_user_namespaces=28633",
                                  "disabled (user.max_user_namespaces = 0)");
        if (sysctl_value("kernel/unprivileged_userns_clone") == 0)
                return check_fail(r, "sudo sysctl -w kernel.unprivileged_userns_clone=1",
                                  "disabled for users (kernel.unprivileged_userns_clone = 0)");
        _cleanup_close_ int fd = open("/proc/self/attr/apparmor/current", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                fd = open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC);
        bool labelled = fd >= 0 && read(fd, label, sizeof(label) - 1) > 0;
        /* As hostcheck.c: an unconfined process gets a user namespace without capabilities. */
        if (sysctl_value("kernel/apparmor_restrict_unprivileged_userns") == 1 &&
            (!labelled || strncmp(label, "unconfined", 10) == 0))
                return check_fail(
                        r,
                        "an AppArmor profile for usernode granting 'userns,', or: sudo sysctl -w "
                        "kernel.apparmor_restrict_unprivileged_userns=0",
                        "AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns = 1)");
        long max = sysctl_value("user/max_user_namespaces");
        check_pass(r, "enabled (user.max_user_namespaces = %ld)", max);
}

static void check_tun(const struct check_context *ctx, struct check_result *r) {
        const char *mode = config_get(ctx->config, "network", "mode");
        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd >= 0)
                return check_pass(r, "/dev/net/tun opens");
        if (mode && strcmp(mode, "slirp") != 0)
                return check_pass(r, "/dev/net/tun does not open (%m), not needed with [network] mode = %s",
                                  mode);
        check_fail(r, "sudo chmod 0666 /dev/net/tun (udev does it on desktops), or run with --net host",
                   "/dev/net/tun does not open: %m; the node's own network needs it");
}

/* The data dir, or the nearest existing directory above it: the file system the layers go to. */
static char *existing_dir_of(const char *path) {
        char *dir = strdup(path);
        struct stat st;
        while (dir && strlen(dir) > 1 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
                char *slash = strrchr(dir, '/');
                if (slash == dir)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
        return dir;
}

static void check_overlay(const struct check_context *ctx, struct check_result *r) {
        _cleanup_free_ char *dir = existing_dir_of(ctx->settings->data_dir);
        _cleanup_free_ char *fuse = NULL;
        int native = dir ? overlay_native_works(dir) : -ENOMEM;
        if (native > 0)
                return check_pass(r, "native overlayfs mounts in a user namespace on %s", dir);
        if (find_executable("fuse-overlayfs", &fuse) >= 0)
                return check_pass(
                        r, "no native overlayfs in a user namespace on %s; fuse-overlayfs (%s) is used", dir,
                        fuse);
        check_fail(
                r,
                "sudo apt install fuse-overlayfs (or a kernel >= 5.11 with overlayfs on this file system)",
                "overlayfs cannot be mounted in a user namespace on %s and fuse-overlayfs is not installed",
                dir ? dir : ctx->settings->data_dir);
}

static void check_unprivileged_ports(const struct check_context *ctx, struct check_result *r) {
        long start = sysctl_value("net/ipv4/ip_unprivileged_port_start");
        (void)ctx;
        if (start < 0)
                return check_warn(r, "a kernel >= 4.11",
                                  "net.ipv4.ip_unprivileged_port_start is missing: host ports below 1024 "
                                  "cannot be published");
        if (start > 1024)
                return check_warn(r, "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=1024",
                                  "net.ipv4.ip_unprivileged_port_start = %ld: host ports below it cannot be "
                                  "published",
                                  start);
        if (start == 0)
                return check_pass(
                        r, "net.ipv4.ip_unprivileged_port_start = 0: every host port can be published");
        check_pass(r,
                   "net.ipv4.ip_unprivileged_port_start = %ld: host ports below it need "
                   "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80 (or lower)",
                   start);
}

/* mount_setattr(2) (Linux 5.12) is what idmapped mounts are made with; pods with a user namespace
 * of their own (kubelet's hostUsers: false) need them. */
static void check_idmapped_mounts(const struct check_context *ctx, struct check_result *r) {
        struct utsname u;
        (void)ctx;
        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "unknown");
#ifdef SYS_mount_setattr
        long rc = syscall(SYS_mount_setattr, -1, "", 0, NULL, (size_t)0);
        if (!(rc < 0 && errno == ENOSYS))
                return check_pass(r, "kernel %s has mount_setattr(2)", u.release);
#endif
        check_warn(r,
                   "a kernel >= 5.12 (6.3 or newer for idmapped overlayfs, as pods with their own user "
                   "namespace need)",
                   "kernel %s has no idmapped mounts (mount_setattr(2))", u.release);
}

const struct check_def check_kernel_defs[] = {
        { "userns", "user namespaces", check_userns },
        { "tun", "/dev/net/tun", check_tun },
        { "overlayfs", "image storage", check_overlay },
        { "unprivileged_ports", "unprivileged ports", check_unprivileged_ports },
        { "idmapped_mounts", "idmapped mounts", check_idmapped_mounts },
};
const size_t check_kernel_count = ELEMENTSOF(check_kernel_defs);
