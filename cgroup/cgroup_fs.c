/* cgroup_fs.c: the cgroup v2 file system: discovery, delegation check, controllers, moving,
 * killing and removing. No policy here: cgroup_decide.c decides, cgroup_node.c orders the steps. */
#include "cgroup/cgroup_fs.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"

/* cgroupfs files we read are small (a cgroup.procs of 100000 pids fits); more is not what we expect. */
#define CGROUP_FILE_MAX (1 << 20)

struct cgroup_host cgroup_host_real(void) {
        return (struct cgroup_host){
                .mountinfo = "/proc/self/mountinfo",
                .self_cgroup = "/proc/self/cgroup",
                .uid = getuid(),
        };
}

void cgroup_discovery_done(struct cgroup_discovery *d) {
        free(d->mount);
        free(d->own);
        free(d->controllers);
        *d = (struct cgroup_discovery){};
}

/* mountinfo escapes space, tab, newline and backslash as \ooo; undo it in place. */
static void unescape_octal(char *s) {
        char *w = s;
        for (char *r = s; *r; r++, w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w = *r;
        }
        *w = 0;
}

int cgroup_fs_find_mount(const char *mountinfo, enum cgroup_layout *ret_layout, char **ret_mount) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL, *v2 = NULL;
        size_t size = 0;
        bool v1 = false;

        assert(mountinfo);
        assert(ret_layout);
        assert(ret_mount);

        f = fopen(mountinfo, "re");
        if (!f)
                return negative_errno();

        while (getline(&line, &size, f) >= 0) {
                /* "36 35 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw" */
                char mountpoint[4096], fstype[64];
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mountpoint) != 1 ||
                    sscanf(dash + 3, "%63s", fstype) != 1)
                        continue;
                if (strcmp(fstype, "cgroup") == 0)
                        v1 = true;
                else if (strcmp(fstype, "cgroup2") == 0) {
                        unescape_octal(mountpoint);
                        /* Several cgroup2 mounts (a bind into a container, say): the canonical one wins. */
                        if (!v2 || strcmp(mountpoint, "/sys/fs/cgroup") == 0) {
                                free(v2);
                                v2 = strdup(mountpoint);
                                if (!v2)
                                        return -ENOMEM;
                        }
                }
        }

        if (v2 && !v1)
                *ret_layout = CGROUP_LAYOUT_UNIFIED;
        else if (v2)
                /* Both: the v1 hierarchies hold the controllers, cgroup2 is systemd's bookkeeping. */
                *ret_layout = CGROUP_LAYOUT_HYBRID;
        else
                *ret_layout = v1 ? CGROUP_LAYOUT_LEGACY : CGROUP_LAYOUT_NONE;
        *ret_mount = *ret_layout == CGROUP_LAYOUT_UNIFIED ? TAKE_PTR(v2) : NULL;
        return 0;
}

int cgroup_fs_own_path(const char *self_cgroup, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        assert(self_cgroup);
        assert(ret);

        f = fopen(self_cgroup, "re");
        if (!f)
                return negative_errno();
        while ((n = getline(&line, &size, f)) >= 0) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                if (n > 0 && line[n - 1] == '\n')
                        line[n - 1] = 0;
                if (line[3] != '/')
                        return -EBADMSG;
                *ret = strdup(line + 3);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

static bool owned_writable(int dirfd, const char *name, uid_t uid) {
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == uid &&
               (st.st_mode & S_IWUSR);
}

bool cgroup_fs_is_owned(const char *path, uid_t uid) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 && owned_writable(fd, ".", uid) && owned_writable(fd, "cgroup.procs", uid) &&
               owned_writable(fd, "cgroup.subtree_control", uid);
}

char *cgroup_path_join(const char *a, const char *b) {
        char *p;
        /* "/" + "/user.slice" must not give "//user.slice". */
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (asprintf(&p, "%.*s/%s", (int)la, a, b) < 0)
                return NULL;
        return p;
}

int cgroup_discover(const struct cgroup_host *host, struct cgroup_discovery *ret) {
        _cleanup_free_ char *own = NULL;
        int r;

        assert(host);
        assert(ret);

        *ret = (struct cgroup_discovery){};
        r = cgroup_fs_find_mount(host->mountinfo, &ret->layout, &ret->mount);
        if (r < 0)
                return r;
        if (ret->layout != CGROUP_LAYOUT_UNIFIED)
                return 0;

        r = cgroup_fs_own_path(host->self_cgroup, &own);
        if (r < 0)
                return r;
        ret->own = cgroup_path_join(ret->mount, own);
        if (!ret->own)
                return -ENOMEM;
        ret->own_writable = cgroup_fs_is_owned(ret->own, host->uid);
        r = cgroup_fs_read(ret->own, "cgroup.controllers", &ret->controllers);
        if (r < 0)
                return r;
        return 0;
}

bool cgroup_list_contains(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
                        return true;
        return false;
}

