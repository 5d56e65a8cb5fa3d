/* nft_batch.c: building nf_tables rules with libnftnl and sending them in one batch. */
#include "netns/nft_batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"

void nft_rule_expr(struct nft_rule_builder *b, struct nftnl_expr *e) {
        if (!e) {
                b->broken = true;
                return;
        }
        if (b->rule)
                nftnl_rule_add_expr(b->rule, e);
        else
                nftnl_expr_free(e);
}

void nft_rule_begin(struct nft_rule_builder *b, const char *table, const char *chain) {
        *b = (struct nft_rule_builder){ .rule = nftnl_rule_alloc() };
        if (!b->rule) {
                b->broken = true;
                return;
        }
        nftnl_rule_set_u32(b->rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(b->rule, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(b->rule, NFTNL_RULE_CHAIN, chain);
}

void nft_rule_meta(struct nft_rule_builder *b, uint32_t key) {
        struct nftnl_expr *e = nftnl_expr_alloc("meta");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        }
        nft_rule_expr(b, e);
}

void nft_rule_network_header(struct nft_rule_builder *b, uint32_t offset, uint32_t length) {
        struct nftnl_expr *e = nftnl_expr_alloc("payload");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, length);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        }
        nft_rule_expr(b, e);
}

void nft_rule_mask(struct nft_rule_builder *b, const void *mask, uint32_t length) {
        static const uint8_t zero[16];
        struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, length);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, length);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, length);
        }
        nft_rule_expr(b, e);
}

void nft_rule_cmp(struct nft_rule_builder *b, uint32_t op, const void *data, uint32_t length) {
        struct nftnl_expr *e = nftnl_expr_alloc("cmp");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, length);
        }
        nft_rule_expr(b, e);
}

void nft_rule_nfproto(struct nft_rule_builder *b, uint8_t family) {
        nft_rule_meta(b, NFT_META_NFPROTO);
        nft_rule_cmp(b, NFT_CMP_EQ, &family, sizeof(family));
}

void nft_rule_cmp_ifname(struct nft_rule_builder *b, const char *name) {
        char padded[IFNAMSIZ] = { 0 }; /* the register holds IFNAMSIZ bytes */

        strncpy(padded, name, sizeof(padded) - 1);
        nft_rule_cmp(b, NFT_CMP_EQ, padded, sizeof(padded));
}

void nft_rule_oifname(struct nft_rule_builder *b, const char *name) {
        nft_rule_meta(b, NFT_META_OIFNAME);
        nft_rule_cmp_ifname(b, name);
}

static struct nlmsghdr *batch_header(struct nft_batch *batch, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch->b), type, NFPROTO_INET,
                                                     flags | NLM_F_ACK, batch->seq++);
        batch->acks++;
        return nlh;
}

static void batch_next(struct nft_batch *batch) {
        if (!mnl_nlmsg_batch_next(batch->b))
                batch->broken = true; /* the caller's buffer is too small for its rules */
}

void nft_batch_start(struct nft_batch *batch, void *buffer, size_t size) {
        *batch = (struct nft_batch){ .seq = (uint32_t)time(NULL) };
        batch->b = mnl_nlmsg_batch_start(buffer, size);
        nftnl_batch_begin(mnl_nlmsg_batch_current(batch->b), batch->seq++);
        batch_next(batch);
}

void nft_batch_table(struct nft_batch *batch, const char *name) {
        struct nftnl_table *t = nftnl_table_alloc();

        if (!t) {
                batch->broken = true;
                return;
        }
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
        struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWTABLE, NLM_F_CREATE);
        nftnl_table_nlmsg_build_payload(nlh, t);
        batch_next(batch);
        nftnl_table_free(t);
}

void nft_batch_nat_chain(struct nft_batch *batch, const char *table, const char *name, uint32_t hooknum,
                         int32_t priority) {
        struct nftnl_chain *c = nftnl_chain_alloc();

        if (!c) {
                batch->broken = true;
                return;
        }
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hooknum);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        batch_next(batch);
        nftnl_chain_free(c);
}

void nft_batch_rule(struct nft_batch *batch, struct nft_rule_builder *b) {
        if (b->broken || !b->rule)
                batch->broken = true;
        else {
                struct nlmsghdr *nlh = batch_header(batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
                nftnl_rule_nlmsg_build_payload(nlh, b->rule);
                batch_next(batch);
        }
        if (b->rule)
                nftnl_rule_free(b->rule);
        *b = (struct nft_rule_builder){ 0 };
}

/* Send the batch and collect one ack per message; the first error is returned. */
static int batch_send(struct nft_batch *batch) {
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

int nft_batch_commit(struct nft_batch *batch) {
        int r;

        nftnl_batch_end(mnl_nlmsg_batch_current(batch->b), batch->seq++);
        batch_next(batch);
        r = batch->broken ? -ENOMEM : batch_send(batch);
        mnl_nlmsg_batch_stop(batch->b);
        return r;
}
