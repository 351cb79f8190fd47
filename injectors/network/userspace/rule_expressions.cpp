#include "injectors/network/userspace/rule_expressions.h"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <net/if.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace faultline {
namespace {

// The share's scale: numgen draws 0..9999, and a Percent is in basis points.
constexpr uint32_t kShareModulus = 10000;

nftnl_expr* expression(const char* name) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  if (e == nullptr) throw std::bad_alloc();
  return e;
}

void add_meta_load(nftnl_rule* rule, uint32_t key) {
  nftnl_expr* e = expression("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr(rule, e);
}

void add_compare(nftnl_rule* rule, uint32_t op, const void* data, uint32_t length) {
  nftnl_expr* e = expression("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, length);
  nftnl_rule_add_expr(rule, e);
}

void add_verdict(nftnl_rule* rule, int verdict) {
  nftnl_expr* e = expression("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
  nftnl_rule_add_expr(rule, e);
}

// (32 bits at `key.offset` from the network header & mask) == value, as u32 compares them:
// only the bits under the mask count.
void add_key(nftnl_rule* rule, const U32Key& key) {
  nftnl_expr* load = expression("payload");
  nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
  nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_OFFSET, static_cast<uint32_t>(key.offset));
  nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_LEN, sizeof(uint32_t));
  nftnl_rule_add_expr(rule, load);
  // A full mask needs no AND; without it `nft list` prints the field by name (ip daddr 10.0.0.1).
  if (key.mask != 0xffffffffu) {
    const uint32_t mask = htonl(key.mask), zero = 0;
    nftnl_expr* bitwise = expression("bitwise");
    nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(bitwise, NFTNL_EXPR_BITWISE_LEN, sizeof mask);
    nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
    nftnl_expr_set(bitwise, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
    nftnl_rule_add_expr(rule, bitwise);
  }
  const uint32_t value = htonl(key.value & key.mask);
  add_compare(rule, NFT_CMP_EQ, &value, sizeof value);
}

}  // namespace

void add_match(nftnl_rule* rule, const U32Match& match) {
  // tc picks the filter by the packet's protocol (ETH_P_IP or ETH_P_IPV6); in an inet table
  // that is the packet's netfilter family.
  add_meta_load(rule, NFT_META_NFPROTO);
  const uint8_t family = match.family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  add_compare(rule, NFT_CMP_EQ, &family, sizeof family);
  for (const U32Key& key : match.keys)
    if (key.mask != 0) add_key(rule, key);
}

void add_other_interface(nftnl_rule* rule, bool egress, const std::string& interface) {
  add_meta_load(rule, egress ? NFT_META_OIFNAME : NFT_META_IIFNAME);
  // The kernel loads the name zero-padded to IFNAMSIZ, so the whole padded name is compared.
  char name[IFNAMSIZ] = {};
  std::memcpy(name, interface.data(), std::min(interface.size(), sizeof name - 1));
  add_compare(rule, NFT_CMP_NEQ, name, sizeof name);
}

void add_mark(nftnl_rule* rule, uint32_t mark) {
  add_meta_load(rule, NFT_META_MARK);
  add_compare(rule, NFT_CMP_EQ, &mark, sizeof mark);  // the mark is in host order in the register
}

void add_counter(nftnl_rule* rule) {
  nftnl_rule_add_expr(rule, expression("counter"));
}

void add_accept(nftnl_rule* rule) {
  add_verdict(rule, NF_ACCEPT);
}

void add_drop(nftnl_rule* rule) {
  add_verdict(rule, NF_DROP);
}

void add_nfqueue(nftnl_rule* rule, uint16_t queue_number) {
  nftnl_expr* e = expression("target");
  nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
  nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
  // libnftnl keeps this pointer and frees it with the expression: it must come from malloc.
  auto* info = static_cast<xt_NFQ_info_v3*>(std::calloc(1, sizeof(xt_NFQ_info_v3)));
  if (info == nullptr) throw std::bad_alloc();
  info->queuenum = queue_number;
  info->queues_total = 1;
  info->flags = NFQ_FLAG_BYPASS;
  nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof *info);
  nftnl_rule_add_expr(rule, e);
}

void add_random_share(nftnl_rule* rule, int64_t basis_points) {
  nftnl_expr* draw = expression("numgen");
  nftnl_expr_set_u32(draw, NFTNL_EXPR_NG_DREG, NFT_REG_1);
  nftnl_expr_set_u32(draw, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
  nftnl_expr_set_u32(draw, NFTNL_EXPR_NG_MODULUS, kShareModulus);
  nftnl_expr_set_u32(draw, NFTNL_EXPR_NG_OFFSET, 0);
  nftnl_rule_add_expr(rule, draw);
  // cmp orders its operands as byte strings (memcmp), so the host-order draw is turned into
  // network order first, as nft itself does for `numgen ... < N`.
  nftnl_expr* order = expression("byteorder");
  nftnl_expr_set_u32(order, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
  nftnl_expr_set_u32(order, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
  nftnl_expr_set_u32(order, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
  nftnl_expr_set_u32(order, NFTNL_EXPR_BYTEORDER_LEN, sizeof(uint32_t));
  nftnl_expr_set_u32(order, NFTNL_EXPR_BYTEORDER_SIZE, sizeof(uint32_t));
  nftnl_rule_add_expr(rule, order);
  const uint32_t share = htonl(static_cast<uint32_t>(basis_points));
  add_compare(rule, NFT_CMP_LT, &share, sizeof share);
}

}  // namespace faultline
