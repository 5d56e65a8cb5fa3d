/* oci_runtime_main.c: main() of usernode-oci-runtime, the small OCI runtime wrapper binary.
 *
 * CRI-O and conmon run the OCI runtime several times for every container (create, start, state,
 * kill, delete), each a fresh process: this one links only libc and json-c, statically when it
 * can, so its start costs what crun's does and not what loading the whole usernode binary with
 * its libraries costs. usernode carries it embedded (oci_runtime_install.c). */
#include "launcher/services/oci_runtime.h"

int main(int argc, char **argv) {
        return oci_runtime_wrapper_main(argc, argv);
}
