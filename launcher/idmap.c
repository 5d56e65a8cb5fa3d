/* idmap.c: subordinate id lookup and the writing of uid_map/gid_map. */
#include "launcher/idmap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "common/exit_status.h"
#include "common/fileio.h"
#include "common/log.h"
#include "launcher/idmap_internal.h"
#include "launcher/services/pod_userns.h"

/* Longest line accepted in /etc/subuid: a user name (at most 256) and two numbers. */
#define SUBID_LINE_MAX 512

const char *idmap_subid_file(enum id_kind kind) {
        return kind == ID_KIND_UID ? "/etc/subuid" : "/etc/subgid";
}

static const char *id_kind_name(enum id_kind kind) {
        return kind == ID_KIND_UID ? "uid" : "gid";
}

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

int idmap_append_range(struct id_range **ranges, size_t *n, struct id_range r) {
        struct id_range *grown = reallocarray(*ranges, *n + 1, sizeof(**ranges));
        if (!grown)
                return -ENOMEM;
        grown[(*n)++] = r;
        *ranges = grown;
        return 0;
}

int idmap_parse_subid_file(FILE *file, const char *file_name, const char *user, uint32_t id,
                           struct id_range **ret_ranges) {
        _cleanup_free_ struct id_range *ranges = NULL;
        char line[SUBID_LINE_MAX];
        char id_text[16];
        size_t n = 0;
        unsigned line_no = 0;

        snprintf(id_text, sizeof(id_text), "%" PRIu32, id);
        while (fgets(line, sizeof(line), file)) {
                line_no++;
                size_t len = strlen(line);
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = '\0';
                else if (!feof(file)) {
                        log_warning("%s:%u: line too long, ignored", file_name, line_no);
                        int c;
                        while ((c = fgetc(file)) != EOF && c != '\n')
                                ;
                        continue;
                }
                if (line[0] == '\0' || line[0] == '#')
                        continue;

                char *owner = line, *start = strchr(line, ':'), *count = NULL;
                if (start) {
                        *start++ = '\0';
                        count = strchr(start, ':');
                }
                if (!count) {
                        log_warning("%s:%u: not OWNER:START:COUNT, ignored", file_name, line_no);
                        continue;
                }
                *count++ = '\0';
                if (strcmp(owner, user) != 0 && strcmp(owner, id_text) != 0)
                        continue;

                struct id_range r;
                if (parse_u32(start, &r.start) < 0 || parse_u32(count, &r.count) < 0 || r.count == 0 ||
                    (uint64_t)r.start + r.count > UINT32_MAX) {
                        log_warning("%s:%u: invalid range \"%s:%s\", ignored", file_name, line_no, start,
                                    count);
                        continue;
                }
                if (idmap_append_range(&ranges, &n, r) < 0)
                        return -ENOMEM;
        }
        *ret_ranges = TAKE_PTR(ranges);
        return (int)n;
}

int idmap_lookup_subids(enum id_kind kind, const char *user, uint32_t id, struct id_range **ret_ranges) {
        char id_text[16];

        snprintf(id_text, sizeof(id_text), "%" PRIu32, id);
        int n = idmap_libsubid_lookup(kind, user, id_text, ret_ranges);
        if (n >= 0)
                return n;

        /* libsubid is not installed or could not answer (e.g. a broken nsswitch "subid:" source):
         * read the file. */
        const char *path = idmap_subid_file(kind);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                *ret_ranges = NULL;
                return errno == ENOENT ? 0 : negative_errno();
        }
        return idmap_parse_subid_file(f, path, user, id, ret_ranges);
}

/* The end of the highest range in one subordinate id file, whoever owns it; 0 when none. */
static uint64_t subid_file_end(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[SUBID_LINE_MAX];
        uint64_t end = 0;

        while (f && fgets(line, sizeof(line), f)) {
                char *start = strchr(line, ':'), *count = start ? strchr(start + 1, ':') : NULL;
                uint32_t s, c;
                if (!count)
                        continue;
                *count++ = '\0';
                count[strcspn(count, "\n")] = '\0';
                if (parse_u32(start + 1, &s) == 0 && parse_u32(count, &c) == 0 && (uint64_t)s + c > end)
                        end = (uint64_t)s + c;
        }
        return end;
}

uint64_t idmap_free_subid_start_in(const char *subuid_path, const char *subgid_path) {
        uint64_t end = subid_file_end(subuid_path);
        uint64_t gid_end = subid_file_end(subgid_path);
        if (gid_end > end)
                end = gid_end;
        if (end < IDMAP_FIRST_SUBID)
                end = IDMAP_FIRST_SUBID;
        /* Rounded up to 65536: ranges on 65536 boundaries are what useradd hands out too. */
        return (end + 65535) / 65536 * 65536;
}

uint64_t idmap_free_subid_start(void) {
        return idmap_free_subid_start_in(idmap_subid_file(ID_KIND_UID), idmap_subid_file(ID_KIND_GID));
}

