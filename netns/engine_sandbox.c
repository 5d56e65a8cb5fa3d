/* engine_sandbox.c: user + mount namespace, empty root, no capabilities, seccomp.
 *
 * The root holds /etc and, on an empty /run, only what the host's resolv.conf leads to: never
 * the user's runtime dir (api.sock, the bus) or home.
 *
 * The steps run in the order each one still has the power it needs: the id maps before anything
 * that needs the new namespace's capabilities, the mounts while CAP_SYS_ADMIN is held, the
 * capabilities dropped after the last mount, the filter loaded last. */
#include "netns/engine_sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/fileio.h"
#include "common/log.h"

/* Where the new root is assembled; only in the engine's own mount namespace. */
#define SANDBOX_ROOT "/tmp"

/* A user namespace mapping the user's own uid and gid to themselves: the engine keeps acting as
 * the user on the host, and gains capabilities only over namespaces it creates itself. */
static int sandbox_user_namespace(void) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char map[64];
        int r;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return log_error_errno(errno,
                                       "slirp sandbox: cannot create its user and mount namespaces: %m");
        /* setgroups must be denied before an unprivileged process may write gid_map. */
        r = write_string_file("/proc/self/setgroups", "deny");
        if (r < 0)
                return log_error_errno(r, "slirp sandbox: cannot deny setgroups: %m");
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
        r = write_string_file("/proc/self/uid_map", map);
        if (r < 0)
                return log_error_errno(r, "slirp sandbox: cannot write its uid_map: %m");
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
        r = write_string_file("/proc/self/gid_map", map);
        if (r < 0)
                return log_error_errno(r, "slirp sandbox: cannot write its gid_map: %m");
        return 0;
}

/* mkdir -p of SANDBOX_ROOT + path (absolute), 0755; with file, the last component is made an
 * empty file instead (a mount point for a file). */
