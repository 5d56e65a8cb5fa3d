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

#include "common/fileio.h"
#include "common/log.h"
#include "launcher/check/check.h"
#include "launcher/check/check_decide.h"
#include "launcher/services/host_tools.h"
#include "netns/tap.h"

long check_sysctl(const char *proc_sys, const char *name) {
        char path[512], buffer[32] = {};
        if (snprintf(path, sizeof(path), "%s/%s", proc_sys, name) >= (int)sizeof(path))
                return -1;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buffer, sizeof(buffer) - 1) <= 0)
                return -1;
        return strtol(buffer, NULL, 10);
}

static long sysctl_value(const char *name) {
        return check_sysctl("/proc/sys", name);
}

bool check_is_host_root(void) {
        char buffer[128] = {};
        unsigned long inner, outer, count;

        if (geteuid() != 0)
                return false;
        _cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buffer, sizeof(buffer) - 1) <= 0)
                return false;
        return sscanf(buffer, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 &&
               count == 4294967295UL;
}

void check_userns_read(const char *proc_sys, char *label, size_t size, struct userns_facts *ret) {
        _cleanup_close_ int fd = open("/proc/self/attr/apparmor/current", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                fd = open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC);
        memset(label, 0, size);
        bool labelled = fd >= 0 && size > 1 && read(fd, label, size - 1) > 0;
        *ret = (struct userns_facts){
                .max_user_namespaces = check_sysctl(proc_sys, "user/max_user_namespaces"),
                .unprivileged_userns_clone = check_sysctl(proc_sys, "kernel/unprivileged_userns_clone"),
                .apparmor_restrict = check_sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns"),
                .apparmor_label = labelled ? label : NULL,
                .privileged = check_is_host_root(),
        };
}

void check_userns_decide(const struct userns_facts *f, struct check_result *r) {
        if (f->max_user_namespaces == 0)
                return check_fail(r, "sudo sysctl -w user.max_user_namespaces=28633",
                                  "disabled (user.max_user_namespaces = 0)");
        /* The two switches below stop unprivileged users only. */
        if (!f->privileged && f->unprivileged_userns_clone == 0)
                return check_fail(r, "sudo sysctl -w kernel.unprivileged_userns_clone=1",
                                  "disabled for users (kernel.unprivileged_userns_clone = 0)");
        /* Ubuntu 24.04: a user namespace created by an unconfined process gets no capabilities, so
         * the node would fail later at its first mount. A process under an AppArmor profile may
         * have been granted `userns` by that profile, so only the unconfined case is known to
         * fail. */
        if (!f->privileged && f->apparmor_restrict == 1 &&
            (!f->apparmor_label || strncmp(f->apparmor_label, "unconfined", 10) == 0))
                return check_fail(
                        r,
                        "an AppArmor profile for usernode granting 'userns,', or: sudo sysctl -w "
                        "kernel.apparmor_restrict_unprivileged_userns=0",
                        "restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1)");
        if (f->max_user_namespaces < 0)
                return check_pass(r, "enabled");
        check_pass(r, "enabled (user.max_user_namespaces = %ld)", f->max_user_namespaces);
}

static void check_userns(const struct check_context *ctx, struct check_result *r) {
        char label[256];
        struct userns_facts facts;
        (void)ctx;
        check_userns_read("/proc/sys", label, sizeof(label), &facts);
        check_userns_decide(&facts, r);
}

int check_tun_open(void) {
        _cleanup_close_ int fd = open(TAP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
        return fd >= 0 ? 0 : errno;
}

void check_tun_decide(int err, const char *mode, struct check_result *r) {
        if (err == 0)
                return check_pass(r, TAP_DEVICE_PATH " opens");
        if (mode && strcmp(mode, "slirp") != 0)
                return check_pass(r,
                                  TAP_DEVICE_PATH " does not open (%s), not needed with [network] mode = %s",
                                  strerror(err), mode);
        if (err == ENOENT || err == ENXIO || err == ENODEV)
                return check_fail(r, "load the tun module as root (modprobe tun), or run with --net=host",
                                  TAP_DEVICE_PATH " is missing (%s)", strerror(err));
        if (err == EACCES || err == EPERM)
                return check_fail(r,
                                  "as root run 'chmod 0666 " TAP_DEVICE_PATH
                                  "' (udev does this on desktops), or run with --net=host",
                                  TAP_DEVICE_PATH " may not be opened by this user (%s)", strerror(err));
        check_fail(r, "run with --net=host", "cannot open " TAP_DEVICE_PATH " (%s)", strerror(err));
}

static void check_tun(const struct check_context *ctx, struct check_result *r) {
        check_tun_decide(check_tun_open(), config_get(ctx->config, "network", "mode"), r);
}

static void check_overlay(const struct check_context *ctx, struct check_result *r) {
        /* The data dir, or the nearest existing directory above it: the file system the layers go to. */
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

void check_unprivileged_ports_decide(long start, struct check_result *r) {
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

static void check_unprivileged_ports(const struct check_context *ctx, struct check_result *r) {
        (void)ctx;
        check_unprivileged_ports_decide(sysctl_value("net/ipv4/ip_unprivileged_port_start"), r);
}

/* mount_setattr(2) (Linux 5.12) is what idmapped mounts are made with; pods with a user namespace
 * of their own (kubelet's hostUsers: false) need them of tmpfs (Linux 6.3): overlayfs cannot be
 * idmapped, so the node puts kubelet's pods dir on a tmpfs of its own (docs/DESIGN.md). */
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
                   "a kernel >= 5.12 (6.3 or newer for idmapped tmpfs, as pods with their own user "
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