static bool ranges_overlap(uint32_t a, uint32_t a_count, uint32_t b, uint32_t b_count) {
        return (uint64_t)a < (uint64_t)b + b_count && (uint64_t)b < (uint64_t)a + a_count;
}

void idmap_build(uint32_t own_id, const struct id_range *ranges, size_t n_ranges, const char *user,
                 enum id_kind kind, struct id_mapping *ret) {
        uint64_t next_inner = 1;

        ret->n_extents = 0;
        ret->extents[ret->n_extents++] = (struct id_extent){ 0, own_id, 1 };
        for (size_t i = 0; i < n_ranges; i++) {
                const struct id_range *r = &ranges[i];
                bool overlaps = false;

                for (size_t j = 0; j < ret->n_extents && !overlaps; j++)
                        overlaps = ranges_overlap(r->start, r->count, ret->extents[j].outer,
                                                  ret->extents[j].count);
                if (overlaps) {
                        /* The kernel refuses a map whose outer ranges overlap. */
                        log_warning("%s: range %" PRIu32 "-%" PRIu64 " of \"%s\" overlaps the %s %" PRIu32
                                    " or an earlier range; skipped (fix %s)",
                                    idmap_subid_file(kind), r->start, (uint64_t)r->start + r->count - 1,
                                    user, id_kind_name(kind), own_id, idmap_subid_file(kind));
                        continue;
                }
                if (next_inner + r->count > UINT32_MAX) {
                        log_warning("%s: more subordinate ids than a user namespace can map; using the "
                                    "first %" PRIu64,
                                    idmap_subid_file(kind), next_inner - 1);
                        break;
                }
                /* A range that continues the previous one on the host joins its line: the kernel
                 * takes a nested namespace's map line (a pod's 65536 ids) only when it lies within
                 * one line of this map, and newuidmap accepts a line spanning adjacent ranges. */
                struct id_extent *last = &ret->extents[ret->n_extents - 1];
                if (ret->n_extents > 1 && (uint64_t)last->outer + last->count == r->start) {
                        last->count += r->count;
                        next_inner += r->count;
                        continue;
                }
                if (ret->n_extents == IDMAP_EXTENTS_MAX) {
                        log_warning("%s: more subordinate ranges than a user namespace can map; using the "
                                    "first %zu",
                                    idmap_subid_file(kind), ret->n_extents - 1);
                        break;
                }
                ret->extents[ret->n_extents++] =
                        (struct id_extent){ (uint32_t)next_inner, r->start, r->count };
                next_inner += r->count;
        }
}

uint64_t idmap_size(const struct id_mapping *mapping) {
        uint64_t total = 0;
        for (size_t i = 0; i < mapping->n_extents; i++)
                total += mapping->extents[i].count;
        return total;
}

void idmap_to_pod_userns_map(const struct id_mapping *mapping, struct pod_userns_map *ret) {
        _Static_assert(POD_USERNS_MAP_LINES_MAX == IDMAP_EXTENTS_MAX, "one limit, the kernel's");
        ret->n = mapping->n_extents;
        for (size_t i = 0; i < mapping->n_extents; i++)
                ret->lines[i] =
                        (struct pod_userns_map_line){ mapping->extents[i].inner, mapping->extents[i].outer,
                                                      mapping->extents[i].count };
}

/* A newuidmap/newgidmap started, not yet waited for. */
struct map_helper {
        pid_t pid; /* 0: not started (error says why) */
        int exec_error; /* read end of a CLOEXEC pipe: the child writes errno there if exec fails */
        int error; /* -errno when the helper could not be started */
};

/* Starts newuidmap/newgidmap PID INNER OUTER COUNT... without waiting for it. */
static void map_helper_start(pid_t pid, enum id_kind kind, const struct id_mapping *mapping,
                             struct map_helper *ret) {
        const char *helper = kind == ID_KIND_UID ? "newuidmap" : "newgidmap";
        char numbers[1 + 3 * IDMAP_EXTENTS_MAX][12];
        char *argv[2 + 3 * IDMAP_EXTENTS_MAX + 1];
        size_t argc = 0;
        int exec_error[2];

        *ret = (struct map_helper){ .exec_error = -EBADF };
        argv[argc++] = (char *)helper;
        snprintf(numbers[0], sizeof(numbers[0]), "%d", (int)pid);
        argv[argc++] = numbers[0];
        for (size_t i = 0; i < mapping->n_extents; i++) {
                const struct id_extent *e = &mapping->extents[i];
                uint32_t values[3] = { e->inner, e->outer, e->count };
                for (size_t k = 0; k < 3; k++) {
                        char *slot = numbers[1 + 3 * i + k];
                        snprintf(slot, sizeof(numbers[0]), "%" PRIu32, values[k]);
                        argv[argc++] = slot;
                }
        }
        argv[argc] = NULL;

        /* A CLOEXEC pipe tells the parent whether execvp itself failed, and why. */
        if (pipe2(exec_error, O_CLOEXEC) < 0) {
                ret->error = negative_errno();
                return;
        }
        pid_t child = fork();
        if (child < 0) {
                ret->error = negative_errno();
                close(exec_error[0]);
                close(exec_error[1]);
                return;
        }
        if (child == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL); /* the launcher blocks signals for its event loop */
                close(exec_error[0]);
                execvp(helper, argv);
                int e = errno;
                (void)!write(exec_error[1], &e, sizeof(e));
                _exit(127);
        }
        close(exec_error[1]);
        ret->pid = child;
        ret->exec_error = exec_error[0];
}

