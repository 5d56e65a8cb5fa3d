/* node_network.c: lo, tap0, addresses, routes, sysctls and resolv.conf inside the node. */
#include "launcher/node/node_network.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "common/channel.h"
#include "common/log.h"
#include "launcher/node/mounts.h"
#include "netns/netconf.h"
#include "launcher/node/node_protocol.h"
#include "netns/pod_masquerade.h"
#include "netns/tap.h"
#include "netns/tcp_redirect.h"

/* Sysctls of the node's network namespace; only the node sees them. */
static const struct {
        const char *key, *value;
} node_sysctls[] = {
        /* kubelet and CNI bridges route pods' traffic through the node. */
        { "net/ipv4/ip_forward", "1" },
};

/* ping without CAP_NET_RAW for every gid of the node: the kernel takes only mapped gids, so the
 * range ends at the highest gid the node's map has. */
int node_network_ping_range(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/gid_map", "re");
        unsigned long inner, outer, count, highest = 0;
        char range[64];

        if (!f)
                return negative_errno();
        while (fscanf(f, "%lu %lu %lu", &inner, &outer, &count) == 3)
                if (count > 0 && inner + count - 1 > highest)
                        highest = inner + count - 1;
        snprintf(range, sizeof(range), "0 %lu", highest);
        return netconf_sysctl_write("net/ipv4/ping_group_range", range);
}

static int node_network_ipv6(const struct network_layout *layout) {
        int r;

        /* Pods' IPv6 traffic is routed through the node, as with IPv4. */
        r = netconf_sysctl_write("net/ipv6/conf/all/forwarding", "1");
        if (r < 0)
                log_debug_errno(r, "cannot enable IPv6 forwarding in the node: %m");
        r = netconf_address_add(TAP_NAME, AF_INET6, &layout->guest6, layout->prefix6_len);
        if (r < 0)
                return log_error_errno(r, "cannot add the node's IPv6 address to %s: %m", TAP_NAME);
        r = netconf_route_add_default(TAP_NAME, AF_INET6, &layout->gateway6);
        if (r < 0)
                return log_error_errno(r, "cannot add the node's IPv6 default route: %m");
        return 0;
}

int node_network_setup(const struct network_options *options) {
        struct network_layout layout;
        _cleanup_close_ int tap = -EBADF;
        unsigned prefix_len = options->prefix_len;
        int r;

        network_options_layout(options, &layout);

        tap = tap_create(TAP_NAME);
        if (tap == -ENOENT || tap == -EACCES || tap == -EPERM || tap == -ENODEV || tap == -ENXIO) {
                /* The launcher checked the device before; say it again in the node's words. */
                log_error_errno(
                        tap,
                        "cannot create %s: %s: %m; as root run 'chmod 0666 %s' (or modprobe tun), or "
                        "run with --net=host",
                        TAP_NAME, TAP_DEVICE_PATH, TAP_DEVICE_PATH);
                return -ENODEV;
        }
        if (tap < 0)
                return log_error_errno(tap, "cannot create %s: %m", TAP_NAME);

        r = netconf_link_set_mtu(TAP_NAME, options->mtu);
        if (r < 0)
                return log_error_errno(r, "cannot set the MTU of %s to %u: %m", TAP_NAME, options->mtu);
        /* IPv6 before the link goes up, or the kernel starts DAD and router solicitation on it. */
        if (!options->ipv6) {
                r = netconf_sysctl_write("net/ipv6/conf/" TAP_NAME "/disable_ipv6", "1");
                if (r < 0)
                        log_debug_errno(r, "cannot disable IPv6 on %s: %m", TAP_NAME);
        } else {
                r = netconf_sysctl_write("net/ipv6/conf/" TAP_NAME "/accept_dad", "0");
                if (r < 0)
                        log_debug_errno(r, "cannot disable DAD on %s: %m", TAP_NAME);
        }
        r = netconf_link_up(TAP_NAME);
        if (r < 0)
                return log_error_errno(r, "cannot bring up %s: %m", TAP_NAME);
        r = netconf_address_add(TAP_NAME, AF_INET, &layout.guest, prefix_len);
        if (r < 0)
                return log_error_errno(r, "cannot add the node's address to %s: %m", TAP_NAME);
        r = netconf_route_add_default(TAP_NAME, AF_INET, &layout.gateway);
        if (r < 0)
                return log_error_errno(r, "cannot add the node's default route: %m");
        if (options->ipv6) {
                r = node_network_ipv6(&layout);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(node_sysctls); i++) {
                r = netconf_sysctl_write(node_sysctls[i].key, node_sysctls[i].value);
                if (r < 0)
                        log_warning_errno(r, "cannot set %s = %s in the node: %m", node_sysctls[i].key,
                                          node_sysctls[i].value);
        }
        r = node_network_ping_range();
        if (r < 0)
                log_warning_errno(r, "cannot set net/ipv4/ping_group_range in the node: %m");
        return TAKE_FD(tap);
}

