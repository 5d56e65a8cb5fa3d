/* statedir.c: state dir location, lock, pid files. */
#include "launcher/statedir.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/log.h"

bool statedir_node_name_valid(const char *name) {
        size_t len = strlen(name);
        if (len == 0 || len > 63 || !isalnum((unsigned char)name[0]))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
                        return false;
        return true;
}

int statedir_resolve(const char *node, const char *override, bool warn, char **ret_path) {
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        char *path = NULL;
        int n;

        if (override)
                n = asprintf(&path, "%s", override);
        else if (runtime && runtime[0] == '/')
                n = asprintf(&path, "%s/usernode/%s", runtime, node);
        else {
                n = asprintf(&path, "/tmp/usernode-%u/%s", (unsigned)getuid(), node);
                if (n >= 0 && warn)
                        log_warning("XDG_RUNTIME_DIR is not set; keeping state in %s, where "
                                    "systemd-tmpfiles may delete it; log in through a session that "
                                    "sets XDG_RUNTIME_DIR, or pass --state-dir",
                                    path);
        }
        if (n < 0)
                return -ENOMEM;
        *ret_path = path;
        return 0;
}

/* Whether the directory open at fd, named path, is fit to hold a node's state: ours and
 * writable by nobody else (as tmux and rootlesskit check theirs). Anyone who may write to it
 * could replace api.sock or the pid files under our feet. Returns 0 or -EPERM, logged. */
static int dir_check(int fd, const char *path) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "cannot stat the state dir %s: %m", path);
        if (st.st_uid != getuid()) {
                log_error("state dir %s belongs to uid %u, not to you (uid %u); remove it, set "
                          "XDG_RUNTIME_DIR or pass --state-dir",
                          path, (unsigned)st.st_uid, (unsigned)getuid());
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                log_error("state dir %s is writable by others (mode %04o); chmod go-w %s, or pass "
                          "another --state-dir",
                          path, (unsigned)(st.st_mode & 07777), path);
                return -EPERM;
        }
        return 0;
}

/* Opens name (relative to dir_fd, or a path with AT_FDCWD) as a directory, never through a
 * symlink, and checks it (dir_check). path names it in messages. */
static int open_dir_at(int dir_fd, const char *name, const char *path, int *ret_fd) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        int r;

        if (fd < 0) {
                r = negative_errno();
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                        log_error("state dir %s is a symlink; remove it, or pass --state-dir with a "
                                  "directory of your own",
                                  path);
                        return -EPERM;
                }
                return r;
        }
        r = dir_check(fd, path);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Opens the state dir path; with check_parent (the default layout, whose parent usernode
 * creates: $XDG_RUNTIME_DIR/usernode or /tmp/usernode-UID), the parent is checked too and the
 * state dir opened from it, so neither can be swapped for a symlink in between. */
static int open_dir_checked(const char *path, bool check_parent, int *ret_fd) {
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int parent_fd = -EBADF;
        const char *slash = strrchr(path, '/');
        int r;

        if (!check_parent || !slash || slash == path)
                return open_dir_at(AT_FDCWD, path, path, ret_fd);
        parent = strndup(path, (size_t)(slash - path));
        if (!parent)
                return -ENOMEM;
        r = open_dir_at(AT_FDCWD, parent, parent, &parent_fd);
        if (r < 0)
                return r;
        return open_dir_at(parent_fd, slash + 1, path, ret_fd);
}

/* Whether path is where the node's state goes by default (not a --state-dir). */
static bool path_is_default(const char *node, const char *path) {
        _cleanup_free_ char *fallback = NULL;

        return statedir_resolve(node, NULL, false, &fallback) >= 0 && strcmp(fallback, path) == 0;
}

/* Everything but the lock is left over from a killed run. */
static void remove_stale_files(int dir_fd) {
        /* A fresh open file description: a dup() would share the offset of an earlier pass. */
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d)
                return;
        fd = -EBADF;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    strcmp(de->d_name, "lock") == 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
                        continue;
                log_debug("removed stale %s from the state dir", de->d_name);
        }
        closedir(d);
}

