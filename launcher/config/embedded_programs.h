/* embedded_programs.h: the three programs usernode carries inside its own binary, side by side in
 * one read-only section (launcher/config/embedded_programs.c): the slirp engine (launcher/engine_spawn.c)
 * and the cluster program (launcher/cluster_spawn.c), both exec'd from a memfd
 * (launcher/embedded_exec.h), and the OCI runtime wrapper, written out to a file
 * (launcher/services/oci_runtime_install.c). */
#pragma once

/* Each program's bytes, START..END: labels of the .incbin, not C objects (compare them only as
 * uintptr_t or as two ends of one blob). */
extern const char engine_program_start[], engine_program_end[];
extern const char cluster_program_start[], cluster_program_end[];
extern const char oci_wrapper_blob_start[], oci_wrapper_blob_end[];
/* The section holding the three, both ends aligned to 64 KiB (embedded_programs.c says why). */
extern const char embedded_programs_start[], embedded_programs_end[];

/* Gives back this process's pages of all three programs (MADV_DONTNEED on the whole section):
 * called by whoever has just read one of them, so that what a copy touched does not stay in the
 * process's memory. Never fails; reading a program afterwards still works (its pages come back
 * from the binary's file). */
void embedded_programs_release(void);
