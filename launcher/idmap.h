/* idmap.h: the node's uid/gid maps: inner 0 is the user, inner 1.. are the user's subordinate ids.
 *
 * Ranges come from libsubid (which reads /etc/subuid and /etc/subgid, or whatever nsswitch says),
 * asked in a short-lived child that opens it (idmap_libsubid.c), falling back to parsing the files
 * when it is not installed or fails; the maps are written by the distribution's setuid
 * newuidmap/newgidmap, the only privileged code a node ever needs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The kernel accepts at most 340 lines in a map. */
#define IDMAP_EXTENTS_MAX 340

enum id_kind { ID_KIND_UID, ID_KIND_GID };

struct id_range {
        uint32_t start;
        uint32_t count;
};

struct id_extent {
        uint32_t inner;
        uint32_t outer;
        uint32_t count;
};

struct id_mapping {
        struct id_extent extents[IDMAP_EXTENTS_MAX];
        size_t n_extents;
};

/* "/etc/subuid" or "/etc/subgid": named in messages so users know which file to fix. */
const char *idmap_subid_file(enum id_kind kind);

/* Ranges of FILE whose owner is `user` or the decimal `id`, in file order. *ret_ranges is
 * malloc'ed. Malformed lines are skipped with a warning naming file and line. Returns the count. */
int idmap_parse_subid_file(FILE *file, const char *file_name, const char *user, uint32_t id,
                           struct id_range **ret_ranges);

/* Ranges of the user from libsubid, or from the file when libsubid is missing or cannot answer.
 * Forks: call it before any thread starts. */
int idmap_lookup_subids(enum id_kind kind, const char *user, uint32_t id, struct id_range **ret_ranges);

/* The most ranges one libsubid answer may hold (both owners together): far more than a map can
 * use (IDMAP_EXTENTS_MAX lines, adjacent ranges joining), so only a broken source reaches it. */
#define IDMAP_LIBSUBID_RANGES_MAX 65536

/* The answer of the libsubid child (idmap_libsubid.c) from FD up to end of file: struct id_range
 * records, each non-empty and within 32 bits. Returns their count (*ret_ranges malloc'ed), or
 * -EBADMSG for a cut or invalid record, -E2BIG past IDMAP_LIBSUBID_RANGES_MAX, -errno of read(2).
 * Public for the tests. */
int idmap_libsubid_read(int fd, struct id_range **ret_ranges);

/* inner 0 -> own id, then the ranges from inner 1 on, one after the other: the inner ids are
 * 0..idmap_size()-1 without a hole; a range adjacent on the host to the one before extends its
 * line. Ranges that contain the user's own id or overlap an earlier
 * one are skipped with a warning; beyond IDMAP_EXTENTS_MAX they are dropped. */
void idmap_build(uint32_t own_id, const struct id_range *ranges, size_t n_ranges, const char *user,
                 enum id_kind kind, struct id_mapping *ret);

/* useradd's SUB_UID_MIN default: subordinate ids start here on most hosts. */
#define IDMAP_FIRST_SUBID 100000

/* Where a new subordinate range could start for a usermod command in a message: above every
 * range of /etc/subuid and /etc/subgid, whoever owns it, rounded up to 65536, and not below
 * IDMAP_FIRST_SUBID. Ranges served by another nsswitch source are not seen. */
uint64_t idmap_free_subid_start(void);
/* The same from the given files (tests). */
uint64_t idmap_free_subid_start_in(const char *subuid_path, const char *subgid_path);

/* Total number of ids the mapping covers. */
uint64_t idmap_size(const struct id_mapping *mapping);

/* The mapping as kubelet's slice is chosen from (launcher/services/pod_userns.h). */
struct pod_userns_map;
void idmap_to_pod_userns_map(const struct id_mapping *mapping, struct pod_userns_map *ret);

/* Write the uid and gid maps of `pid`, each with newuidmap/newgidmap (run side by side) when it
 * has subordinate ranges; when it has none, or the helper is missing or refuses, map only the
 * user's own id and warn. *ret_full_uids and *ret_full_gids say which happened. Returns 0 or a
 * negative errno (only if even a single-id map fails). */
int idmap_apply(pid_t pid, const struct id_mapping *uids, const struct id_mapping *gids, const char *user,
                bool *ret_full_uids, bool *ret_full_gids);
