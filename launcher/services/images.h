/* images.h: images without a registry: docker-archive and oci-archive tarballs and OCI layout
 * directories copied into the node's containers-storage with skopeo, as air-gapped nodes need
 * (k3s: agent/images).
 *
 * skopeo runs in the node's namespaces: the storage's files belong to the node's subordinate ids,
 * which only the node's user namespace can create. `usernode images load` gets there through
 * `usernode exec`; DATA/images/ is imported by the node init itself before crio starts. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "launcher/services/host_tools.h"
#include "launcher/services/node_settings.h"

enum image_kind {
        IMAGE_DOCKER_ARCHIVE, /* docker save: manifest.json with RepoTags */
        IMAGE_OCI_ARCHIVE, /* a tar of an OCI layout: oci-layout, index.json, blobs/ */
        IMAGE_OCI_DIR, /* an OCI layout directory */
};

/* One image of a source: how skopeo names it there, and the name it gets in the node. */
struct image_ref {
        char *source; /* skopeo's source reference, e.g. "oci:/abs/dir:3.10" */
        char *name; /* e.g. "localhost/pause:3.10" or "busybox:latest" */
};

struct image_source {
        char *path; /* absolute */
        enum image_kind kind;
        struct image_ref *refs;
        size_t n_refs;
};

/* The repository part of a default name: the file or directory name without .tar, .oci, -oci,
 * and without a trailing -TAG (so pause-3.10-oci with tag 3.10 is "pause"), lowercased, any
 * character a repository may not hold made '-'. Returns a new string or NULL. */
char *image_stem(const char *path, const char *tag);

/* The images listed by a docker-archive's manifest.json (text), for the archive at `path`; an
 * entry without RepoTags becomes localhost/STEM:latest. Appends to *src. Returns 0, -EBADMSG or
 * -ENOMEM. */
int image_refs_from_docker_manifest(const char *text, struct image_source *src);

/* The images listed by an OCI layout's index.json (text). Name: the io.containerd.image.name
 * annotation, else a ref.name that is a whole reference (holds a '/'), else localhost/STEM:REF;
 * a manifest without ref.name only when it is the only one (localhost/STEM:latest). Appends to
 * *src. Returns 0, -EBADMSG or -ENOMEM. */
int image_refs_from_oci_index(const char *text, struct image_source *src);

/* Looks at `path` (a directory with oci-layout, or a tar holding manifest.json or index.json,
 * read with tar(1)) and lists its images; name_override, if set, names the only image. Logs
 * what is wrong (not an image, several images with one --name) and returns a negative errno. */
int image_source_read(const char *path, const char *name_override, struct image_source *ret);
void image_source_done(struct image_source *s);

/* The file dir/name, at most `max` bytes, as a string. Returns 0, -EFBIG, or a negative errno
 * (-ENOENT when missing). */
int images_read_file(const char *dir, const char *name, size_t max, char **ret);

/* skopeo's destination for the node's storage, "[overlay@ROOT+RUNROOT:OPTIONS]" (crio.conf's
 * root, runroot and storage options), to which the image's name is appended. */
int images_storage_spec(const struct node_settings *s, const struct host_tools *t, char **ret);

/* Runs `[prefix...] skopeo --insecure-policy copy --quiet SOURCE containers-storage:SPECNAME` and
 * waits for it; prefix (NULL-terminated, may be NULL) is how to get into the node, e.g.
 * `usernode exec --node N --`. Returns 0, or a negative errno with skopeo's failure logged. */
int images_copy(char *const *prefix, const char *skopeo, const char *spec, const struct image_ref *ref);

/* DATA/images/: every entry not imported before (DATA/images/.imported records name, size and
 * mtime) copied into the storage. Run by the node init before crio starts; failures are warnings:
 * the node starts anyway. */
void images_import_dir(const struct node_settings *s, const struct host_tools *t);

/* The images in the storage at `storage_root` (DATA/containers/storage), from containers/storage's
 * overlay-images/images.json, as a JSON array of {id, names, created}. No storage yet: an empty
 * array. Returns 0 or a negative errno. */
int images_list(const char *storage_root, json_object **ret);
