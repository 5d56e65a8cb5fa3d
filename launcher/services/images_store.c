/* images_store.c: the node's side of images.h: skopeo into the node's containers-storage, the
 * DATA/images/ import at start, and the list of what the storage holds. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/services/images.h"

/* containers/storage's list of images; a node with thousands of images still fits. */
#define IMAGES_JSON_MAX (64u * 1024 * 1024)
#define IMPORTED_STAMP ".imported"

int images_storage_spec(const struct node_settings *s, const struct host_tools *t, char **ret) {
        _cleanup_free_ char *options = NULL;

        /* skopeo splits the spec at '+', ':' and ']': such paths cannot be said in it. */
        if (strpbrk(s->data_dir, "+:]@") || strpbrk(s->state_dir, "+:]@"))
                return log_error_errno(EINVAL,
                                       "the node's data or state dir (%s, %s) holds one of + : ] @, which "
                                       "skopeo's containers-storage reference cannot carry",
                                       s->data_dir, s->state_dir);
        if (t->fuse_overlayfs && asprintf(&options, ":overlay.mount_program=%s", t->fuse_overlayfs) < 0)
                return -ENOMEM;
        /* The same root, runroot and driver crio.conf names (render_crio.c). */
        if (asprintf(ret, "[overlay@%s/containers/storage+%s/containers/storage%s]", s->data_dir,
                     s->state_dir, options ?: "") < 0)
                return -ENOMEM;
        return 0;
}

int images_copy(char *const *prefix, const char *skopeo, const char *spec, const struct image_ref *ref) {
        _cleanup_free_ char *dest = NULL;
        size_t n_prefix = 0;

        if (asprintf(&dest, "containers-storage:%s%s", spec, ref->name) < 0)
                return -ENOMEM;
        while (prefix && prefix[n_prefix])
                n_prefix++;
        _cleanup_free_ char **argv = calloc(n_prefix + 8, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n_prefix; i++)
                argv[k++] = prefix[i];
        /* The images are the user's own files: no signatures to check, whatever the host's
         * /etc/containers/policy.json says (or that it is missing). */
        const char *rest[] = { skopeo, "--insecure-policy", "copy", "--quiet", ref->source, dest };
        for (size_t i = 0; i < ELEMENTSOF(rest); i++)
                argv[k++] = (char *)rest[i];

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "cannot fork: %m");
        if (pid == 0) {
                execvp(argv[0], argv);
                log_error_errno(errno, "cannot execute %s: %m", argv[0]);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(EIO, "skopeo could not copy %s into the node as %s (%s %d)",
                                       ref->source, ref->name, WIFEXITED(status) ? "exit status" : "signal",
                                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return 0;
}

/* "NAME<TAB>SIZE<TAB>MTIME": changes when the entry (for a directory: its index.json) does. */
static char *import_key(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        char *key = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0 || stat(path, &st) < 0)
                return NULL;
        if (S_ISDIR(st.st_mode)) {
                free(path);
                if (asprintf(&path, "%s/%s/index.json", dir, name) < 0 || stat(path, &st) < 0)
                        return NULL;
        }
        if (asprintf(&key, "%s\t%lld\t%lld.%09ld\n", name, (long long)st.st_size,
                     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0)
                return NULL;
        return key;
}

static bool stamp_has(const char *stamp, const char *key) {
        size_t n = strlen(key);
        for (const char *p = stamp; p && *p;) {
                if (strncmp(p, key, n) == 0)
                        return true;
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

static void stamp_add(const char *dir, const char *key) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, IMPORTED_STAMP) < 0)
                return;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || write(fd, key, strlen(key)) != (ssize_t)strlen(key))
                log_warning_errno(errno, "cannot record the import in %s (it is done again next start): %m",
                                  path);
}

static int import_one(const char *dir, const char *name, const char *skopeo, const char *spec) {
        _cleanup_free_ char *path = NULL;
        struct image_source src;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = image_source_read(path, NULL, &src);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < src.n_refs; i++) {
                r = images_copy(NULL, skopeo, spec, &src.refs[i]);
                if (r >= 0)
                        log_info("images: %s imported from %s", src.refs[i].name, path);
        }
        image_source_done(&src);
        return r;
}

void images_import_dir(const struct node_settings *s, const struct host_tools *t) {
        _cleanup_free_ char *dir = NULL, *skopeo = NULL, *spec = NULL, *stamp = NULL;
        struct dirent **names = NULL;

        if (asprintf(&dir, "%s/images", s->data_dir) < 0)
                return;
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return; /* no DATA/images: nothing to do */
        bool any = false;
        for (int i = 0; i < n; i++)
                any |= names[i]->d_name[0] != '.';
        if (any && find_executable("skopeo", &skopeo) < 0)
                log_warning("images: %s is not imported: skopeo is not on PATH (Debian: apt install skopeo)",
                            dir);
        else if (any && images_storage_spec(s, t, &spec) >= 0) {
                (void)images_read_file(dir, IMPORTED_STAMP, IMAGES_JSON_MAX, &stamp);
                for (int i = 0; i < n; i++) {
                        if (names[i]->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *key = import_key(dir, names[i]->d_name);
                        if (!key || stamp_has(stamp, key))
                                continue;
                        if (import_one(dir, names[i]->d_name, skopeo, spec) >= 0)
                                stamp_add(dir, key);
                        else
                                log_warning("images: %s/%s not imported; the node starts without it", dir,
                                            names[i]->d_name);
                }
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

int images_list(const char *storage_root, json_object **ret) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        json_object *list = json_object_new_array();
        int r;

        if (!list || asprintf(&dir, "%s/overlay-images", storage_root) < 0) {
                json_object_put(list);
                return -ENOMEM;
        }
        r = images_read_file(dir, "images.json", IMAGES_JSON_MAX, &text);
        if (r == -ENOENT) {
                *ret = list;
                return 0;
        }
        json_object *all = r >= 0 ? json_tokener_parse(text) : NULL;
        if (r >= 0 && (!all || !json_object_is_type(all, json_type_array)))
                r = -EBADMSG;
        size_t n = r >= 0 ? json_object_array_length(all) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *image = json_object_array_get_idx(all, i), *v, *out = json_object_new_object();
                if (!out) {
                        r = -ENOMEM;
                        break;
                }
                static const char *const keys[] = { "id", "names", "created" };
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        if (json_object_object_get_ex(image, keys[k], &v))
                                json_object_object_add(out, keys[k], json_object_get(v));
                json_object_array_add(list, out);
        }
        json_object_put(all);
        if (r < 0) {
                json_object_put(list);
                return r;
        }
        *ret = list;
        return 0;
}
