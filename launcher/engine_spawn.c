/* engine_spawn.c: the slirp engine program, embedded, copied into a memfd and exec'd from it.
 *
 * Between fork and exec the child only moves fds and calls async-signal-safe functions: the
 * launcher may have threads (the ports' workers), and a forked copy of a threaded process must
 * not take locks. */
#include "launcher/engine_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "netns/engine_exec.h"
#include "netns/slirp_engine.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd where vm.memfd_noexec is set */
#endif

/* The program, page-aligned so its pages can be given back once copied (the Makefile makes this
 * object depend on the file and passes its path). */
__asm__(".pushsection .rodata\n"
        ".balign 4096\n"
        ".globl engine_program_start\n"
        ".hidden engine_program_start\n"
        ".globl engine_program_end\n"
        ".hidden engine_program_end\n"
        "engine_program_start:\n"
        ".incbin \"" USERNODE_ENGINE_PROGRAM "\"\n"
        "engine_program_end:\n"
        ".balign 4096\n"
        ".popsection\n");
extern const char engine_program_start[], engine_program_end[];

int engine_program_open(void) {
        _cleanup_close_ int fd = -EBADF;
        /* Bounds of one blob, through uintptr_t: they are labels, not C objects. */
        uintptr_t start = (uintptr_t)engine_program_start, end = (uintptr_t)engine_program_end;

        fd = memfd_create(SLIRP_ENGINE_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) /* before Linux 6.3: every memfd is executable */
                fd = memfd_create(SLIRP_ENGINE_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        int r = fd_write_all(fd, engine_program_start, end - start);
        if (r < 0)
                return r;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        /* Read once: its pages need not stay in the launcher's memory (they are the binary's,
         * read again from it should anything touch them). */
        (void)madvise((void *)engine_program_start, (end - start) & ~(uintptr_t)4095, MADV_DONTNEED);
        return TAKE_FD(fd);
}

#define ENGINE_EXEC_PROGRAM_FD (ENGINE_EXEC_TCP6_FD + 1)

/* The engine's environment: none of the launcher's, only what sanitizer builds and glib's debug
 * output (libslirp logs through it) read. */
static const char *const engine_env_names[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                                "G_MESSAGES_DEBUG" };

/* In the child: `fd` out of the way of the fds the program is given (at or above `floor`). */
static int lift_fd(int fd, int floor) {
        return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, floor);
}

pid_t engine_spawn(int program_fd, const struct network_options *options, int tap_fd,
                   const int tcp_listen[2], int ready_fd) {
        _cleanup_close_ int options_read = -EBADF, options_write = -EBADF;
        const struct engine_exec_record record = {
                .magic = ENGINE_EXEC_MAGIC,
                .size = sizeof(record),
                .options = *options,
                .tcp_listen = { tcp_listen[0] >= 0, tcp_listen[1] >= 0 },
        };
        char launcher_text[16], level_text[4];
        char *argv[] = { (char *)SLIRP_ENGINE_NAME, launcher_text, level_text,
                         ready_fd >= 0 ? (char *)ENGINE_EXEC_ARG_READY : NULL, NULL };
        char *envp[ELEMENTSOF(engine_env_names) + 1] = {};
        size_t n_env = 0;
        pid_t launcher = getpid();
        int pipe_fds[2];

        _Static_assert(sizeof(record) < 4096, "the record must fit in a pipe without blocking");
        for (size_t i = 0; i < ELEMENTSOF(engine_env_names); i++)
                for (char **v = environ; *v; v++) {
                        size_t len = strlen(engine_env_names[i]);
                        if (strncmp(*v, engine_env_names[i], len) == 0 && (*v)[len] == '=') {
                                envp[n_env++] = *v;
                                break;
                        }
                }
        snprintf(launcher_text, sizeof(launcher_text), "%d", (int)launcher);
        snprintf(level_text, sizeof(level_text), "%d", (int)log_get_level());
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return negative_errno();
        options_read = pipe_fds[0];
        options_write = pipe_fds[1];
        if (write(options_write, &record, sizeof(record)) != (ssize_t)sizeof(record))
                return -EIO;
        closep(&options_write);

        pid_t pid = fork();
        if (pid != 0)
                return pid < 0 ? negative_errno() : pid;

        /* The child: the launcher's signal mask (sd-event blocks signals) must not leak in. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* Die with the launcher; if it is already gone, the signal would never come. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher)
                _exit(EXIT_RUNTIME);
        /* Each fd first above the numbers handed out, so placing one cannot overwrite another;
         * dup2() clears O_CLOEXEC on the copy the program gets. */
        int floor = ENGINE_EXEC_PROGRAM_FD + 1;
        int tap = lift_fd(tap_fd, floor), ready = lift_fd(ready_fd, floor);
        int opts = lift_fd(options_read, floor), program = lift_fd(program_fd, floor);
        int tcp4 = lift_fd(tcp_listen[0], floor), tcp6 = lift_fd(tcp_listen[1], floor);
        if (tap < 0 || (ready_fd >= 0 && ready < 0) || opts < 0 || program < 0 ||
            (tcp_listen[0] >= 0 && tcp4 < 0) || (tcp_listen[1] >= 0 && tcp6 < 0))
                _exit(EXIT_RUNTIME);
        if (dup2(tap, ENGINE_EXEC_TAP_FD) < 0 || (ready >= 0 && dup2(ready, ENGINE_EXEC_READY_FD) < 0) ||
            dup2(opts, ENGINE_EXEC_OPTIONS_FD) < 0 || (tcp4 >= 0 && dup2(tcp4, ENGINE_EXEC_TCP4_FD) < 0) ||
            (tcp6 >= 0 && dup2(tcp6, ENGINE_EXEC_TCP6_FD) < 0) ||
            dup3(program, ENGINE_EXEC_PROGRAM_FD, O_CLOEXEC) < 0)
                _exit(EXIT_RUNTIME);
        /* An absent one must not be some other inherited fd under its number. */
        if (ready < 0)
                (void)close(ENGINE_EXEC_READY_FD);
        if (tcp4 < 0)
                (void)close(ENGINE_EXEC_TCP4_FD);
        if (tcp6 < 0)
                (void)close(ENGINE_EXEC_TCP6_FD);
        (void)syscall(SYS_close_range, ENGINE_EXEC_PROGRAM_FD + 1, ~0U, 0);
        /* The program's fd is O_CLOEXEC: fine for an ELF, whose file the kernel holds itself. */
        (void)syscall(SYS_execveat, ENGINE_EXEC_PROGRAM_FD, "", argv, envp, AT_EMPTY_PATH);
        _exit(EXIT_RUNTIME);
}
