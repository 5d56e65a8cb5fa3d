/* tcp_redirect.c: the node's listening sockets and nf_tables rules of the kernel TCP path.
 *
 * The rules, in nft's words (P the listeners' port; the gateway lines only with host_loopback,
 * the ip6 lines only with IPv6):
 *
 *   table inet usernode {
 *     chain out { type nat hook output priority 100; meta l4proto tcp oifname "tap0" <body> }
 *     chain pre { type nat hook prerouting priority 100; meta l4proto tcp fib daddr oifname "tap0" <body> }
 *   }
 *   body:  ip daddr GATEWAY redirect to :P;   ip daddr NETWORK/PREFIX return;
 *          ip6 daddr GATEWAY6 redirect to :P; ip6 daddr fd00::/64 return;   redirect to :P
 *
 * Priority 100 runs after every DNAT (kube-proxy's Services, CRI-O's hostPorts at -100): a
 * connection gets one DNAT, so theirs wins and such a flow stays on slirp, as it was. `fib daddr
 * oifname` says "routed out tap0" before routing (pods' traffic); `oifname` after it (the node's
 * own). The node's own and its pods' addresses never route out tap0, so they stay untouched, as
 * do DNS and the rest of slirp's network, which slirp answers itself. The rules are built with
 * libnftnl and sent in one batch, so they go in whole or not at all. */
#include "netns/tcp_redirect.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "netns/nft_batch.h"
#include "netns/tap.h"

#define LISTEN_BACKLOG 4096
#define BATCH_SIZE (32 * 1024) /* the rules take about 5 KiB */

enum rule_hook { RULE_OUT, RULE_PRE };

/* "meta l4proto tcp" and "routed out tap0" in the hook's terms. */
static void add_tcp_out_tap(struct nft_rule_builder *b, enum rule_hook hook) {
        static const uint8_t tcp = IPPROTO_TCP;

        nft_rule_meta(b, NFT_META_L4PROTO);
        nft_rule_cmp(b, NFT_CMP_EQ, &tcp, sizeof(tcp));
        if (hook == RULE_OUT) {
                nft_rule_oifname(b, TAP_NAME);
                return;
        }
        struct nftnl_expr *e = nftnl_expr_alloc("fib");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        }
        nft_rule_expr(b, e);
        nft_rule_cmp_ifname(b, TAP_NAME);
}

static void add_return(struct nft_rule_builder *b) {
        struct nftnl_expr *e = nftnl_expr_alloc("immediate");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_RETURN);
        }
        nft_rule_expr(b, e);
}

static void add_redirect(struct nft_rule_builder *b, uint16_t port) {
        uint16_t port_be = htons(port);
        struct nftnl_expr *imm = nftnl_expr_alloc("immediate"), *redir;

        if (imm) {
                nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
                nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &port_be, sizeof(port_be));
        }
        nft_rule_expr(b, imm);
        redir = nftnl_expr_alloc("redir");
        if (redir) {
                nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
                nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFT_REG_1);
        }
        nft_rule_expr(b, redir);
}

/* One rule of `chain`: the hook's match; with `family` (NFPROTO_IPV4/6) only that family, with
 * `address` only that destination (under `mask`); then redirect to `port` or return. */
static void batch_rule(struct nft_batch *batch, const char *chain, enum rule_hook hook, uint8_t family,
                       const void *address, const void *mask, bool redirect, uint16_t port) {
        struct nft_rule_builder b;

        nft_rule_begin(&b, TCP_REDIRECT_TABLE, chain);
        add_tcp_out_tap(&b, hook);
        if (family != 0)
                nft_rule_nfproto(&b, family);
        if (address) {
                uint32_t length = family == NFPROTO_IPV4 ? 4 : 16;
                nft_rule_network_header(&b, family == NFPROTO_IPV4 ? 16 : 24, length);
                if (mask)
                        nft_rule_mask(&b, mask, length);
                nft_rule_cmp(&b, NFT_CMP_EQ, address, length);
        }
        if (redirect)
                add_redirect(&b, port);
        else
                add_return(&b);
        nft_batch_rule(batch, &b);
}