int cgroup_list_missing(const char *list, const char *wanted, char **ret) {
        _cleanup_free_ char *copy = strdup(wanted), *out = strdup("");
        char *save = NULL;

        if (!copy || !out)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (cgroup_list_contains(list, w))
                        continue;
                char *grown;
                if (asprintf(&grown, "%s%s%s", out, *out ? " " : "", w) < 0)
                        return -ENOMEM;
                free(out);
                out = grown;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int cgroup_fs_read(const char *dir, const char *file, char **ret) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        buf = malloc(CGROUP_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        /* seq_file may hand a long cgroup.procs out in pieces: read to EOF. */
        for (n = 0;;) {
                ssize_t k = read(fd, buf + n, CGROUP_FILE_MAX - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += k;
                if (n == CGROUP_FILE_MAX)
                        return -EFBIG;
        }
        while (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int cgroup_fs_write(const char *dir, const char *file, const char *value) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        return (size_t)n == len ? 0 : -EIO;
}

int cgroup_fs_move(const char *dir, pid_t pid) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%d", (int)pid); /* an int always fits */
        return cgroup_fs_write(dir, "cgroup.procs", buf);
}

int cgroup_fs_move_all(const char *from, const char *to) {
        /* A process may fork while we move its siblings: go round until nothing is left, bounded. */
        for (int round = 0; round < 100; round++) {
                _cleanup_free_ char *procs = NULL;
                char *save = NULL;
                int r = cgroup_fs_read(from, "cgroup.procs", &procs);
                if (r < 0)
                        return r;
                if (!*procs)
                        return 0;
                for (char *p = strtok_r(procs, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
                        r = cgroup_fs_write(to, "cgroup.procs", p);
                        if (r < 0 && r != -ESRCH) /* ESRCH: it exited meanwhile */
                                return r;
                }
        }
        return -EBUSY;
}

int cgroup_fs_enable(const char *dir, const char *controllers, char **ret_enabled) {
        _cleanup_free_ char *copy = strdup(controllers), *enabled = strdup("");
        char *save = NULL;

        if (!copy || !enabled)
                return -ENOMEM;
        for (char *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
                char op[64];
                if (snprintf(op, sizeof(op), "+%s", c) >= (int)sizeof(op))
                        return -ENAMETOOLONG;
                int r = cgroup_fs_write(dir, "cgroup.subtree_control", op);
                if (r < 0) {
                        log_warning_errno(r, "cgroups: cannot enable controller %s in %s: %m", c, dir);
                        continue;
                }
                char *grown;
                if (asprintf(&grown, "%s%s%s", enabled, *enabled ? " " : "", c) < 0)
                        return -ENOMEM;
                free(enabled);
                enabled = grown;
        }
        if (ret_enabled)
                *ret_enabled = TAKE_PTR(enabled);
        return 0;
}

int cgroup_fs_is_populated(const char *dir) {
        _cleanup_free_ char *events = NULL;
        int r = cgroup_fs_read(dir, "cgroup.events", &events);
        if (r < 0)
                return r;
        return strstr(events, "populated 1") ? 1 : 0;
}

/* SIGKILL to every process in the subtree, children first; the fallback for kernels < 5.14. */
static int kill_procs_recursive(const char *dir) {
        _cleanup_free_ char *procs = NULL;
        char *save = NULL;
        DIR *d;
        int r;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *child = cgroup_path_join(dir, de->d_name);
                if (!child) {
                        closedir(d);
                        return -ENOMEM;
                }
                (void)kill_procs_recursive(child);
        }
        closedir(d);

        r = cgroup_fs_read(dir, "cgroup.procs", &procs);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (char *p = strtok_r(procs, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
                pid_t pid = (pid_t)strtol(p, NULL, 10);
                if (pid > 0)
                        (void)kill(pid, SIGKILL);
        }
        return 0;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int cgroup_fs_kill(const char *dir, unsigned timeout_ms) {
        long long deadline = now_ms() + timeout_ms;
        bool have_kill;
        int r;

        r = cgroup_fs_is_populated(dir);
        if (r == -ENOENT)
                return 0;
        if (r <= 0)
                return r;

        /* cgroup.kill (5.14) kills the whole subtree at once, also processes forking meanwhile. */
        have_kill = cgroup_fs_write(dir, "cgroup.kill", "1") >= 0;
        for (;;) {
                if (!have_kill) {
                        r = kill_procs_recursive(dir);
                        if (r < 0)
                                return r;
                }
                r = cgroup_fs_is_populated(dir);
                if (r <= 0)
                        return r == -ENOENT ? 0 : r;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
                /* Exiting takes a moment (the kernel reaps, the parent waits): poll with a deadline. */
                (void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
}

int cgroup_fs_remove(const char *dir) {
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *child = cgroup_path_join(dir, de->d_name);
                int k = child ? cgroup_fs_remove(child) : -ENOMEM;
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}
