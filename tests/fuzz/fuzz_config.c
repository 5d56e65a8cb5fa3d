/* fuzz_config.c: libFuzzer target for the INI loader (launcher/config/config.c): the input is a
 * configuration file; whatever loads is read back through every typed view of the schema. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "launcher/config/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        log_set_level(LOG_LEVEL_ERROR);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config *config = NULL;
        char path[64];
        int fd = memfd_create("fuzz.ini", MFD_CLOEXEC);

        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t)size)
                abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (config_new(&config) < 0)
                abort();
        if (config_load_file(config, path, true) == 0) {
                const char **services = config_sections_with_prefix(config, "service:");
                free(services);
                (void)config_get(config, "network", "mode");
                (void)config_get_int(config, "network", "mtu");
                (void)config_get_bool(config, "network", "ipv6");
                (void)config_origin(config, "network", "mtu");
        }
        config_free(config);
        close(fd);
        return 0;
}
