/* netconf.c: links, addresses, routes and sysctls of the node's network namespace.
 *
 * Each change is one netlink request with NLM_F_ACK on a fresh NETLINK_ROUTE socket: the node
 * init makes a handful of changes once, so a socket per request keeps the code free of state. */
#include "netns/netconf.h"

#include <assert.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/macro.h"

static void mnl_socket_closep(struct mnl_socket **nl) {
        if (*nl)
                mnl_socket_close(*nl);
}

/* Send the request in `buffer` and wait for its acknowledgement. Returns 0 or the kernel's
 * negative errno. */
static int netconf_transact(struct nlmsghdr *request) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char answer[MNL_SOCKET_BUFFER_SIZE];
        uint32_t seq = (uint32_t)time(NULL);

        nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();

        request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        request->nlmsg_seq = seq;
        if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, answer, sizeof(answer));
                if (n < 0)
                        return negative_errno();
                /* The ACK is an NLMSG_ERROR with error 0; mnl_cb_run turns a non-zero one into
                 * errno and returns MNL_CB_ERROR. */
                int r = mnl_cb_run(answer, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL);
                if (r == MNL_CB_ERROR)
                        return negative_errno();
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int netconf_ifindex(const char *ifname, unsigned *ret) {
        unsigned index = if_nametoindex(ifname);
        if (index == 0)
                return negative_errno();
        *ret = index;
        return 0;
}

static int netconf_link_change(const char *ifname, bool up, uint32_t mtu) {
        char buffer[MNL_SOCKET_BUFFER_SIZE];
        unsigned index;
        int r;

        r = netconf_ifindex(ifname, &index);
        if (r < 0)
                return r;

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_NEWLINK;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int)index;
        if (up) {
                ifi->ifi_flags = IFF_UP;
                ifi->ifi_change = IFF_UP;
        }
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        return netconf_transact(nlh);
}

int netconf_link_up(const char *ifname) {
        return netconf_link_change(ifname, true, 0);
}

int netconf_link_set_mtu(const char *ifname, uint32_t mtu) {
        assert(mtu > 0);
        return netconf_link_change(ifname, false, mtu);
}

static size_t netconf_address_size(int family) {
        return family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
}

int netconf_address_add(const char *ifname, int family, const void *address, unsigned prefix_len) {
        char buffer[MNL_SOCKET_BUFFER_SIZE];
        unsigned index;
        int r;

        assert(family == AF_INET || family == AF_INET6);
        r = netconf_ifindex(ifname, &index);
        if (r < 0)
                return r;

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t)family;
        ifa->ifa_prefixlen = (uint8_t)prefix_len;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = index;
        mnl_attr_put(nlh, IFA_LOCAL, netconf_address_size(family), address);
        mnl_attr_put(nlh, IFA_ADDRESS, netconf_address_size(family), address);
        if (family == AF_INET6)
                /* The node is alone on its link with slirp: nobody can hold a duplicate. */
                ifa->ifa_flags = IFA_F_NODAD;
        else if (prefix_len < 31) {
                struct in_addr broadcast;
                memcpy(&broadcast, address, sizeof(broadcast));
                broadcast.s_addr |= htonl(UINT32_MAX >> prefix_len);
                mnl_attr_put(nlh, IFA_BROADCAST, sizeof(broadcast), &broadcast);
        }
        return netconf_transact(nlh);
}

int netconf_route_add_default(const char *ifname, int family, const void *gateway) {
        char buffer[MNL_SOCKET_BUFFER_SIZE];
        unsigned index;
        int r;

        assert(family == AF_INET || family == AF_INET6);
        r = netconf_ifindex(ifname, &index);
        if (r < 0)
                return r;

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t)family;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, netconf_address_size(family), gateway);
        mnl_attr_put_u32(nlh, RTA_OIF, index);
        return netconf_transact(nlh);
}

int netconf_sysctl_write(const char *key, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        char path[256];
        size_t length = strlen(value);

        if (strstr(key, ".."))
                return -EINVAL;
        if (snprintf(path, sizeof(path), "/proc/sys/%s", key) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        ssize_t n = write(fd, value, length);
        if (n < 0)
                return negative_errno();
        if ((size_t)n != length)
                return -EIO;
        return 0;
}
