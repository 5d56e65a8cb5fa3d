/* oci_spec_fixup.c: see oci_spec_fixup.h. */
#include "launcher/services/oci_spec_fixup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *oci_spec_annotation(json_object *spec, const char *key) {
        json_object *annotations, *value;
        if (!json_object_object_get_ex(spec, "annotations", &annotations) ||
            !json_object_is_type(annotations, json_type_object) ||
            !json_object_object_get_ex(annotations, key, &value) ||
            !json_object_is_type(value, json_type_string))
                return NULL;
        return json_object_get_string(value);
}

bool oci_spec_is_sandbox(json_object *spec) {
        const char *type = oci_spec_annotation(spec, CRIO_ANNOTATION_CONTAINER_TYPE);
        return type && strcmp(type, "sandbox") == 0;
}

bool oci_cgroup_parent_valid(const char *parent) {
        if (!parent || parent[0] != '/' || strlen(parent) > 4096)
                return false;
        for (const char *p = parent + 1; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                /* cgroupfs never gets a systemd slice from kubelet; CRI-O refuses one too. */
                if (n >= 6 && p[n] == '\0' && strncmp(p + n - 6, ".slice", 6) == 0)
                        return false;
                p += n;
                if (*p == '/')
                        p++;
        }
        return true;
}

/* A container id as CRI-O makes them (64 hex digits); anything that could leave the cgroup it
 * is joined to is refused. */
static bool container_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;
        return n > 0 && n <= 128 && strcmp(id, ".") != 0 && strcmp(id, "..") != 0 &&
               strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The last component of `path` into `last` and the one before into `before` ("" when none). */
static void last_two_components(const char *path, char last[256], char before[256]) {
        const char *end = path + strlen(path), *slash;
        last[0] = before[0] = '\0';
        while (end > path && end[-1] == '/')
                end--;
        for (slash = end; slash > path && slash[-1] != '/'; slash--)
                ;
        snprintf(last, 256, "%.*s", (int)(end - slash), slash);
        if (slash == path)
                return;
        end = slash - 1;
        for (slash = end; slash > path && slash[-1] != '/'; slash--)
                ;
        snprintf(before, 256, "%.*s", (int)(end - slash), slash);
}

int oci_qos_oom_score(const char *parent, bool sandbox, int *ret) {
        char last[256], before[256];

        if (!oci_cgroup_parent_valid(parent))
                return 0;
        last_two_components(parent, last, before);
        if (strncmp(last, "pod", 3) != 0)
                return 0;
        if (sandbox) {
                *ret = OOM_SCORE_POD_INFRA;
                return 1;
        }
        if (strcmp(before, "besteffort") == 0) {
                *ret = OOM_SCORE_BEST_EFFORT;
                return 1;
        }
        if (strcmp(before, "burstable") == 0)
                return 0;
        *ret = OOM_SCORE_GUARANTEED;
        return 1;
}

/* obj[key] when it is an object, else NULL. */
static json_object *child_object(json_object *obj, const char *key) {
        json_object *child;
        if (json_object_object_get_ex(obj, key, &child))
                return json_object_is_type(child, json_type_object) ? child : NULL;
        return NULL;
}

int oci_spec_fixup(json_object *spec, const struct oci_fixup *fix, bool *changed) {
        json_object *process = child_object(spec, "process"), *linux_ = child_object(spec, "linux"), *path;

        *changed = false;
        if (!process || !linux_)
                return -EINVAL;

        if (fix->cgroup_parent && fix->cgroup_parent[0]) {
                if (!oci_cgroup_parent_valid(fix->cgroup_parent) || !container_id_valid(fix->container_id))
                        return -EINVAL;
                bool empty = !json_object_object_get_ex(linux_, "cgroupsPath", &path) ||
                             !json_object_is_type(path, json_type_string) ||
                             json_object_get_string_len(path) == 0;
                if (empty) {
                        char *value = NULL;
                        /* CRI-O's cgroupfs manager: ContainerCgroupPath and SandboxCgroupPath. */
                        if (asprintf(&value, "%s%scrio-%s", fix->cgroup_parent,
                                     fix->cgroup_parent[strlen(fix->cgroup_parent) - 1] == '/' ? "" : "/",
                                     fix->container_id) < 0)
                                return -ENOMEM;
                        json_object *s = json_object_new_string(value);
                        free(value);
                        if (!s || json_object_object_add(linux_, "cgroupsPath", s) < 0) {
                                json_object_put(s);
                                return -ENOMEM;
                        }
                        *changed = true;
                }
        }

        if (fix->have_oom_score) {
                json_object *old, *n;
                if (json_object_object_get_ex(process, "oomScoreAdj", &old) &&
                    json_object_is_type(old, json_type_int) && json_object_get_int(old) == fix->oom_score)
                        return 0;
                n = json_object_new_int(fix->oom_score);
                if (!n || json_object_object_add(process, "oomScoreAdj", n) < 0) {
                        json_object_put(n);
                        return -ENOMEM;
                }
                *changed = true;
        }
        return 0;
}
