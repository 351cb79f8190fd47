#pragma once
// The nf_tables expressions the userspace backend's rules are made of, appended to a libnftnl
// rule: the scope's u32 matches as payload matches, the interface and mark tests, the counter
// and the actions (the xtables NFQUEUE target, or a random share dropped in the kernel).
// Only queue_rules.cpp and its tests use this; libnftnl's types stay out of queue_rules.h.
#include <cstdint>
#include <string>

#include "injectors/network/scope.h"

struct nftnl_rule;

namespace faultline {

// The packets that tc_tree's u32 filter for `match` classifies, and no others: the family
// (meta nfproto), then each key as a 4-byte load at its offset from the network header, masked
// and compared in network byte order. A key whose mask is 0 is left out: u32 reads its 4 bytes
// at offset 0, which every IP packet has, so it matches everything.
void add_match(nftnl_rule* rule, const U32Match& match);

// `oifname != interface` (egress) or `iifname != interface` (ingress).
void add_other_interface(nftnl_rule* rule, bool egress, const std::string& interface);

// `meta mark == mark`.
void add_mark(nftnl_rule* rule, uint32_t mark);

void add_counter(nftnl_rule* rule);
void add_accept(nftnl_rule* rule);
void add_drop(nftnl_rule* rule);

// `queue num N bypass`: the xtables NFQUEUE target (revision 3) through nft_compat, which
// kernels without the native nft queue expression (CONFIG_NFT_QUEUE) still have. Bypass: with
// no program bound to the queue the packets pass.
void add_nfqueue(nftnl_rule* rule, uint16_t queue_number);

// `numgen random mod 10000 < basis_points`: true for that share of packets, each drawn on its
// own (an exact Bernoulli draw in the kernel).
void add_random_share(nftnl_rule* rule, int64_t basis_points);

}  // namespace faultline
