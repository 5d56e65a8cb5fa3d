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
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "netns/tap.h"

#define LISTEN_BACKLOG 4096
#define BATCH_SIZE (32 * 1024) /* the rules take about 5 KiB */

enum rule_hook { RULE_OUT, RULE_PRE };

/* A rule under construction; `broken` records the first allocation that failed. */
struct rule_builder {
        struct nftnl_rule *rule;
        bool broken;
};

static void add_expr(struct rule_builder *b, struct nftnl_expr *e) {
        if (!e) {
                b->broken = true;
                return;
        }
        nftnl_rule_add_expr(b->rule, e);
}

static void add_meta(struct rule_builder *b, uint32_t key) {
        struct nftnl_expr *e = nftnl_expr_alloc("meta");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        }
        add_expr(b, e);
}

static void add_cmp_eq(struct rule_builder *b, const void *data, uint32_t length) {
        struct nftnl_expr *e = nftnl_expr_alloc("cmp");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, length);
        }
        add_expr(b, e);
}

/* The packet's destination address (network header, offset/length of the family) into reg 1. */
static void add_daddr(struct rule_builder *b, uint32_t offset, uint32_t length) {
        struct nftnl_expr *e = nftnl_expr_alloc("payload");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, length);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        }
        add_expr(b, e);
}

/* reg 1 &= mask (length bytes). */
static void add_mask(struct rule_builder *b, const void *mask, uint32_t length) {
        static const uint8_t zero[16];
        struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, length);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, length);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, length);
        }
        add_expr(b, e);
}

/* "meta l4proto tcp" and "routed out tap0" in the hook's terms. */
static void add_tcp_out_tap(struct rule_builder *b, enum rule_hook hook) {
        static const uint8_t tcp = IPPROTO_TCP;
        char name[IFNAMSIZ] = TAP_NAME; /* the rest zeroed: the register holds IFNAMSIZ bytes */

        add_meta(b, NFT_META_L4PROTO);
        add_cmp_eq(b, &tcp, sizeof(tcp));
        if (hook == RULE_OUT)
                add_meta(b, NFT_META_OIFNAME);
        else {
                struct nftnl_expr *e = nftnl_expr_alloc("fib");
                if (e) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
                }
                add_expr(b, e);
        }
        add_cmp_eq(b, name, sizeof(name));
}

static void add_nfproto(struct rule_builder *b, uint8_t family) {
        add_meta(b, NFT_META_NFPROTO);
        add_cmp_eq(b, &family, sizeof(family));
}

static void add_return(struct rule_builder *b) {
        struct nftnl_expr *e = nftnl_expr_alloc("immediate");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_RETURN);
        }
        add_expr(b, e);
}

static void add_redirect(struct rule_builder *b, uint16_t port) {
        uint16_t port_be = htons(port);
        struct nftnl_expr *imm = nftnl_expr_alloc("immediate"), *redir;

        if (imm) {
                nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
                nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &port_be, sizeof(port_be));
        }
        add_expr(b, imm);
        redir = nftnl_expr_alloc("redir");
        if (redir) {
                nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
                nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFT_REG_1);
        }
        add_expr(b, redir);
}

/* Everything that goes into the batch, and how many messages ask for an ack. */
struct batch {
        struct mnl_nlmsg_batch *b;
        uint32_t seq;
        unsigned acks;
        bool broken;
};

static struct nlmsghdr *batch_header(struct batch *batch, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch->b), type, NFPROTO_INET,
                                                     flags | NLM_F_ACK, batch->seq++);
        batch->acks++;
        return nlh;
}

static void batch_next(struct batch *batch) {
        if (!mnl_nlmsg_batch_next(batch->b))
                batch->broken = true; /* BATCH_SIZE holds far more than these rules */
}

/* One rule of `chain`: the hook's match; with `family` (NFPROTO_IPV4/6) only that family, with
 * `address` only that destination (under `mask`); then redirect to `port` or return. */
