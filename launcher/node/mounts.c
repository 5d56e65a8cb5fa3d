/* mounts.c: rslave root, fresh /proc and /sys, copy-up with detached mount trees.
 *
 * open_tree(OPEN_TREE_CLONE) takes a detached copy of a mount tree, so the copy-up needs no
 * temporary mount point in the host's /tmp and leaves nothing behind if it fails half-way. */
#include "launcher/node/mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/log.h"

int mounts_copy_up(const char *dir) {
        _cleanup_close_ int original = -EBADF, dir_fd = -EBADF, hidden_fd = -EBADF;
        struct stat st;
        char hidden[4096];

        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0; /* nothing to copy up (e.g. no /var/lib on a minimal host) */

        /* Detach a copy of the original tree, submounts included, before covering it. */
        original = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (original < 0)
                return log_error_errno(errno, "copy-up of %s: cannot clone its mount tree: %m", dir);
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                return log_error_errno(errno, "copy-up of %s: cannot mount a tmpfs on it: %m", dir);

        if (snprintf(hidden, sizeof(hidden), "%s/%s", dir, MOUNTS_ORIGINAL_NAME) >= (int)sizeof(hidden))
                return log_error_errno(ENAMETOOLONG, "copy-up of %s: path too long", dir);
        if (mkdir(hidden, 0755) < 0)
                return log_error_errno(errno, "copy-up of %s: cannot create %s: %m", dir, hidden);
        if (move_mount(original, "", AT_FDCWD, hidden, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return log_error_errno(errno, "copy-up of %s: cannot move the original to %s: %m", dir,
                                       hidden);

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        hidden_fd = open(hidden, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || hidden_fd < 0)
                return log_error_errno(errno, "copy-up of %s: cannot open it: %m", dir);
        DIR *entries = fdopendir(hidden_fd);
        if (!entries)
                return log_error_errno(errno, "copy-up of %s: cannot list %s: %m", dir, hidden);
        hidden_fd = -EBADF; /* owned by `entries` now */

        int r = 0;
        struct dirent *de;
        while ((de = readdir(entries))) {
                char link_target[PATH_MAX];
                ssize_t n;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                /* A symlink is copied as it is: its target may be relative (/etc/os-release ->
                 * ../usr/lib/os-release) and would break one level deeper. Anything else is
                 * linked to the original. */
                n = readlinkat(dirfd(entries), de->d_name, link_target, sizeof(link_target) - 1);
                if (n >= 0)
                        link_target[n] = '\0';
                else if (snprintf(link_target, sizeof(link_target), "%s/%s", MOUNTS_ORIGINAL_NAME,
                                  de->d_name) >= (int)sizeof(link_target))
                        continue; /* a name longer than NAME_MAX cannot exist */
                if (symlinkat(link_target, dir_fd, de->d_name) < 0) {
                        r = log_error_errno(errno, "copy-up of %s: cannot link %s: %m", dir, de->d_name);
                        break;
                }
        }
        closedir(entries);
        return r;
}

int mounts_bind_file(const char *source, const char *target) {
        /* The copied-up entry is a symlink to the host's file: remove it, or the bind would land on
         * the host's file through it. */
        if (unlink(target) < 0 && errno != ENOENT)
                return log_error_errno(errno, "cannot replace %s: %m", target);
        _cleanup_close_ int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return log_error_errno(errno, "cannot create %s: %m", target);
        if (mount(source, target, NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "cannot bind %s on %s: %m", source, target);
        return 0;
}

int mounts_node_tmpfs(const char *dir, mode_t mode) {
        char options[32];
        int r = mkdir_p(dir, mode);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", dir);
        snprintf(options, sizeof(options), "mode=%04o", (unsigned)mode);
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
                return log_error_errno(errno, "cannot mount a tmpfs of the node on %s: %m", dir);
        return 0;
}

/* A fresh sysfs shows the node's own network devices in /sys/class/net. The kernel allows it
 * only to the owner of the network namespace, so with the host's network the host's /sys stays. */
static int mount_fresh_sys(void) {
        _cleanup_close_ int cgroup_tree =
                open_tree(AT_FDCWD, "/sys/fs/cgroup", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (cgroup_tree < 0)
                log_debug_errno(errno, "no /sys/fs/cgroup to keep: %m");
        if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return log_error_errno(errno, "cannot mount a fresh /sys: %m");
        if (cgroup_tree >= 0 &&
            move_mount(cgroup_tree, "", AT_FDCWD, "/sys/fs/cgroup", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return log_error_errno(errno, "cannot keep /sys/fs/cgroup on the fresh /sys: %m");
        return 0;
}

int mounts_setup_node(bool own_network) {
        static const char *const copy_up_dirs[] = MOUNTS_COPY_UP_DIRS;
        int r;

        /* Slave, not private: a USB disk or NFS mount appearing on the host should still show up
         * inside; shared would let the node's mounts leak out (and breaks copy-up). */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(errno, "cannot make / a slave mount: %m");

        /* The node has its own pid namespace: /proc must show its processes, not the host's. */
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return log_error_errno(errno, "cannot mount /proc for the node's pid namespace: %m");

        if (own_network) {
                r = mount_fresh_sys();
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(copy_up_dirs); i++) {
                r = mounts_copy_up(copy_up_dirs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}
