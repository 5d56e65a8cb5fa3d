/* userns_remove.c: `usernode rm`'s removal, as root of a user namespace with the node's ids. */
#include "launcher/userns_remove.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/idmap.h"

/* Below DIR_FD/NAME on device DEV, then NAME. Returns the first error met (and goes on). */
static int remove_at(int dir_fd, const char *name, dev_t dev) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 ? -errno : 0;
        if (st.st_dev != dev)
                return -EXDEV; /* a mount below: not ours to empty */
        /* A mode-000 directory (overlayfs' work/work) is opened after chmod, as its owner may. */
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && fchmodat(dir_fd, name, 0700, 0) == 0)
                fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = 0;
        DIR *d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        int k = remove_at(dirfd(d), de->d_name, dev);
                        r = r < 0 ? r : k;
                }
        closedir(d);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && r == 0)
                r = -errno;
        return r;
}

static _noreturn_ void remove_child(const char *path, int ready_fd, int go_fd) {
        char go = 0;
        struct stat st;
        if (unshare(CLONE_NEWUSER) < 0)
                _exit(2);
        if (write(ready_fd, "1", 1) != 1 || read(go_fd, &go, 1) != 1 || go != '1')
                _exit(3);
        if (lstat(path, &st) < 0)
                _exit(errno == ENOENT ? 0 : 1);
        _exit(remove_at(AT_FDCWD, path, st.st_dev) < 0 ? 1 : 0);
}

int userns_remove_tree(const char *path) {
        struct passwd *pw = getpwuid(getuid());
        _cleanup_free_ struct id_range *uids = NULL, *gids = NULL;
        struct id_mapping uid_map, gid_map;
        char user[64];
        int ready[2], go[2];
        bool full;

        snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "");
        /* Without subordinate ids only the user's own files are there to remove: no warning. */
        enum log_level level = log_get_level();
        log_set_level(LOG_LEVEL_ERROR);
        int n_uids = idmap_lookup_subids(ID_KIND_UID, user, getuid(), &uids);
        int n_gids = idmap_lookup_subids(ID_KIND_GID, user, getgid(), &gids);
        idmap_build(getuid(), uids, n_uids > 0 ? (size_t)n_uids : 0, user, ID_KIND_UID, &uid_map);
        idmap_build(getgid(), gids, n_gids > 0 ? (size_t)n_gids : 0, user, ID_KIND_GID, &gid_map);

        if (pipe2(ready, O_CLOEXEC) < 0) {
                log_set_level(level);
                return log_error_errno(errno, "rm: cannot create a pipe: %m");
        }
        if (pipe2(go, O_CLOEXEC) < 0) {
                log_set_level(level);
                close(ready[0]);
                close(ready[1]);
                return log_error_errno(errno, "rm: cannot create a pipe: %m");
        }
        pid_t pid = fork();
        if (pid == 0) {
                close(ready[0]);
                close(go[1]);
                remove_child(path, ready[1], go[0]);
        }
        close(ready[1]);
        close(go[0]);
        char byte = 0;
        int r = pid < 0 ? -errno : read(ready[0], &byte, 1) == 1 ? 0 : -EPERM;
        /* The maps as the node's: the subordinate ids become root's to remove. */
        if (r == 0)
                r = idmap_apply(pid, &uid_map, &gid_map, user, &full, &full);
        log_set_level(level);
        if (write(go[1], r == 0 ? "1" : "0", 1) != 1 && r == 0)
                r = -EPIPE;
        close(ready[0]);
        close(go[1]);
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return log_error_errno(r, "rm: cannot make a user namespace to remove %s: %m", path);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(
                        EIO,
                        "rm: %s could not be removed completely (a mount below it, or files of "
                        "ids outside the user's subordinate ranges); see what is left with: "
                        "ls -laR %s",
                        path, path);
        return 0;
}
