/* test_engine_filter.c: the slirp engine's seccomp filter as built at build time and embedded
 * (netns/engine_filter_gen.c, netns/engine_sandbox.c), installed in a child: the denied calls fail
 * with EPERM, what slirp needs still works, a call of a foreign architecture kills, and a filter
 * the kernel refuses is one line naming why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns/engine_sandbox.h"

/* Runs BODY in a child under the filter; its wait status. The child leaves with _exit: no
 * atexit handlers (LeakSanitizer's would ptrace, which the filter denies). */
static int run_filtered(int (*body)(void)) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || engine_sandbox_load_filter() < 0)
                        _exit(100);
                _exit(body());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

/* 0, or the number of the first call that did not fail with EPERM. Each one fails differently
 * without the filter (ENOENT, success, EINVAL...), so the test tells a missing filter. */
static int denied_calls(void) {
        char *const argv[] = { (char *)"none", NULL };
        int n = 0;

#define DENIED(call)                                \
        do {                                        \
                n++;                                \
                errno = 0;                          \
                if ((call) != -1 || errno != EPERM) \
                        return n;                   \
        } while (0)
        DENIED(execve("/nonexistent/usernode-test", argv, argv + 1));
        DENIED(unshare(CLONE_NEWUSER));
        DENIED(unshare(CLONE_NEWNS));
        DENIED(mount("none", "/nonexistent", "tmpfs", 0, NULL));
        DENIED(umount2("/nonexistent", MNT_DETACH));
        DENIED(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
        DENIED(personality(0xffffffff));
        DENIED(syscall(SYS_setns, -1, 0));
        DENIED(syscall(SYS_bpf, 0, NULL, 0));
        DENIED(syscall(SYS_open_tree, -1, "/nonexistent", 0));
        DENIED(syscall(SYS_finit_module, -1, "", 0));
        DENIED(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
#undef DENIED
        return 0;
}

static void test_denied_calls_fail_with_eperm(void **state) {
        (void)state;
        int status = run_filtered(denied_calls);

        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int allowed_calls(void) {
        int fds[2];
        char c = 'x';

        if (getpid() <= 0)
                return 1;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return 2;
        if (write(fds[0], &c, 1) != 1 || read(fds[1], &c, 1) != 1 || c != 'x')
                return 3;
        int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (udp < 0)
                return 4;
        close(udp);
        close(fds[0]);
        close(fds[1]);
        return 0;
}

static void test_what_slirp_needs_still_works(void **state) {
        (void)state;
        int status = run_filtered(allowed_calls);

        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

#if defined(__x86_64__)
/* getpid through the x32 ABI: not the filter's architecture. */
static int x32_call(void) {
        syscall(0x40000000 | SYS_getpid);
        return 0;
}
#endif

/* The bad-architecture action stays libseccomp's default: the process is killed. */
static void test_a_foreign_architecture_is_killed(void **state) {
        (void)state;
#if defined(__x86_64__)
        int status = run_filtered(x32_call);

        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSYS);
#else
        skip();
#endif
}

/* Without no_new_privs and CAP_SYS_ADMIN the kernel refuses the filter: the engine's one line. */
static void test_a_refused_filter_is_one_clear_error(void **state) {
        (void)state;
        char message[512] = "";
        size_t have = 0;
        ssize_t n;
        int fds[2], status;
        pid_t pid;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cap_t none = cap_init();
                if (!none || cap_set_proc(none) < 0 || dup2(fds[1], STDERR_FILENO) < 0)
                        _exit(100);
                _exit(engine_sandbox_load_filter() == -EACCES ? 0 : 1);
        }
        close(fds[1]);
        while ((n = read(fds[0], message + have, sizeof(message) - 1 - have)) > 0)
                have += (size_t)n;
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_non_null(
                strstr(message, "slirp sandbox: cannot load the seccomp filter: Permission denied\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_denied_calls_fail_with_eperm),
                cmocka_unit_test(test_what_slirp_needs_still_works),
                cmocka_unit_test(test_a_foreign_architecture_is_killed),
                cmocka_unit_test(test_a_refused_filter_is_one_clear_error),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