int node_network_bind_files(const char *state_dir) {
        static const char *const files[] = { "resolv.conf", "hosts" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char source[4096], target[64];
                if (snprintf(source, sizeof(source), "%s/%s", state_dir, files[i]) >= (int)sizeof(source))
                        return log_error_errno(ENAMETOOLONG, "state dir path too long: %s", state_dir);
                snprintf(target, sizeof(target), "/etc/%s", files[i]);
                r = mounts_bind_file(source, target);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* tcp_path = kernel: the listeners and rules of the kernel TCP path, the listeners to the
 * launcher for the engine. Whatever fails leaves TCP on slirp, said in one line. */
static int node_network_tcp_path(const struct network_options *options, int channel_fd) {
        struct tcp_redirect_listeners listeners;
        int r;

        r = tcp_redirect_setup(options, &listeners);
        if (r < 0) {
                log_warning_errno(
                        r, "tcp_path = kernel: cannot redirect the node's TCP in its network namespace "
                           "(nf_tables with nat, redir and fib): %m; outbound TCP goes through slirp");
                /* So that `usernode status` can say which path the node's TCP takes, and why. */
                int32_t error = -r;
                r = channel_send(channel_fd, NODE_MSG_TCP_FALLBACK, &error, sizeof(error), -EBADF);
                if (r < 0)
                        return log_error_errno(r, "cannot reach the launcher: %m");
                return 0;
        }
        for (int i = 0; i < 2 && r >= 0; i++)
                if (listeners.fd[i] >= 0)
                        r = channel_send(channel_fd, NODE_MSG_TCP_LISTENER, i == 0 ? "4" : "6", 1,
                                         listeners.fd[i]);
        for (int i = 0; i < 2; i++)
                if (listeners.fd[i] >= 0)
                        close(listeners.fd[i]);
        if (r < 0)
                return log_error_errno(r, "cannot hand the kernel TCP path's listeners to the launcher: %m");
        return 0;
}

int node_network_handover(const struct network_options *options, bool masquerade_pods, const char *state_dir,
                          int channel_fd) {
        _cleanup_close_ int tap = node_network_setup(options);
        int r;

        if (tap < 0)
                return tap;
        if (masquerade_pods) {
                r = pod_masquerade_setup(options);
                if (r < 0) {
                        log_error_errno(
                                r, "cannot masquerade the pods' traffic in the node (nf_tables with nat and "
                                   "masq): %m; as root run 'modprobe -a nft_chain_nat nft_masq', or set "
                                   "[cni] ip_masq = false");
                        return -EPROTONOSUPPORT;
                }
        }
        if (options->tcp_kernel) {
                r = node_network_tcp_path(options, channel_fd);
                if (r < 0)
                        return r;
        }
        r = channel_send(channel_fd, NODE_MSG_TAP_FD, NULL, 0, tap);
        if (r < 0)
                return log_error_errno(r, "cannot hand %s to the launcher: %m", TAP_NAME);
        r = node_network_bind_files(state_dir);
        if (r < 0)
                return r;

        /* Nothing of the node runs before its network does. EOF: the launcher could not start
         * the engine, said why, and is about to stop the node. */
        struct channel_message message;
        r = channel_recv_message(channel_fd, &message);
        if (r < 0)
                return r;
        return message.type == NODE_MSG_ENGINE_UP ? 0 : -EBADMSG;
}