static void batch_chain_rules(struct nft_batch *batch, const struct network_options *options,
                              const struct network_layout *layout, const char *chain, enum rule_hook hook,
                              uint16_t port) {
        struct in_addr mask4 = layout->netmask, net4 = options->network;
        struct in6_addr mask6 = { 0 };

        memset(&mask6, 0xff, 8); /* slirp's /64 */
        if (options->host_loopback)
                batch_rule(batch, chain, hook, NFPROTO_IPV4, &layout->gateway, NULL, true, port);
        batch_rule(batch, chain, hook, NFPROTO_IPV4, &net4, &mask4, false, 0);
        if (options->ipv6) {
                if (options->host_loopback)
                        batch_rule(batch, chain, hook, NFPROTO_IPV6, &layout->gateway6, NULL, true, port);
                batch_rule(batch, chain, hook, NFPROTO_IPV6, &layout->prefix6, &mask6, false, 0);
        }
        batch_rule(batch, chain, hook, options->ipv6 ? 0 : NFPROTO_IPV4, NULL, NULL, true, port);
}

/* The whole rule set for listeners on `port`, in one batch (priority 100: above). */
static int rules_install(const struct network_options *options, uint16_t port) {
        static char buffer[BATCH_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
        struct network_layout layout;
        struct nft_batch batch;

        network_options_layout(options, &layout);
        nft_batch_start(&batch, buffer, sizeof(buffer));
        nft_batch_table(&batch, TCP_REDIRECT_TABLE);
        nft_batch_nat_chain(&batch, TCP_REDIRECT_TABLE, "out", NF_INET_LOCAL_OUT, 100);
        nft_batch_nat_chain(&batch, TCP_REDIRECT_TABLE, "pre", NF_INET_PRE_ROUTING, 100);
        batch_chain_rules(&batch, options, &layout, "out", RULE_OUT, port);
        batch_chain_rules(&batch, options, &layout, "pre", RULE_PRE, port);
        return nft_batch_commit(&batch);
}

/* A non-blocking listening TCP socket on the wildcard address of `family`, port `port` (0: any).
 * Redirected connections arrive on 127.0.0.1/::1 (the node's own) or on the address of the
 * interface a pod's packet came in on: the wildcard takes them all. */
static int listen_any(int family, uint16_t port) {
        _cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        struct sockaddr_storage sa = { .ss_family = (sa_family_t)family };
        socklen_t length;

        if (fd < 0)
                return negative_errno();
        if (family == AF_INET6) {
                if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int)) < 0)
                        return negative_errno();
                ((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
                length = sizeof(struct sockaddr_in6);
        } else {
                ((struct sockaddr_in *)&sa)->sin_port = htons(port);
                length = sizeof(struct sockaddr_in);
        }
        if (bind(fd, (struct sockaddr *)&sa, length) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static int listen_port(int fd) {
        struct sockaddr_in sa;
        socklen_t length = sizeof(sa);

        if (getsockname(fd, (struct sockaddr *)&sa, &length) < 0)
                return negative_errno();
        return ntohs(sa.sin_port);
}

int tcp_redirect_setup(const struct network_options *options, struct tcp_redirect_listeners *ret) {
        _cleanup_close_ int fd4 = -EBADF, fd6 = -EBADF;
        int port, r;

        /* The kernel picks a free port; IPv6 takes the same one, so one rule serves both. */
        fd4 = listen_any(AF_INET, 0);
        if (fd4 < 0)
                return fd4;
        port = listen_port(fd4);
        if (port < 0)
                return port;
        if (options->ipv6) {
                fd6 = listen_any(AF_INET6, (uint16_t)port);
                if (fd6 < 0)
                        return fd6;
        }
        r = rules_install(options, (uint16_t)port); /* atomic: nothing is left when it fails */
        if (r < 0)
                return r;
        log_debug("kernel TCP path: outbound TCP of the node redirected to port %d", port);
        ret->fd[0] = TAKE_FD(fd4);
        ret->fd[1] = TAKE_FD(fd6);
        return 0;
}
