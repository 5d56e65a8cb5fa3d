/* embedded_files.c: files of configs/ carried inside the binary, so an installed usernode needs
 * nothing beside it. The Makefile makes this object depend on the files in configs/.
 *
 * Each file is followed by a NUL byte so it can be used as a C string. The default INI file is
 * reached through config_default_ini() (config.c), the templates through embedded_file(). */
#include "launcher/config/embedded_files.h"

#include <string.h>

#include "common/macro.h"

#define EMBED_FILE(sym, file)                                   \
        __asm__(".pushsection .rodata\n"                        \
                ".balign 16\n"                                  \
                ".globl " #sym "_start\n"                       \
                ".hidden " #sym "_start\n"                      \
                ".globl " #sym "_end\n"                         \
                ".hidden " #sym "_end\n" #sym "_start:\n"       \
                ".incbin \"configs/" file "\"\n" #sym "_end:\n" \
                ".byte 0\n"                                     \
                ".popsection\n");                               \
        extern const char sym##_start[], sym##_end[]

EMBED_FILE(embedded_crio_conf, "crio.conf.in");
EMBED_FILE(embedded_kubelet_yaml, "kubelet.yaml.in");
EMBED_FILE(embedded_cni_conflist, "cni-bridge.conflist.in");
EMBED_FILE(embedded_policy_json, "policy.json");
EMBED_FILE(embedded_registries_conf, "registries.conf.in");
EMBED_FILE(embedded_kube_proxy_yaml, "kube-proxy.yaml.in");

static const struct {
        const char *name;
        const char *start;
        const char *end;
} files[] = {
        { "crio.conf.in", embedded_crio_conf_start, embedded_crio_conf_end },
        { "kubelet.yaml.in", embedded_kubelet_yaml_start, embedded_kubelet_yaml_end },
        { "cni-bridge.conflist.in", embedded_cni_conflist_start, embedded_cni_conflist_end },
        { "policy.json", embedded_policy_json_start, embedded_policy_json_end },
        { "registries.conf.in", embedded_registries_conf_start, embedded_registries_conf_end },
        { "kube-proxy.yaml.in", embedded_kube_proxy_yaml_start, embedded_kube_proxy_yaml_end },
};

const char *embedded_file(const char *name, size_t *size) {
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (strcmp(files[i].name, name) == 0) {
                        if (size)
                                *size = (size_t)(files[i].end - files[i].start);
                        return files[i].start;
                }
        return NULL;
}

/* clang-format off */
__asm__(".section .rodata\n"
        ".global embedded_default_ini\n"
        ".type embedded_default_ini, @object\n"
        "embedded_default_ini:\n"
        ".incbin \"configs/usernode.ini\"\n"
        ".byte 0\n"
        ".previous\n");
/* clang-format on */
