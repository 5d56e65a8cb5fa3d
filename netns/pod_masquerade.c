/* pod_masquerade.c: one nf_tables rule that masquerades the pods' traffic leaving the node. */
#include "netns/pod_masquerade.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netns/nft_batch.h"
#include "netns/tap.h"

#define BATCH_SIZE 4096 /* the rule takes well under 1 KiB */

int pod_masquerade_setup(const struct network_options *options) {
        static char buffer[BATCH_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
        const struct in_addr multicast = { htonl(0xe0000000) }, multicast_mask = { htonl(0xf0000000) };
        struct network_layout layout;
        struct nft_rule_builder b;
        struct nft_batch batch;

        network_options_layout(options, &layout);
        nft_batch_start(&batch, buffer, sizeof(buffer));
        nft_batch_table(&batch, POD_MASQUERADE_TABLE);
        nft_batch_nat_chain(&batch, POD_MASQUERADE_TABLE, "post", NF_INET_POST_ROUTING, 100);

        nft_rule_begin(&b, POD_MASQUERADE_TABLE, "post");
        nft_rule_nfproto(&b, NFPROTO_IPV4);
        nft_rule_oifname(&b, TAP_NAME);
        /* The node's own traffic has its address already. */
        nft_rule_network_header(&b, 12, 4); /* saddr */
        nft_rule_cmp(&b, NFT_CMP_NEQ, &layout.guest, 4);
        nft_rule_network_header(&b, 16, 4); /* daddr */
        nft_rule_mask(&b, &multicast_mask, 4);
        nft_rule_cmp(&b, NFT_CMP_NEQ, &multicast, 4);
        nft_rule_expr(&b, nftnl_expr_alloc("masq"));
        nft_batch_rule(&batch, &b);
        return nft_batch_commit(&batch);
}
