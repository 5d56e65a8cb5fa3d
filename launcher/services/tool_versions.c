/* tool_versions.c: see tool_versions.h. One line per binary:
 *   DEV INO SIZE MTIME_SEC MTIME_NSEC CTIME_SEC CTIME_NSEC MAJOR MINOR PATH */
#include "launcher/services/tool_versions.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"

/* A line is the numbers and a path (PATH_MAX at most). */
#define LINE_MAX_LEN (4096 + 256)

struct identity {
        uint64_t dev, ino, size;
        int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

static int identity_of(const char *path, struct identity *ret) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return -ENOENT;
        *ret = (struct identity){
                .dev = (uint64_t)st.st_dev,
                .ino = (uint64_t)st.st_ino,
                .size = (uint64_t)st.st_size,
                .mtime_sec = (int64_t)st.st_mtim.tv_sec,
                .mtime_nsec = (int64_t)st.st_mtim.tv_nsec,
                .ctime_sec = (int64_t)st.st_ctim.tv_sec,
                .ctime_nsec = (int64_t)st.st_ctim.tv_nsec,
        };
        return 0;
}

/* Splits one line; *ret_path points into line. false when it is not one of ours. */
static bool line_parse(char *line, struct identity *id, unsigned *major, unsigned *minor, char **ret_path) {
        int used = -1;
        if (sscanf(line,
                   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
                   " %u %u %n",
                   &id->dev, &id->ino, &id->size, &id->mtime_sec, &id->mtime_nsec, &id->ctime_sec,
                   &id->ctime_nsec, major, minor, &used) != 9 ||
            used <= 0 || line[used] != '/')
                return false;
        line[strcspn(line, "\n")] = '\0';
        *ret_path = line + used;
        return true;
}

static bool identity_equal(const struct identity *a, const struct identity *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_sec == b->mtime_sec &&
               a->mtime_nsec == b->mtime_nsec && a->ctime_sec == b->ctime_sec &&
               a->ctime_nsec == b->ctime_nsec;
}

static FILE *cache_open(const char *cache) {
        int fd = open(cache, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return NULL;
        FILE *f = fdopen(fd, "re");
        if (!f)
                close(fd);
        return f;
}

int tool_versions_get(const char *cache, const char *path, unsigned *major, unsigned *minor) {
        struct identity now, id;
        char line[LINE_MAX_LEN];
        unsigned a, b;
        char *p;

        if (identity_of(path, &now) < 0)
                return 0;
        FILE *f = cache_open(cache);
        if (!f)
                return 0;
        int found = 0;
        while (!found && fgets(line, sizeof(line), f))
                if (line_parse(line, &id, &a, &b, &p) && strcmp(p, path) == 0 && identity_equal(&id, &now)) {
                        *major = a;
                        *minor = b;
                        found = 1;
                }
        fclose(f);
        return found;
}

int tool_versions_put(const char *cache, const char *path, unsigned major, unsigned minor) {
        _cleanup_free_ char *tmp = NULL;
        struct identity now, id;
        char line[LINE_MAX_LEN];
        unsigned a, b, kept = 1;
        char *p;
        int r = 0;

        if (path[0] != '/' || strchr(path, '\n') || strlen(path) > 4096)
                return -EINVAL;
        if (identity_of(path, &now) < 0)
                return -ENOENT;
        if (asprintf(&tmp, "%s.tmp", cache) < 0)
                return -ENOMEM;
        (void)unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        FILE *out = fdopen(fd, "we");
        if (!out) {
                r = negative_errno();
                close(fd);
                (void)unlink(tmp);
                return r;
        }
        fprintf(out,
                "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
                " %u %u %s\n",
                now.dev, now.ino, now.size, now.mtime_sec, now.mtime_nsec, now.ctime_sec, now.ctime_nsec,
                major, minor, path);
        FILE *in = cache_open(cache);
        while (in && kept < TOOL_VERSIONS_MAX && fgets(line, sizeof(line), in))
                if (line_parse(line, &id, &a, &b, &p) && strcmp(p, path) != 0) {
                        fprintf(out,
                                "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64
                                " %" PRId64 " %u %u %s\n",
                                id.dev, id.ino, id.size, id.mtime_sec, id.mtime_nsec, id.ctime_sec,
                                id.ctime_nsec, a, b, p);
                        kept++;
                }
        if (in)
                fclose(in);
        if (fclose(out) != 0)
                r = -EIO;
        if (r >= 0 && rename(tmp, cache) < 0)
                r = negative_errno();
        if (r < 0)
                (void)unlink(tmp);
        return r;
}
