/* images.c: what a tarball or OCI layout holds and the names its images get (images.h). */
#include "launcher/services/images.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"

/* manifest.json and index.json list a few images; anything bigger is not one of them. */
#define IMAGE_INDEX_MAX (1024u * 1024)

static bool ends_with(const char *s, size_t len, const char *suffix) {
        size_t n = strlen(suffix);
        return len > n && strncmp(s + len - n, suffix, n) == 0;
}

char *image_stem(const char *path, const char *tag) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t len = strlen(base);
        static const char *const suffixes[] = { ".tar", ".oci", "-oci" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (ends_with(base, len, suffixes[i]))
                        len -= strlen(suffixes[i]);
        if (tag && tag[0] && len > strlen(tag) + 1 && base[len - strlen(tag) - 1] == '-' &&
            strncmp(base + len - strlen(tag), tag, strlen(tag)) == 0)
                len -= strlen(tag) + 1;
        char *stem = strndup(base, len ? len : 1);
        if (!stem)
                return NULL;
        if (!len)
                stem[0] = 'x';
        for (char *p = stem; *p; p++) {
                *p = (char)tolower((unsigned char)*p);
                if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '.' && *p != '_' &&
                    *p != '-')
                        *p = '-';
        }
        return stem;
}

static int add_ref(struct image_source *src, const char *in_source, const char *name) {
        const char *transport = src->kind == IMAGE_DOCKER_ARCHIVE ? "docker-archive"
                                : src->kind == IMAGE_OCI_ARCHIVE  ? "oci-archive"
                                                                  : "oci";
        struct image_ref *grown = realloc(src->refs, (src->n_refs + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        src->refs = grown;
        struct image_ref *r = &src->refs[src->n_refs];
        *r = (struct image_ref){};
        if (asprintf(&r->source, "%s:%s%s%s", transport, src->path, in_source ? ":" : "", in_source ?: "") <
            0) {
                r->source = NULL;
                return -ENOMEM;
        }
        r->name = strdup(name);
        if (!r->name) {
                free(r->source);
                return -ENOMEM;
        }
        src->n_refs++;
        return 0;
}

static int add_default_ref(struct image_source *src, const char *in_source, const char *tag) {
        _cleanup_free_ char *stem = image_stem(src->path, tag), *name = NULL;
        if (!stem || asprintf(&name, "localhost/%s:%s", stem, tag) < 0)
                return -ENOMEM;
        return add_ref(src, in_source, name);
}

static const char *string_member(json_object *obj, const char *key) {
        json_object *v;
        if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *parse_text(const char *text, json_type type) {
        json_object *root = json_tokener_parse(text);
        if (root && !json_object_is_type(root, type)) {
                json_object_put(root);
                return NULL;
        }
        return root;
}

int image_refs_from_docker_manifest(const char *text, struct image_source *src) {
        json_object *root = parse_text(text, json_type_array);
        int r = 0;
        if (!root)
                return -EBADMSG;
        size_t n = json_object_array_length(root);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *entry = json_object_array_get_idx(root, i), *tags;
                size_t n_tags = 0;
                if (json_object_object_get_ex(entry, "RepoTags", &tags) &&
                    json_object_is_type(tags, json_type_array))
                        n_tags = json_object_array_length(tags);
                for (size_t k = 0; r >= 0 && k < n_tags; k++) {
                        json_object *tag = json_object_array_get_idx(tags, k);
                        if (json_object_is_type(tag, json_type_string))
                                r = add_ref(src, json_object_get_string(tag), json_object_get_string(tag));
                }
                if (r >= 0 && n_tags == 0) {
                        char index[32];
                        snprintf(index, sizeof(index), "@%zu", i);
                        r = add_default_ref(src, index, "latest");
                }
        }
        json_object_put(root);
        return r;
}

int image_refs_from_oci_index(const char *text, struct image_source *src) {
        json_object *root = parse_text(text, json_type_object), *manifests;
        int r = 0;
        if (!root)
                return -EBADMSG;
        if (!json_object_object_get_ex(root, "manifests", &manifests) ||
            !json_object_is_type(manifests, json_type_array)) {
                json_object_put(root);
                return -EBADMSG;
        }
        size_t n = json_object_array_length(manifests);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *m = json_object_array_get_idx(manifests, i), *annotations = NULL;
                (void)json_object_object_get_ex(m, "annotations", &annotations);
                const char *ref = string_member(annotations, "org.opencontainers.image.ref.name");
                const char *full = string_member(annotations, "io.containerd.image.name");
                if (!ref && n > 1)
                        continue; /* skopeo 1.9 cannot pick an unnamed one among several */
                if (full && full[0])
                        r = add_ref(src, ref, full);
                else if (ref && strchr(ref, '/'))
                        r = add_ref(src, ref, ref);
                else
                        r = add_default_ref(src, ref, ref ?: "latest");
        }
        json_object_put(root);
        return r;
}

int images_read_file(const char *dir, const char *name, size_t max, char **ret) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
                return -EFBIG;
        buf = calloc(1, (size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

/* tar(1) extracts the archive's manifest.json / index.json into `into` (what it does not find it
 * leaves out, exiting 2: that is fine). Returns 0 or a negative errno when tar did not run. */
static int extract_indexes(const char *archive, const char *into) {
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execlp("tar", "tar", "-x", "-f", archive, "-C", into, "--no-same-owner",
                       "--no-same-permissions", "--wildcards", "manifest.json", "./manifest.json",
                       "index.json", "./index.json", (char *)NULL);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOEXEC;
        return 0;
}

static int read_archive(struct image_source *src) {
        char tmp[] = "/tmp/usernode-image-XXXXXX";
        _cleanup_free_ char *manifest = NULL, *index = NULL;
        int r;

        if (!mkdtemp(tmp))
                return log_error_errno(errno, "cannot make a temporary directory: %m");
        r = extract_indexes(src->path, tmp);
        if (r >= 0) {
                (void)images_read_file(tmp, "manifest.json", IMAGE_INDEX_MAX, &manifest);
                (void)images_read_file(tmp, "index.json", IMAGE_INDEX_MAX, &index);
        }
        char path[sizeof(tmp) + 32];
        snprintf(path, sizeof(path), "%s/manifest.json", tmp);
        (void)unlink(path);
        snprintf(path, sizeof(path), "%s/index.json", tmp);
        (void)unlink(path);
        (void)rmdir(tmp);
        if (r < 0)
                return log_error_errno(r, "%s: cannot run tar to read it: %m", src->path);
        if (manifest) {
                src->kind = IMAGE_DOCKER_ARCHIVE;
                r = image_refs_from_docker_manifest(manifest, src);
        } else if (index) {
                src->kind = IMAGE_OCI_ARCHIVE;
                r = image_refs_from_oci_index(index, src);
        } else
                return log_error_errno(EINVAL,
                                       "%s: not an image archive (no manifest.json or index.json in it); "
                                       "give a docker-archive or oci-archive tar or an OCI layout directory",
                                       src->path);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read its image list: %m", src->path);
        return 0;
}

static int access_oci_layout(const char *dir) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/oci-layout", dir) < 0)
                return -ENOMEM;
        return access(path, R_OK) < 0 ? negative_errno() : 0;
}

int image_source_read(const char *path, const char *name_override, struct image_source *ret) {
        struct image_source src = { .path = realpath(path, NULL) };
        struct stat st;
        int r;

        if (!src.path || stat(src.path, &st) < 0)
                return log_error_errno(errno, "%s: %m", path);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *index = NULL;
                src.kind = IMAGE_OCI_DIR;
                r = images_read_file(src.path, "index.json", IMAGE_INDEX_MAX, &index);
                if (r < 0 || access_oci_layout(src.path) < 0) {
                        image_source_done(&src);
                        return log_error_errno(
                                EINVAL, "%s: not an OCI layout directory (needs oci-layout and index.json)",
                                path);
                }
                r = image_refs_from_oci_index(index, &src);
                if (r < 0)
                        log_error_errno(r, "%s/index.json: %m", path);
        } else if (S_ISREG(st.st_mode))
                r = read_archive(&src);
        else
                r = log_error_errno(EINVAL, "%s: neither a file nor a directory", path);
        if (r >= 0 && src.n_refs == 0)
                r = log_error_errno(ENOENT, "%s: lists no image skopeo can name", path);
        if (r >= 0 && name_override) {
                if (src.n_refs > 1)
                        r = log_error_errno(EINVAL, "%s holds %zu images; --name names only one", path,
                                            src.n_refs);
                else {
                        free(src.refs[0].name);
                        src.refs[0].name = strdup(name_override);
                        if (!src.refs[0].name)
                                r = log_error_errno(ENOMEM, "%m");
                }
        }
        if (r < 0) {
                image_source_done(&src);
                return r;
        }
        *ret = src;
        return 0;
}

void image_source_done(struct image_source *s) {
        for (size_t i = 0; i < s->n_refs; i++) {
                free(s->refs[i].source);
                free(s->refs[i].name);
        }
        free(s->refs);
        free(s->path);
        *s = (struct image_source){};
}
