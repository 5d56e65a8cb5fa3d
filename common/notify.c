/* notify.c: sd_notify(3)'s datagram to $NOTIFY_SOCKET, without libsystemd (notify.h). */
#include "common/notify.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* $NOTIFY_SOCKET as an address: a path (NUL-terminated in sun_path) or '@' and an abstract name
 * (a leading NUL, the name's bytes only, as systemd reads it). Returns the address length or
 * -EINVAL. */
static int notify_address(const char *name, struct sockaddr_un *sa) {
        size_t length = strlen(name);

        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        if (name[0] == '/') {
                if (length >= sizeof(sa->sun_path))
                        return -EINVAL;
                memcpy(sa->sun_path, name, length + 1);
                return (int)(offsetof(struct sockaddr_un, sun_path) + length + 1);
        }
        if (name[0] == '@' && length >= 2) {
                if (length > sizeof(sa->sun_path))
                        return -EINVAL;
                memcpy(sa->sun_path + 1, name + 1, length - 1);
                return (int)(offsetof(struct sockaddr_un, sun_path) + length);
        }
        return -EINVAL;
}

int notify_send(const char *state) {
        assert(state);

        const char *name = getenv("NOTIFY_SOCKET");
        if (!name)
                return 0;
        struct sockaddr_un sa;
        int length = notify_address(name, &sa);
        if (length < 0)
                return length;

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* MSG_NOSIGNAL: a manager gone away must not kill us with SIGPIPE. */
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, (socklen_t)length) < 0)
                return -errno;
        return 1;
}

int notify_sendf(const char *format, ...) {
        assert(format);

        _cleanup_free_ char *state = NULL;
        va_list ap;
        va_start(ap, format);
        int r = vasprintf(&state, format, ap);
        va_end(ap);
        if (r < 0) {
                state = NULL; /* undefined after a failure */
                return -ENOMEM;
        }
        return notify_send(state);
}
