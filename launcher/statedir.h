/* statedir.h: the state dir of a node, $XDG_RUNTIME_DIR/usernode/NODE by default.
 *
 * One running instance per state dir, enforced by flock on `lock`. The files `pid` (launcher)
 * and `child_pid` (node init, host pid) are written once the namespaces are ready and removed
 * on exit; files a killed run left behind are cleaned when the next run takes the lock. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct statedir {
        char *path;
        int dir_fd;
        int lock_fd; /* flock'ed for the node's lifetime; -EBADF when we do not hold the lock */
};

#define STATEDIR_INIT \
        { .path = NULL, .dir_fd = -EBADF, .lock_fd = -EBADF }

/* A node name is a path component and a host name: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
bool statedir_node_name_valid(const char *name);

/* The state dir path: `override` if given, else $XDG_RUNTIME_DIR/usernode/NODE; without
 * XDG_RUNTIME_DIR, /tmp/usernode-UID/NODE with a warning (when `warn`). */
int statedir_resolve(const char *node, const char *override, bool warn, char **ret_path);

/* Create (0700, owned by us) and lock the state dir, then clean what a killed run left. Returns
 * -EBUSY with the message "node NAME is already running (pid P)" logged if it is locked, -EPERM
 * (logged) when it, or in the default layout its parent, is another user's, writable by group or
 * others, or a symlink. */
int statedir_acquire(struct statedir *sd, const char *node, const char *path);

/* Open an existing state dir without locking it (for exec/stop/status clients). Returns
 * -ESRCH when no node runs there, after logging it. */
int statedir_open_running(struct statedir *sd, const char *node, const char *path);

/* Atomically write the pid files; called when the node is ready. */
int statedir_write_pids(struct statedir *sd, pid_t launcher, pid_t init);

/* Read a pid file of a running node ("pid" or "child_pid"). */
int statedir_read_pid(const struct statedir *sd, const char *name, pid_t *ret);

/* The node is gone and the launcher only cleans up: a new run waits for the lock (a few
 * seconds at most) instead of being refused as "already running". */
int statedir_mark_stopping(struct statedir *sd);
/* Remove the run's files (keeping the dir and lock) and release the lock. */
void statedir_release(struct statedir *sd);

/* Close fds without removing anything (for clients and forked children). */
void statedir_close(struct statedir *sd);

/* Write `content` to NAME in the state dir atomically (temp file + rename), mode 0644. */
int statedir_write_file(struct statedir *sd, const char *name, const char *content);
