/* engine_filter_gen.c: the slirp engine's seccomp filter, compiled at build time.
 *
 * The filter depends on nothing known only at run time, so libseccomp builds it here, once, and
 * the Makefile embeds the BPF program this writes in the engine (netns/engine_sandbox.c), which
 * then installs it with one prctl: the engine no longer maps libseccomp (issue 11; it was 128 KiB
 * of its idle RSS, all BIND_NOW relocations and text touched for one call at start).
 *
 *   engine-filter-gen OUTPUT      writes the raw BPF program (struct sock_filter[]) to OUTPUT
 *
 * This program is compiled by the engine's compiler with the engine's flags and linked with that
 * compiler's libseccomp, whose native architecture (seccomp_init() filters for it alone) is the
 * engine's. A cross compiler gives a program the build host cannot run, and the build stops there
 * (the Makefile says why) instead of embedding a filter for the wrong architecture. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"

/* Everything slirp needs (sockets, poll, read/write, timers) stays allowed; what a compromised
 * engine could use to escape or escalate fails with EPERM. The one list: the engine has none. */
static const char *const denied[] = {
        "execve",
        "execveat",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "init_module",
        "finit_module",
        "delete_module",
        "kexec_load",
        "kexec_file_load",
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsmount",
        "fsconfig",
        "fspick",
        "mount_setattr",
        "unshare",
        "setns",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "open_by_handle_at",
        "name_to_handle_at",
        "swapon",
        "swapoff",
        "reboot",
        "acct",
        "personality",
};

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static int fail(int error, const char *what) {
        fprintf(stderr, "engine-filter-gen: %s: %s\n", what, strerror(error));
        return EXIT_FAILURE;
}

int main(int argc, char **argv) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: engine-filter-gen OUTPUT\n");
                return 2;
        }
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return fail(ENOMEM, "seccomp_init");
        /* A call of a foreign architecture (i386 or x32 on x86_64) kills the engine: libseccomp's
         * default, set here so that a change of that default cannot change the filter. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL);
        if (r < 0)
                return fail(-r, "cannot set the bad-architecture action");
        for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
                int nr = seccomp_syscall_resolve_name(denied[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0) {
                        fprintf(stderr, "engine-filter-gen: cannot add a seccomp rule for %s: %s\n",
                                denied[i], strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return fail(errno, argv[1]);
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return fail(-r, "seccomp_export_bpf");
        if (close(TAKE_FD(fd)) < 0)
                return fail(errno, argv[1]);
        return EXIT_SUCCESS;
}
