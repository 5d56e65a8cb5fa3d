/* Unit tests of cgroup/sd_bus_dl.c and the connection of cgroup/delegate_systemd.c: libsystemd is
 * mapped while a connection needs it, and unmapped once the last one is gone (the property that
 * keeps it out of the launcher and the node init). This binary is linked without -lsystemd. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/delegate_systemd.h"
#include "cgroup/sd_bus_dl.h"
#include "common/log.h"
#include "tests/unit/scratch_dir.h"

static bool libsystemd_mapped(void) {
        char line[4096];
        bool found = false;
        FILE *f = fopen("/proc/self/maps", "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                found = found || strstr(line, "/libsystemd.so") != NULL;
        fclose(f);
        return found;
}

/* The library, or the test is skipped: a host without it has nothing to unmap. */
static void open_or_skip(void) {
        int r = sd_bus_dl_open();
        if (r == -ENOPKG)
                skip();
        assert_int_equal(r, 0);
}

static void test_nothing_is_mapped_before_the_first_open(void **state) {
        (void)state;
        assert_false(sd_bus_dl_is_open());
        assert_false(libsystemd_mapped());
}

static void test_the_library_stays_mapped_until_the_last_close(void **state) {
        (void)state;
        open_or_skip();
        assert_true(libsystemd_mapped());
        assert_non_null(sd_bus_dl.call_method);
        assert_int_equal(sd_bus_dl_open(), 0);
        sd_bus_dl_close();
        assert_true(sd_bus_dl_is_open());
        assert_true(libsystemd_mapped());
        assert_non_null(sd_bus_dl.call_method);
        sd_bus_dl_close();
        assert_false(sd_bus_dl_is_open());
        assert_false(libsystemd_mapped());
        assert_null(sd_bus_dl.call_method);
}

static void test_the_library_can_be_opened_again_after_the_last_close(void **state) {
        (void)state;
        open_or_skip();
        sd_bus_dl_close();
        open_or_skip();
        assert_true(libsystemd_mapped());
        assert_non_null(sd_bus_dl.flush_close_unref);
        sd_bus_dl_close();
        assert_false(libsystemd_mapped());
}

static void test_a_connection_that_fails_leaves_nothing_mapped(void **state) {
        sd_bus *bus = NULL;
        (void)state;
        setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/usernode-test/bus", 1);
        assert_true(delegate_systemd_connect(&bus) < 0);
        assert_null(bus);
        assert_false(sd_bus_dl_is_open());
        assert_false(libsystemd_mapped());
}

/* A bus daemon of the test's own, without a systemd on it: "unix:path=..." in `address`. */
struct bus_daemon {
        char dir[64];
        char address[256];
        pid_t pid;
};

static bool bus_daemon_start(struct bus_daemon *d) {
        int fds[2];
        char fd_arg[32], address_arg[128];

        snprintf(d->dir, sizeof(d->dir), "/tmp/usernode-test-bus.XXXXXX");
        assert_non_null(mkdtemp(d->dir));
        snprintf(address_arg, sizeof(address_arg), "--address=unix:path=%s/bus", d->dir);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        d->pid = fork();
        assert_true(d->pid >= 0);
        if (d->pid == 0) {
                int out = dup(fds[1]); /* without O_CLOEXEC: the daemon writes its address there */
                int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null_fd >= 0)
                        dup2(null_fd, STDERR_FILENO); /* its complaints (fd limits, activation) */
                snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", out);
                execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", address_arg,
                       fd_arg, (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        ssize_t n = read(fds[0], d->address, sizeof(d->address) - 1);
        close(fds[0]);
        if (n <= 0) {
                waitpid(d->pid, NULL, 0);
                scratch_dir_remove(d->dir);
                return false; /* no dbus-daemon here */
        }
        d->address[n] = '\0';
        d->address[strcspn(d->address, "\n")] = '\0';
        return true;
}

static void bus_daemon_stop(struct bus_daemon *d) {
        kill(d->pid, SIGTERM);
        waitpid(d->pid, NULL, 0);
        scratch_dir_remove(d->dir);
}

static void test_a_bus_without_systemd_is_refused_and_leaves_nothing_mapped(void **state) {
        struct bus_daemon d;
        sd_bus *bus = NULL;
        (void)state;
        if (!bus_daemon_start(&d))
                skip();
        setenv("DBUS_SESSION_BUS_ADDRESS", d.address, 1);
        int r = delegate_systemd_connect(&bus);
        bus_daemon_stop(&d);
        assert_true(r < 0);
        assert_null(bus);
        assert_false(sd_bus_dl_is_open());
        assert_false(libsystemd_mapped());
}

static void test_a_call_answered_then_disconnected_leaves_nothing_mapped(void **state) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        struct bus_daemon d;
        sd_bus *bus = NULL;
        const char *id;
        (void)state;
        if (!bus_daemon_start(&d))
                skip();
        setenv("DBUS_SESSION_BUS_ADDRESS", d.address, 1);
        open_or_skip();
        assert_int_equal(sd_bus_dl.open_user(&bus), 0);
        assert_true(sd_bus_dl.call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                          "org.freedesktop.DBus", "GetId", &error, &reply, "") >= 0);
        assert_true(sd_bus_dl.message_read(reply, "s", &id) > 0);
        assert_true(strlen(id) > 0);
        sd_bus_dl.message_unref(reply);
        sd_bus_dl.error_free(&error);
        /* What delegate_systemd_disconnect() does with a connection it made. */
        sd_bus_dl.flush_close_unref(bus);
        sd_bus_dl_close();
        bus_daemon_stop(&d);
        assert_false(libsystemd_mapped());
}

int main(void) {
        log_set_level(LOG_LEVEL_ERROR);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nothing_is_mapped_before_the_first_open),
                cmocka_unit_test(test_the_library_stays_mapped_until_the_last_close),
                cmocka_unit_test(test_the_library_can_be_opened_again_after_the_last_close),
                cmocka_unit_test(test_a_connection_that_fails_leaves_nothing_mapped),
                cmocka_unit_test(test_a_bus_without_systemd_is_refused_and_leaves_nothing_mapped),
                cmocka_unit_test(test_a_call_answered_then_disconnected_leaves_nothing_mapped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