static void batch_rule(struct batch *batch, const char *chain, enum rule_hook hook, uint8_t family,
                       const void *address, const void *mask, bool redirect, uint16_t port) {
        struct rule_builder b = { .rule = nftnl_rule_alloc() };

        if (!b.rule) {
                batch->broken = true;
                return;
        }
        nftnl_rule_set_u32(b.rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(b.rule, NFTNL_RULE_TABLE, TCP_REDIRECT_TABLE);
        nftnl_rule_set_str(b.rule, NFTNL_RULE_CHAIN, chain);
        add_tcp_out_tap(&b, hook);
        if (family != 0)
                add_nfproto(&b, family);
        if (address) {
                uint32_t length = family == NFPROTO_IPV4 ? 4 : 16;
                add_daddr(&b, family == NFPROTO_IPV4 ? 16 : 24, length);
                if (mask)
                        add_mask(&b, mask, length);
                add_cmp_eq(&b, address, length);
        }
        if (redirect)
                add_redirect(&b, port);
        else
                add_return(&b);
        if (b.broken)
                batch->broken = true;
        else {
                struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
                nftnl_rule_nlmsg_build_payload(nlh, b.rule);
                batch_next(batch);
        }
        nftnl_rule_free(b.rule);
}

static void batch_chain(struct batch *batch, const char *name, uint32_t hooknum) {
        struct nftnl_chain *c = nftnl_chain_alloc();

        if (!c) {
                batch->broken = true;
                return;
        }
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, TCP_REDIRECT_TABLE);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hooknum);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        batch_next(batch);
        nftnl_chain_free(c);
}

static void batch_table(struct batch *batch) {
        struct nftnl_table *t = nftnl_table_alloc();

        if (!t) {
                batch->broken = true;
                return;
        }
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, TCP_REDIRECT_TABLE);
        struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWTABLE, NLM_F_CREATE);
        nftnl_table_nlmsg_build_payload(nlh, t);
        batch_next(batch);
        nftnl_table_free(t);
}

static void batch_chain_rules(struct batch *batch, const struct network_options *options,
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

/* Send the batch and collect one ack per message; the first error is returned. */
static int batch_send(struct batch *batch) {
        static char buffer[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        struct mnl_socket *nl;
        unsigned acks = 0;
        int r = 0;

        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return negative_errno();
        /* A kernel that never answers must not hang the node's start. */
        struct timeval timeout = { .tv_sec = 5 };
        (void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
            mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch->b), mnl_nlmsg_batch_size(batch->b)) < 0) {
                r = negative_errno();
                mnl_socket_close(nl);
                return r;
        }
        while (acks < batch->acks && r == 0) {
                ssize_t n = mnl_socket_recvfrom(nl, buffer, sizeof(buffer));
                if (n < 0) {
                        r = negative_errno();
                        break;
                }
                for (struct nlmsghdr *nlh = (struct nlmsghdr *)buffer; mnl_nlmsg_ok(nlh, (int)n);
                     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
                        if (nlh->nlmsg_type != NLMSG_ERROR)
                                continue;
                        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
                        if (err->error != 0) {
                                r = err->error;
                                break;
                        }
                        acks++;
                }
        }
        mnl_socket_close(nl);
        return r;
}

/* The whole rule set for listeners on `port`, in one batch. */
static int rules_install(const struct network_options *options, uint16_t port) {
        static char buffer[BATCH_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
        struct network_layout layout;
        struct batch batch = { .seq = (uint32_t)time(NULL) };
        int r;

        network_options_layout(options, &layout);
        batch.b = mnl_nlmsg_batch_start(buffer, sizeof(buffer));
        nftnl_batch_begin(mnl_nlmsg_batch_current(batch.b), batch.seq++);
        batch_next(&batch);
        batch_table(&batch);
        batch_chain(&batch, "out", NF_INET_LOCAL_OUT);
        batch_chain(&batch, "pre", NF_INET_PRE_ROUTING);
        batch_chain_rules(&batch, options, &layout, "out", RULE_OUT, port);
        batch_chain_rules(&batch, options, &layout, "pre", RULE_PRE, port);
        nftnl_batch_end(mnl_nlmsg_batch_current(batch.b), batch.seq++);
        batch_next(&batch);
        r = batch.broken ? -ENOMEM : batch_send(&batch);
        mnl_nlmsg_batch_stop(batch.b);
        return r;
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
