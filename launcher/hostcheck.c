/* hostcheck.c: user namespace switches of the kernel, AppArmor, root. */
#include "launcher/hostcheck.h"

#include <fcntl.h>
#include <string.h>

#include "common/log.h"

/* The integer in PROC_SYS/NAME, or -1 if the sysctl does not exist on this kernel. */
static long read_sysctl(const char *proc_sys, const char *name) {
        char path[512], buffer[32] = {};
        if (snprintf(path, sizeof(path), "%s/%s", proc_sys, name) >= (int)sizeof(path))
                return -1;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buffer, sizeof(buffer) - 1) <= 0)
                return -1;
        return strtol(buffer, NULL, 10);
}

int hostcheck_user_namespaces(const char *proc_sys, const char *apparmor_label, bool privileged) {
        if (read_sysctl(proc_sys, "user/max_user_namespaces") == 0) {
                log_error("user namespaces are disabled (user.max_user_namespaces = 0); enable them "
                          "with: sudo sysctl -w user.max_user_namespaces=28633");
                return -EPERM;
        }
        if (privileged)
                return 0;
        /* Debian's and Ubuntu's older kernels carry this switch for unprivileged users only. */
        if (read_sysctl(proc_sys, "kernel/unprivileged_userns_clone") == 0) {
                log_error("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone "
                          "= 0); enable them with: sudo sysctl -w kernel.unprivileged_userns_clone=1");
                return -EPERM;
        }
        /* Ubuntu 24.04: a user namespace created by an unconfined process gets no capabilities,
         * so the node would fail later at its first mount. A process under an AppArmor profile
         * may have been granted `userns` by that profile, so only the unconfined case is known
         * to fail. */
        if (read_sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns") == 1 &&
            (!apparmor_label || strncmp(apparmor_label, "unconfined", 10) == 0)) {
                log_error("AppArmor restricts unprivileged user namespaces "
                          "(kernel.apparmor_restrict_unprivileged_userns = 1); allow usernode with an "
                          "AppArmor profile granting 'userns,', or: sudo sysctl -w "
                          "kernel.apparmor_restrict_unprivileged_userns=0");
                return -EPERM;
        }
        return 0;
}

/* Root of the initial user namespace maps every id: "0 0 4294967295". Root inside some other
 * user namespace (a rootless container) is an ordinary user to the kernel. */
static bool is_host_root(void) {
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

int hostcheck_run(void) {
        char label[256] = {};
        bool have_label = false;
        bool root = is_host_root();

        if (root)
                log_warning("running as root: usernode is meant for ordinary users; the node gets "
                            "root's subordinate ids, if any, and no more isolation than a user's node");

        _cleanup_close_ int fd = open("/proc/self/attr/apparmor/current", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                fd = open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && read(fd, label, sizeof(label) - 1) > 0)
                have_label = true;
        return hostcheck_user_namespaces("/proc/sys", have_label ? label : NULL, root);
}
