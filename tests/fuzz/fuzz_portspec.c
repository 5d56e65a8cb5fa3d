/* fuzz_portspec.c: libFuzzer target for port specs (netns/portspec.c), as `-p` and `ports add`
 * take them: parse, and for what parses, format, parse the formatted text again (it must give
 * the same spec) and compute every address of its range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netns/portspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char text[256], error[256], formatted[PORTSPEC_STRING_MAX];
        struct port_spec spec, again;

        if (size >= sizeof(text))
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (portspec_parse(text, &spec, error, sizeof(error)) < 0)
                return 0;
        if (portspec_format(&spec, formatted, sizeof(formatted)) < 0)
                abort();
        if (portspec_parse(formatted, &again, error, sizeof(error)) < 0 || !portspec_overlaps(&spec, &again))
                abort(); /* what we print must read back as the same ports */
        for (unsigned i = 0; i < spec.count; i++) {
                struct sockaddr_storage host, node;
                (void)portspec_host_sockaddr(&spec, i, &host);
                (void)portspec_node_sockaddr(&spec, i, &node);
        }
        return 0;
}
