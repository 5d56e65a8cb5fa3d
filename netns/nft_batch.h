/* nft_batch.h: nf_tables rules of the node's network namespace, built with libnftnl and sent in
 * one batch, so that a rule set goes in whole or not at all.
 *
 * Everything here is family inet (IPv4 and IPv6 in one table; a rule for one family matches
 * meta nfproto first). Allocation failures are recorded and the batch refuses to send, so a
 * caller builds without checking each step and looks at nft_batch_commit()'s result once. */
#pragma once

#include <libnftnl/rule.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A rule under construction; `broken` records the first allocation that failed. */
struct nft_rule_builder {
        struct nftnl_rule *rule;
        bool broken;
};

/* The messages of one transaction, and how many of them ask for an ack. */
struct nft_batch {
        struct mnl_nlmsg_batch *b;
        uint32_t seq;
        unsigned acks;
        bool broken;
};

/* Start a transaction in `buffer` (NLMSG_ALIGNTO-aligned, `size` bytes: room for every message). */
void nft_batch_start(struct nft_batch *batch, void *buffer, size_t size);
/* The table `name` (created if missing, kept if there). */
void nft_batch_table(struct nft_batch *batch, const char *name);
/* A base chain of type nat on `hooknum` (NF_INET_*) at `priority`, policy accept. */
void nft_batch_nat_chain(struct nft_batch *batch, const char *table, const char *name, uint32_t hooknum,
                         int32_t priority);
/* Appends the built rule (or marks the batch broken) and frees it. */
void nft_batch_rule(struct nft_batch *batch, struct nft_rule_builder *b);
/* End the transaction, send it and collect the acks. Returns 0, or the first error (negative
 * errno: the kernel's, or -ENOMEM when building failed); the kernel applied nothing then. */
int nft_batch_commit(struct nft_batch *batch);

/* A rule for `chain` of `table`; its matches and statements follow, in order. */
void nft_rule_begin(struct nft_rule_builder *b, const char *table, const char *chain);
/* reg 1 = meta `key` (NFT_META_*). */
void nft_rule_meta(struct nft_rule_builder *b, uint32_t key);
/* reg 1 = `length` bytes of the network header at `offset`. */
void nft_rule_network_header(struct nft_rule_builder *b, uint32_t offset, uint32_t length);
/* reg 1 &= mask (`length` bytes). */
void nft_rule_mask(struct nft_rule_builder *b, const void *mask, uint32_t length);
/* Go on only when reg 1 == data (`op` NFT_CMP_EQ) or != data (NFT_CMP_NEQ). */
void nft_rule_cmp(struct nft_rule_builder *b, uint32_t op, const void *data, uint32_t length);
/* Go on only for packets of `family` (NFPROTO_IPV4, NFPROTO_IPV6). */
void nft_rule_nfproto(struct nft_rule_builder *b, uint8_t family);
/* Go on only when reg 1 holds the interface name `name` (IFNAMSIZ bytes, zero-padded). */
void nft_rule_cmp_ifname(struct nft_rule_builder *b, const char *name);
/* Go on only when the packet leaves through the interface `name` (meta oifname). */
void nft_rule_oifname(struct nft_rule_builder *b, const char *name);
/* An expression of the caller's own making (NULL: the allocation failed). */
void nft_rule_expr(struct nft_rule_builder *b, struct nftnl_expr *e);