int statedir_read_pid(const struct statedir *sd, const char *name, pid_t *ret) {
        char buffer[32] = {};
        _cleanup_close_ int fd = openat(sd->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
        if (n <= 0)
                return -ENODATA;
        long v = strtol(buffer, NULL, 10);
        if (v <= 0 || v > 4194304)
                return -EBADMSG;
        *ret = (pid_t)v;
        return 0;
}

#define STOPPING_WAIT_MS 5000 /* for a launcher that is cleaning up after its node */
#define STOPPING_POLL_MS 10
#define LIVE_GRACE_MS 250 /* before a node that looks alive counts as running */

/* Whether pid is gone or a zombie (dead, not reaped yet). */
static bool process_dead(pid_t pid) {
        char path[64], buffer[256];
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT;
        ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
        if (n <= 0)
                return false;
        buffer[n] = '\0';
        const char *paren = strrchr(buffer, ')'); /* the state follows the command's name */
        return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* Whether the launcher holding the lock only cleans up: it said so (statedir_mark_stopping()),
 * or its node init is already dead and it has not got round to saying so. */
static bool holder_is_stopping(const struct statedir *sd) {
        pid_t init;

        if (faccessat(sd->dir_fd, "stopping", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return true;
        return statedir_read_pid(sd, "child_pid", &init) == 0 && process_dead(init);
}

/* Takes the lock, waiting for it a moment (LIVE_GRACE_MS: a kill -9 of the node init takes
 * effect after kill() returned), and while the launcher that holds it is only cleaning up after
 * its node, up to STOPPING_WAIT_MS. Returns 0 or -1 with errno set, as flock(). */
static int lock_or_wait_for_stopping(struct statedir *sd) {
        for (int waited = 0;; waited += STOPPING_POLL_MS) {
                if (flock(sd->lock_fd, LOCK_EX | LOCK_NB) == 0)
                        return 0;
                if (errno != EWOULDBLOCK)
                        return -1;
                if (waited >= STOPPING_WAIT_MS || (waited >= LIVE_GRACE_MS && !holder_is_stopping(sd))) {
                        errno = EWOULDBLOCK;
                        return -1;
                }
                (void)usleep(STOPPING_POLL_MS * 1000);
        }
}

int statedir_mark_stopping(struct statedir *sd) {
        if (sd->dir_fd < 0 || sd->lock_fd < 0)
                return -EBADF;
        return statedir_write_file(sd, "stopping", "");
}

int statedir_acquire(struct statedir *sd, const char *node, const char *path) {
        int r;

        r = mkdir_p(path, 0700); /* parents too: they are ours (e.g. $XDG_RUNTIME_DIR/usernode) */
        if (r < 0 && r != -EEXIST)
                return log_error_errno(r, "cannot create the state dir %s: %m", path);
        r = open_dir_checked(path, path_is_default(node, path), &sd->dir_fd);
        if (r < 0)
                return r == -EPERM ? r : log_error_errno(r, "cannot open the state dir %s: %m", path);
        sd->path = strdup(path);
        if (!sd->path)
                return -ENOMEM;

        sd->lock_fd = openat(sd->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (sd->lock_fd < 0)
                return log_error_errno(errno, "cannot open %s/lock: %m", path);
        if (lock_or_wait_for_stopping(sd) < 0) {
                int saved = errno;
                /* Not ours: statedir_release() must not clean up after the running node. */
                closep(&sd->lock_fd);
                sd->lock_fd = -EBADF;
                if (saved != EWOULDBLOCK)
                        return log_error_errno(saved, "cannot lock %s/lock: %m", path);
                pid_t pid;
                if (statedir_read_pid(sd, "pid", &pid) == 0)
                        log_error("node %s is already running (pid %d); stop it with 'usernode stop "
                                  "--node %s' or pick another --node",
                                  node, (int)pid, node);
                else
                        log_error("node %s is already running (still starting); pick another --node", node);
                return -EBUSY;
        }
        remove_stale_files(sd->dir_fd);
        return 0;
}

int statedir_open_running(struct statedir *sd, const char *node, const char *path) {
        int r = open_dir_checked(path, path_is_default(node, path), &sd->dir_fd);
        if (r == -ENOENT) {
                log_error("node %s is not running (no state dir %s); start it with 'usernode run --node %s'",
                          node, path, node);
                return -ESRCH;
        }
        if (r < 0)
                return r == -EPERM ? r : log_error_errno(r, "cannot open the state dir %s: %m", path);
        sd->path = strdup(path);
        if (!sd->path)
                return -ENOMEM;

        /* A run holds the lock for its whole life: if we can take it, nobody runs. */
        _cleanup_close_ int lock = openat(sd->dir_fd, "lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (lock >= 0 && flock(lock, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
                return 0;
        log_error("node %s is not running; start it with 'usernode run --node %s'", node, node);
        return -ESRCH;
}

int statedir_write_file(struct statedir *sd, const char *name, const char *content) {
        char temp[256];
        if (snprintf(temp, sizeof(temp), ".%s.tmp", name) >= (int)sizeof(temp))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd =
                openat(sd->dir_fd, temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        size_t len = strlen(content);
        if (write(fd, content, len) != (ssize_t)len)
                return negative_errno();
        if (renameat(sd->dir_fd, temp, sd->dir_fd, name) < 0)
                return negative_errno();
        return 0;
}

int statedir_write_pids(struct statedir *sd, pid_t launcher, pid_t init) {
        char text[32];
        int r;

        snprintf(text, sizeof(text), "%d\n", (int)init);
        r = statedir_write_file(sd, "child_pid", text);
        if (r < 0)
                return r;
        /* `pid` last: clients treat it as "the node is up". */
        snprintf(text, sizeof(text), "%d\n", (int)launcher);
        return statedir_write_file(sd, "pid", text);
}

void statedir_close(struct statedir *sd) {
        closep(&sd->lock_fd);
        closep(&sd->dir_fd);
        sd->lock_fd = sd->dir_fd = -EBADF;
        free(sd->path);
        sd->path = NULL;
}

void statedir_release(struct statedir *sd) {
        if (sd->dir_fd >= 0 && sd->lock_fd >= 0)
                remove_stale_files(sd->dir_fd);
        statedir_close(sd);
}
