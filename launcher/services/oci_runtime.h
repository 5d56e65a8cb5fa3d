/* oci_runtime.h: the OCI runtime wrapper CRI-O runs in the node instead of crun (or runc).
 *
 * A small binary of its own (oci_runtime_main.c: libc and json-c only), embedded in usernode and
 * written by the launcher to STATE/oci-runtime/OCI_RUNTIME_WRAPPER_NAME beside a symlink `runtime`
 * to the real runtime; crio.conf's runtime_path names the wrapper. The usernode binary run by that
 * name is the same wrapper. On `create` (and `run`) it gives the bundle's config.json back
 * what _CRIO_ROOTLESS=1 took away (oci_spec_fixup.h), then execs the real runtime with the same
 * arguments; every other command goes straight through. It prints nothing on success: conmon
 * hands the runtime's stderr on to the container's log. */
#pragma once

#include <stdbool.h>

#define OCI_RUNTIME_WRAPPER_NAME "usernode-oci-runtime"
#define OCI_RUNTIME_DIR "oci-runtime"

/* Whether argv[0] names the wrapper (its last component is OCI_RUNTIME_WRAPPER_NAME). */
bool oci_runtime_wrapper_invoked(const char *argv0);

/* The wrapper's main: returns only on failure (1: the bundle could not be fixed, 127: the real
 * runtime could not be executed). */
int oci_runtime_wrapper_main(int argc, char **argv);

/* Creates STATE/oci-runtime/ with the wrapper (the embedded binary, written when what is there
 * differs) and `runtime` (a symlink to runtime_path), replacing older ones, and returns the
 * wrapper's path (oci_runtime_install.c). Returns 0 or a negative errno, logged. */
int oci_runtime_wrapper_install(const char *state_dir, const char *runtime_path, char **ret);

/* For the runtime's command line argv: 1 when it is `create` or `run`, with the bundle directory
 * ("." unless --bundle/-b says otherwise) and the container id; 0 for every other command (and
 * for a create with its own --config, left alone). */
int oci_runtime_parse_create(int argc, char **argv, const char **ret_bundle, const char **ret_id);

/* The lowest oom_score_adj >= wanted this process may set for itself, found by trying
 * (/proc/self/oom_score_adj; lowering below what a privileged process once set needs
 * CAP_SYS_RESOURCE in the initial user namespace). On return the process has that value, so
 * what it runs inherits it. Returns 0 or a negative errno. */
int oom_score_lowest_allowed(int wanted, int *ret);
