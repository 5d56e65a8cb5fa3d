/* netconf.c: rtnetlink requests with libmnl; one request, one acknowledged answer. */
#include "netns/netconf.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <time.h>

#include "common/macro.h"

static void mnl_socket_closep(struct mnl_socket **nl) {
        if (*nl)
                mnl_socket_close(*nl);
}

/* Send one request with NLM_F_ACK and wait for its acknowledgement. */
static int netlink_transact(struct nlmsghdr *request) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        char buffer[MNL_SOCKET_BUFFER_SIZE];

        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        request->nlmsg_seq = (unsigned)time(NULL);
        if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0)
                return negative_errno();
        ssize_t n = mnl_socket_recvfrom(nl, buffer, sizeof(buffer));
        if (n < 0)
                return negative_errno();
        if (mnl_cb_run(buffer, n, request->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
                return negative_errno();
        return 0;
}

int netconf_link_up(const char *ifname) {
        char buffer[MNL_SOCKET_BUFFER_SIZE];
        unsigned index = if_nametoindex(ifname);

        if (index == 0)
                return negative_errno();
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_NEWLINK;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int)index;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        return netlink_transact(nlh);
}
