/* tap.c: tap device creation through /dev/net/tun. */
#include "netns/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/log.h"

int tap_create(const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        if (strlen(name) >= sizeof(ifr.ifr_name))
                return -ENAMETOOLONG;
        fd = open(TAP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        memcpy(ifr.ifr_name, name, strlen(name) + 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return negative_errno();
        /* Large unchecksummed TCP segments instead of MTU-sized frames (tap_frame.h). Without
         * them the node's kernel simply segments and checksums itself. */
        if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
                log_debug_errno(errno, "%s: no checksum/TSO offload: %m", name);
        return TAKE_FD(fd);
}

int tap_check_device(void) {
        _cleanup_close_ int fd = open(TAP_DEVICE_PATH, O_RDWR | O_CLOEXEC);

        if (fd >= 0)
                return 0;
        if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
                return log_error_errno(errno,
                                       "%s is missing (%m); load the tun module as root (modprobe tun) "
                                       "or run with --net=host",
                                       TAP_DEVICE_PATH);
        if (errno == EACCES || errno == EPERM)
                return log_error_errno(errno,
                                       "%s may not be opened by this user (%m); as root run "
                                       "'chmod 0666 %s' (udev does this on desktops) or run with --net=host",
                                       TAP_DEVICE_PATH, TAP_DEVICE_PATH);
        return log_error_errno(errno, "cannot open %s: %m", TAP_DEVICE_PATH);
}
