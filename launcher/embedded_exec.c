/* embedded_exec.c: copy an embedded program into a sealed memfd; fork and execveat() it.
 *
 * Between fork and exec the child only moves fds and calls async-signal-safe functions: the
 * launcher may have threads (the ports' workers), and a forked copy of a threaded process must
 * not take locks. */
#include "launcher/embedded_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/macro.h"
#include "launcher/config/embedded_programs.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd where vm.memfd_noexec is set */
#endif

int embedded_program_memfd(const char *name, const char *start, const char *end) {
        _cleanup_close_ int fd = -EBADF;
        /* Bounds of one blob, through uintptr_t: they are labels, not C objects. */
        uintptr_t s = (uintptr_t)start, e = (uintptr_t)end;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) /* before Linux 6.3: every memfd is executable */
                fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        int r = fd_write_all(fd, start, e - s);
        /* Read once (or as far as the write went): its pages need not stay in our memory. */
        embedded_programs_release();
        if (r < 0)
                return r;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* In the child: `fd` out of the way of the fds the program is given (at or above `floor`). */
static int lift_fd(int fd, int floor) {
        return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, floor);
}

pid_t embedded_program_spawn(int program_fd, const int *fds, size_t n_fds, char *const argv[],
                             char *const envp[], int pdeathsig) {
        int lifted[EMBEDDED_EXEC_FDS_MAX];
        pid_t launcher = getpid();

        if (n_fds > EMBEDDED_EXEC_FDS_MAX)
                return -E2BIG;
        pid_t pid = fork();
        if (pid != 0)
                return pid < 0 ? negative_errno() : pid;

        /* The child: the launcher's signal mask (its event loop blocks signals) must not leak in. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* End with the launcher; if it is already gone, the signal would never come. */
        if (prctl(PR_SET_PDEATHSIG, pdeathsig) < 0 || getppid() != launcher)
                _exit(EMBEDDED_EXEC_FAILED);
        /* Each fd first above the numbers handed out, so placing one cannot overwrite another;
         * dup2() clears O_CLOEXEC on the copy the program gets. */
        int program_at = 3 + (int)n_fds, floor = program_at + 1;
        int program = lift_fd(program_fd, floor);
        if (program < 0)
                _exit(EMBEDDED_EXEC_FAILED);
        for (size_t i = 0; i < n_fds; i++) {
                lifted[i] = lift_fd(fds[i], floor);
                if (fds[i] >= 0 && lifted[i] < 0)
                        _exit(EMBEDDED_EXEC_FAILED);
        }
        for (size_t i = 0; i < n_fds; i++) {
                /* An absent one must not be some other inherited fd under its number. */
                if (lifted[i] < 0)
                        (void)close(3 + (int)i);
                else if (dup2(lifted[i], 3 + (int)i) < 0)
                        _exit(EMBEDDED_EXEC_FAILED);
        }
        if (dup3(program, program_at, O_CLOEXEC) < 0)
                _exit(EMBEDDED_EXEC_FAILED);
        (void)syscall(SYS_close_range, program_at + 1, ~0U, 0);
        /* The program's fd is O_CLOEXEC: fine for an ELF, whose file the kernel holds itself. */
        (void)syscall(SYS_execveat, program_at, "", argv, envp, AT_EMPTY_PATH);
        _exit(EMBEDDED_EXEC_FAILED);
}
