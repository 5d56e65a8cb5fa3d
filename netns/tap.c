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