static int sandbox_mkdirs(const char *path, bool file) {
        _cleanup_free_ char *target = NULL;

        if (asprintf(&target, SANDBOX_ROOT "%s", path) < 0)
                return -ENOMEM;
        for (char *slash = target + strlen(SANDBOX_ROOT) + 1;; slash++) {
                slash = strchr(slash, '/');
                if (slash)
                        *slash = '\0';
                if (!slash && file) {
                        _cleanup_close_ int fd =
                                open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                        return fd < 0 ? negative_errno() : 0;
                }
                if (mkdir(target, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                if (!slash)
                        return 0;
                *slash = '/';
        }
}

/* Attach a read-only recursive copy of `source` (absolute) at the same path under SANDBOX_ROOT. */
static int sandbox_bind_readonly(const char *source) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        _cleanup_close_ int tree = -EBADF;
        _cleanup_free_ char *target = NULL;
        struct stat st;
        int r;

        if (stat(source, &st) < 0)
                return negative_errno();
        r = sandbox_mkdirs(source, !S_ISDIR(st.st_mode));
        if (r < 0)
                return r;
        if (asprintf(&target, SANDBOX_ROOT "%s", source) < 0)
                return -ENOMEM;
        /* A recursive clone: mounts under /etc (a bound resolv.conf) stay visible, and mounts locked by the parent namespace can be cloned only
         * with their children. */
        tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return negative_errno();
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return negative_errno();
        if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return negative_errno();
        return 0;
}

/* The directory under /run that /etc/resolv.conf leads to (systemd-resolved's, resolvconf's,
 * NetworkManager's), or NULL when it leads nowhere under /run. libslirp reads the host's
 * resolver from it; nothing else of /run is needed, and the rest must stay out of reach: the
 * user's runtime dir (/run/user/UID) holds the node's api.sock and the user's bus. */
static char *resolv_conf_run_dir(void) {
        _cleanup_free_ char *target = realpath("/etc/resolv.conf", NULL);
        char *slash;

        if (!target || strncmp(target, "/run/", 5) != 0 || strncmp(target, "/run/user/", 10) == 0)
                return NULL;
        slash = strrchr(target, '/');
        if (slash > target + 4) /* in a directory of its own under /run: that directory */
                *slash = '\0'; /* (a file right in /run is bound alone) */
        return TAKE_PTR(target);
}

/* The root becomes an empty tmpfs with /etc read-only and, on an empty /run, only the directory
 * the host's resolv.conf is in. */
static int sandbox_mounts(void) {
        struct mount_attr readonly = { .attr_set = MOUNT_ATTR_RDONLY };
        int r;

        /* Nothing done here may propagate back to the launcher's mount namespace. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot make / private: %m");
        if (mount("tmpfs", SANDBOX_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") <
            0)
                return log_error_errno(errno, "slirp sandbox: cannot mount a tmpfs on " SANDBOX_ROOT ": %m");
        r = sandbox_bind_readonly("/etc");
        if (r < 0)
                return log_error_errno(r, "slirp sandbox: cannot bind /etc read-only: %m");
        if (mkdir(SANDBOX_ROOT "/run", 0755) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot create /run: %m");
        _cleanup_free_ char *resolv_dir = resolv_conf_run_dir();
        if (resolv_dir) {
                r = sandbox_bind_readonly(resolv_dir);
                if (r < 0)
                        return log_error_errno(r, "slirp sandbox: cannot bind %s read-only: %m", resolv_dir);
        }
        if (mkdir(SANDBOX_ROOT "/.old", 0700) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot create the old root's mount point: %m");
        if (syscall(SYS_pivot_root, SANDBOX_ROOT, SANDBOX_ROOT "/.old") < 0)
                return log_error_errno(errno, "slirp sandbox: pivot_root: %m");
        if (chdir("/") < 0)
                return negative_errno();
        if (umount2("/.old", MNT_DETACH) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot detach the old root: %m");
        if (rmdir("/.old") < 0)
                return log_error_errno(errno, "slirp sandbox: cannot remove the old root's mount point: %m");
        if (mount_setattr(AT_FDCWD, "/", 0, &readonly, sizeof(readonly)) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot make the new root read-only: %m");
        return 0;
}

static void cap_freep(cap_t *caps) {
        if (*caps)
                cap_free(*caps);
}

/* No capabilities in any set, none to regain: bounding and ambient sets emptied too. */
static int sandbox_drop_capabilities(void) {
        _cleanup_(cap_freep) cap_t none = NULL;

        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return log_error_errno(
                                errno, "slirp sandbox: cannot drop capability %d from the bounding set: %m",
                                cap);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot clear the ambient capabilities: %m");
        none = cap_init();
        if (!none)
                return log_error_errno(ENOMEM, "slirp sandbox: %m");
        if (cap_set_proc(none) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot drop capabilities: %m");
        return 0;
}

/* The seccomp filter, a BPF program netns/engine_filter_gen.c compiles with libseccomp at build
 * time (the deny list is there): the engine only installs it and does not map libseccomp. The
 * Makefile makes this object depend on the file and passes its path. */
/* clang-format off */
__asm__(".pushsection .rodata\n"
        ".balign 8\n"
        ".globl engine_filter_start\n"
        ".hidden engine_filter_start\n"
        ".globl engine_filter_end\n"
        ".hidden engine_filter_end\n"
        "engine_filter_start:\n"
        ".incbin \"" USERNODE_ENGINE_FILTER "\"\n"
        "engine_filter_end:\n"
        ".popsection\n");
/* clang-format on */
extern const struct sock_filter engine_filter_start[], engine_filter_end[];

/* What libseccomp's seccomp_load() did with the filter's default attributes: seccomp(2) without
 * flags. */
int engine_sandbox_load_filter(void) {
        size_t bytes = (uintptr_t)engine_filter_end - (uintptr_t)engine_filter_start;
        size_t len = bytes / sizeof(struct sock_filter);
        struct sock_fprog prog = { .len = (unsigned short)len,
                                   .filter = (struct sock_filter *)engine_filter_start };

        /* Whole instructions, as many as the kernel takes: anything else is a broken build. */
        if (len == 0 || len > BPF_MAXINSNS || bytes % sizeof(struct sock_filter) != 0)
                return log_error_errno(ENOEXEC, "slirp sandbox: cannot load the seccomp filter: %m");
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot load the seccomp filter: %m");
        return 0;
}

int engine_sandbox_apply(void) {
        int r;

        r = sandbox_user_namespace();
        if (r < 0)
                return r;
        r = sandbox_mounts();
        if (r < 0)
                return r;
        r = sandbox_drop_capabilities();
        if (r < 0)
                return r;
        /* Required for an unprivileged seccomp filter; also keeps setuid files from granting
         * anything (not that any are left in the new root). */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "slirp sandbox: cannot set no_new_privs: %m");
        return engine_sandbox_load_filter();
}