/* Waits for a started helper; returns its exit status, or -errno if it could not be started
 * (-ENOENT: not installed). */
static int map_helper_finish(struct map_helper *h) {
        if (h->pid <= 0)
                return h->error;
        int e = 0;
        ssize_t n = read(h->exec_error, &e, sizeof(e));
        closep(&h->exec_error);

        int status;
        while (waitpid(h->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        h->pid = 0;
        if (n == (ssize_t)sizeof(e))
                return -e;
        return exit_code_of(status);
}

static int write_proc_file(pid_t pid, const char *name, const char *content) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
        return write_string_file(path, content);
}

static int write_single_id_map(pid_t pid, enum id_kind kind, uint32_t own_id) {
        char line[32];
        int r;

        /* Without CAP_SETGID in the parent namespace the kernel requires setgroups to be denied
         * before an unprivileged process may write gid_map. */
        if (kind == ID_KIND_GID) {
                r = write_proc_file(pid, "setgroups", "deny");
                if (r < 0)
                        return r;
        }
        snprintf(line, sizeof(line), "0 %" PRIu32 " 1\n", own_id);
        return write_proc_file(pid, kind == ID_KIND_UID ? "uid_map" : "gid_map", line);
}

static bool no_new_privs_set(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "NoNewPrivs:", 11) == 0)
                        return atoi(line + 11) == 1;
        return false;
}

/* After the helper for KIND (r: its result, or 1 when the mapping has no subordinate range):
 * on anything but success, the warning that says why, and the single-id map. */
static int finish_kind(pid_t pid, enum id_kind kind, const struct id_mapping *mapping, const char *user,
                       int r, bool *ret_full) {
        const char *helper = kind == ID_KIND_UID ? "newuidmap" : "newgidmap";
        uint32_t own_id = mapping->extents[0].outer;

        *ret_full = r == 0;
        if (r == 0)
                return 0;
        if (mapping->n_extents <= 1)
                log_warning("no subordinate %ss for \"%s\" in %s: the node maps only your own %s, so "
                            "containers that switch users will fail; add a range with: sudo usermod "
                            "--add-sub%ss 100000-165535 %s",
                            id_kind_name(kind), user, idmap_subid_file(kind), id_kind_name(kind),
                            id_kind_name(kind), user);
        else if (r == -ENOENT)
                log_warning("%s is not installed: the node maps only your own %s; install it with: sudo "
                            "apt-get install uidmap",
                            helper, id_kind_name(kind));
        else if (r < 0)
                log_warning_errno(r, "could not run %s (%m): the node maps only your own %s", helper,
                                  id_kind_name(kind));
        else if (no_new_privs_set())
                log_warning("%s failed because this session has no_new_privs set, which disables setuid "
                            "helpers: the node maps only your own %s; run usernode outside that sandbox",
                            helper, id_kind_name(kind));
        else
                log_warning("%s failed (exit status %d, see its message above): the node maps only your "
                            "own %s; check that %s is setuid root and the ranges in %s",
                            helper, r, id_kind_name(kind), helper, idmap_subid_file(kind));
        return write_single_id_map(pid, kind, own_id);
}

int idmap_apply(pid_t pid, const struct id_mapping *uids, const struct id_mapping *gids, const char *user,
                bool *ret_full_uids, bool *ret_full_gids) {
        const struct id_mapping *mappings[2] = { uids, gids };
        const enum id_kind kinds[2] = { ID_KIND_UID, ID_KIND_GID };
        bool *full[2] = { ret_full_uids, ret_full_gids };
        struct map_helper helpers[2] = { { .exec_error = -EBADF }, { .exec_error = -EBADF } };
        int results[2] = { 1, 1 };
        int r = 0;

        /* Both helpers at once: each is a setuid exec, which costs tens of ms on a slow machine,
         * and they write different files of the process. */
        for (size_t i = 0; i < 2; i++)
                if (mappings[i]->n_extents > 1)
                        map_helper_start(pid, kinds[i], mappings[i], &helpers[i]);
        for (size_t i = 0; i < 2; i++)
                if (mappings[i]->n_extents > 1)
                        results[i] = map_helper_finish(&helpers[i]);
        for (size_t i = 0; i < 2 && r == 0; i++)
                r = finish_kind(pid, kinds[i], mappings[i], user, results[i], full[i]);
        return r;
}
