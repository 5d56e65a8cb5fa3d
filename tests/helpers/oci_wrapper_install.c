/* oci_wrapper_install.c: what `usernode run` does for the OCI runtime wrapper, alone.
 *
 *   oci_wrapper_install STATE RUNTIME
 *
 * Writes the embedded wrapper binary to STATE/oci-runtime/usernode-oci-runtime and links
 * STATE/oci-runtime/runtime to RUNTIME (oci_runtime_wrapper_install), then prints the wrapper's
 * path. Exit status 0, or 1 with the error on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include "launcher/services/oci_runtime.h"

int main(int argc, char **argv) {
        char *path = NULL;

        if (argc != 3) {
                fprintf(stderr, "usage: oci_wrapper_install STATE RUNTIME\n");
                return 2;
        }
        if (oci_runtime_wrapper_install(argv[1], argv[2], &path) < 0)
                return 1;
        printf("%s\n", path);
        free(path);
        return 0;
}
