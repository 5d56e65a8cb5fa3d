/* embedded_programs.c: the programs usernode carries (launcher/config/embedded_programs.h),
 * .incbin'd into one section of their own; the Makefile builds them before this object and
 * passes their paths.
 *
 * Why one section, aligned to 64 KiB at both ends: a fault on a page of a file mapping makes the
 * kernel map the pages of the page cache around it as well ("fault-around", fault_around_bytes,
 * 64 KiB by default: the 64 KiB-aligned window of virtual addresses around the fault, within the
 * one mapping). A blob beside ordinary .rodata would so be mapped, a few dozen KiB at a time,
 * into every process that reads the .rodata next to it, and stay in its RSS: that was 264 KiB of
 * the launcher's and 312 of the node init's at idle. Aligned, no window around any other data
 * reaches a blob page (the kernel maps a PIE at an address aligned to its segments' p_align,
 * which the linker raises to this section's alignment). Together, the padding is paid twice, not
 * six times (less than 128 KiB of the binary; 21 KiB with the programs of today). Inside, the
 * blobs follow each other: a read of one may map the start of the next, which is why
 * embedded_programs_release() gives back the whole section rather than the one blob read. */
#include "launcher/config/embedded_programs.h"

#include <stdint.h>
#include <sys/mman.h>

/* clang-format off */
__asm__(".pushsection .rodata.embedded_programs, \"a\", @progbits\n"
        ".balign 65536\n"
        ".globl embedded_programs_start\n"
        ".hidden embedded_programs_start\n"
        ".globl embedded_programs_end\n"
        ".hidden embedded_programs_end\n"
        "embedded_programs_start:\n"
        ".globl engine_program_start\n"
        ".hidden engine_program_start\n"
        ".globl engine_program_end\n"
        ".hidden engine_program_end\n"
        "engine_program_start:\n"
        ".incbin \"" USERNODE_ENGINE_PROGRAM "\"\n"
        "engine_program_end:\n"
        ".balign 16\n"
        ".globl cluster_program_start\n"
        ".hidden cluster_program_start\n"
        ".globl cluster_program_end\n"
        ".hidden cluster_program_end\n"
        "cluster_program_start:\n"
        ".incbin \"" USERNODE_CLUSTER_PROGRAM "\"\n"
        "cluster_program_end:\n"
        ".balign 16\n"
        ".globl oci_wrapper_blob_start\n"
        ".hidden oci_wrapper_blob_start\n"
        ".globl oci_wrapper_blob_end\n"
        ".hidden oci_wrapper_blob_end\n"
        "oci_wrapper_blob_start:\n"
        ".incbin \"" USERNODE_OCI_WRAPPER "\"\n"
        "oci_wrapper_blob_end:\n"
        ".balign 65536\n"
        "embedded_programs_end:\n"
        ".popsection\n");
/* clang-format on */

void embedded_programs_release(void) {
        /* Through uintptr_t: labels, not C objects. Both ends are page-aligned (64 KiB in the
         * file, the load address a multiple of a page at least). */
        uintptr_t s = (uintptr_t)embedded_programs_start, e = (uintptr_t)embedded_programs_end;

        /* MADV_DONTNEED on a private file mapping also throws away a page the process wrote to
         * (its copy-on-write copy): safe only on pages never written. These are .rodata, mapped
         * read-only, so each is the page cache's own, and a later read faults the same bytes in
         * again. */
        (void)madvise((void *)s, e - s, MADV_DONTNEED);
}
