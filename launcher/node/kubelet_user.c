/* kubelet_user.c: the node's "kubelet" user and its subordinate ids. */
#include "launcher/node/kubelet_user.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* A passwd file larger than this is not one a node should copy. */
#define PASSWD_MAX (4 * 1024 * 1024)

#define KUBELET_USER "kubelet"
#define KUBELET_UID_FIRST 999
#define KUBELET_UID_LAST 100

/* The uid field of one passwd line (NAME:PW:UID:...), or -1. */
static long line_uid(const char *line, const char *end) {
        const char *p = line;
        for (int colons = 0; colons < 2; p++) {
                if (p >= end)
                        return -1;
                if (*p == ':')
                        colons++;
        }
        char *num_end;
        long uid = strtol(p, &num_end, 10);
        return num_end > p && num_end <= end && *num_end == ':' ? uid : -1;
}

int kubelet_user_passwd(const char *passwd, char **ret) {
        bool used[KUBELET_UID_FIRST + 1] = {};
        size_t name_len = strlen(KUBELET_USER);

        for (const char *line = passwd; *line;) {
                const char *end = strchrnul(line, '\n');
                if (strncmp(line, KUBELET_USER ":", name_len + 1) == 0) {
                        *ret = strdup(passwd);
                        return *ret ? 0 : -ENOMEM;
                }
                long uid = line_uid(line, end);
                if (uid >= 0 && uid <= KUBELET_UID_FIRST)
                        used[uid] = true;
                line = *end ? end + 1 : end;
        }

        int uid = KUBELET_UID_FIRST;
        while (uid >= KUBELET_UID_LAST && used[uid])
                uid--;
        if (uid < KUBELET_UID_LAST)
                return -ENOSPC;
        size_t len = strlen(passwd);
        const char *newline = len > 0 && passwd[len - 1] != '\n' ? "\n" : "";
        if (asprintf(ret,
                     "%s%s" KUBELET_USER ":x:%d:%d:usernode, ids of pods with their own user "
                     "namespace:/nonexistent:/usr/sbin/nologin\n",
                     passwd, newline, uid, uid) < 0)
                return -ENOMEM;
        return 0;
}

int kubelet_user_ids_mapped(const char *map, const struct pod_userns *ids) {
        _cleanup_free_ struct pod_userns_map *m = malloc(sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->n = 0;
        for (const char *line = map + strspn(map, " \n"); *line;) {
                unsigned long long inner, outer, count;
                int used = 0;
                if (m->n == POD_USERNS_MAP_LINES_MAX ||
                    sscanf(line, " %llu %llu %llu%n", &inner, &outer, &count, &used) != 3 ||
                    inner + count > UINT32_MAX + 1ULL || outer > UINT32_MAX || count > UINT32_MAX)
                        return -EINVAL;
                m->lines[m->n++] =
                        (struct pod_userns_map_line){ (uint32_t)inner, (uint32_t)outer, (uint32_t)count };
                line += used;
                line += strspn(line, " \n");
        }
        /* Mapped is not enough: each pod's block must lie within one line (pod_userns.h). */
        return pod_userns_slice_fits(m, ids);
}

/* Read at most PASSWD_MAX bytes of `path` as a string. */
static int read_text(const char *path, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return negative_errno();
        _cleanup_free_ char *text = malloc(PASSWD_MAX + 1);
        size_t n = 0;
        if (!text)
                return -ENOMEM;
        while (fd >= 0) { /* no passwd at all: an empty one */
                ssize_t k = read(fd, text + n, PASSWD_MAX - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t)k;
                if (n == PASSWD_MAX)
                        return -EFBIG;
        }
        text[n] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}

/* `path` in the copied-up /etc replaced by a private file holding `text`: the entry is a symlink
 * to the host's file, which must not be written through. */
static int replace_file(const char *path, const char *text) {
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        size_t len = strlen(text);
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                done += (size_t)k;
        }
        return 0;
}

int kubelet_user_setup(const struct pod_userns *ids) {
        _cleanup_free_ char *passwd = NULL, *with_kubelet = NULL, *subids = NULL;
        static const char *const maps[] = { "/proc/self/uid_map", "/proc/self/gid_map" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
                _cleanup_free_ char *map = NULL;
                r = read_text(maps[i], &map);
                if (r >= 0)
                        r = kubelet_user_ids_mapped(map, ids);
                if (r < 0)
                        return log_error_errno(r, "cannot read the node's %s: %m", maps[i]);
                if (r == 0) {
                        log_warning("the node does not map ids %" PRIu32 "-%" PRIu64
                                    " with each pod's 65536 "
                                    "within one line of %s (see the warning about newuidmap above): no "
                                    "\"" KUBELET_USER "\" user, pods with hostUsers: false will fail",
                                    ids->start, (uint64_t)ids->start + ids->count - 1, maps[i]);
                        return 0;
                }
        }

        r = read_text("/etc/passwd", &passwd);
        if (r < 0)
                return log_error_errno(r, "cannot read the node's /etc/passwd: %m");
        r = kubelet_user_passwd(passwd, &with_kubelet);
        if (r == -ENOSPC)
                return log_error_errno(r,
                                       "no free uid from %d down to %d in /etc/passwd for the node's "
                                       "\"" KUBELET_USER "\" user",
                                       KUBELET_UID_FIRST, KUBELET_UID_LAST);
        if (r < 0)
                return log_error_errno(r, "cannot add the \"" KUBELET_USER "\" user to the node: %m");
        if (asprintf(&subids, KUBELET_USER ":%" PRIu32 ":%" PRIu32 "\n", ids->start, ids->count) < 0)
                return log_error_errno(ENOMEM, "cannot add the \"" KUBELET_USER "\" user to the node: %m");

        static const char *const subid_files[] = { "/etc/subuid", "/etc/subgid" };
        r = replace_file("/etc/passwd", with_kubelet);
        if (r < 0)
                return log_error_errno(r, "cannot write the node's /etc/passwd: %m");
        for (size_t i = 0; i < ELEMENTSOF(subid_files); i++) {
                r = replace_file(subid_files[i], subids);
                if (r < 0)
                        return log_error_errno(r, "cannot write the node's %s: %m", subid_files[i]);
        }
        log_debug("node user \"" KUBELET_USER "\": ids %" PRIu32 "-%" PRIu64 " for %" PRIu32 " pods",
                  ids->start, (uint64_t)ids->start + ids->count - 1, ids->pods);
        return 1;
}
