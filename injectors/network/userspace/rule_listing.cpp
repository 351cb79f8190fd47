#include "injectors/network/userspace/rule_listing.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <cstring>
#include <vector>

namespace faultline {
namespace {

// What register 1 holds, as the rules of rule_expressions.h load it.
enum class Loaded { Nothing, Family, InterfaceName, Mark, Payload, Random };

struct Register {
  Loaded kind = Loaded::Nothing;
  std::string text;     // "meta nfproto", "@nh,160,32 & 0xffff", "numgen random mod 10000"
  bool masked = false;  // a bitwise AND was applied
};

uint32_t u32_data(const nftnl_expr* e, uint16_t attribute) {
  uint32_t length = 0;
  const void* data = nftnl_expr_get(e, attribute, &length);
  uint32_t out = 0;
  if (data != nullptr) std::memcpy(&out, data, std::min<uint32_t>(length, sizeof out));
  return out;
}

const char* operator_text(uint32_t op) {
  switch (op) {
    case NFT_CMP_EQ:
      return "==";
    case NFT_CMP_NEQ:
      return "!=";
    case NFT_CMP_LT:
      return "<";
    case NFT_CMP_LTE:
      return "<=";
    case NFT_CMP_GT:
      return ">";
    case NFT_CMP_GTE:
      return ">=";
    default:
      return "?";
  }
}

std::string compared_value(const Register& reg, const nftnl_expr* cmp) {
  uint32_t length = 0;
  const auto* data = static_cast<const char*>(nftnl_expr_get(cmp, NFTNL_EXPR_CMP_DATA, &length));
  if (data == nullptr) return "?";
  switch (reg.kind) {
    case Loaded::Family:
      return data[0] == NFPROTO_IPV4 ? "ipv4" : data[0] == NFPROTO_IPV6 ? "ipv6" : "?";
    case Loaded::InterfaceName:
      return fmt::format("\"{}\"", std::string(data, strnlen(data, length)));
    case Loaded::Mark:
      return fmt::format("{:#010x}", u32_data(cmp, NFTNL_EXPR_CMP_DATA));
    case Loaded::Payload:
      return fmt::format("{:#x}", ntohl(u32_data(cmp, NFTNL_EXPR_CMP_DATA)));
    case Loaded::Random:
      return fmt::format("{}", ntohl(u32_data(cmp, NFTNL_EXPR_CMP_DATA)));
    case Loaded::Nothing:
      break;
  }
  return "?";
}

std::string meta_text(uint32_t key, Loaded& kind) {
  switch (key) {
    case NFT_META_NFPROTO:
      kind = Loaded::Family;
      return "meta nfproto";
    case NFT_META_OIFNAME:
      kind = Loaded::InterfaceName;
      return "oifname";
    case NFT_META_IIFNAME:
      kind = Loaded::InterfaceName;
      return "iifname";
    case NFT_META_MARK:
      kind = Loaded::Mark;
      return "meta mark";
    default:
      kind = Loaded::Nothing;
      return fmt::format("meta key {}", key);
  }
}

std::string target_text(const nftnl_expr* e) {
  const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME);
  uint32_t length = 0;
  const void* info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &length);
  if (name != nullptr && std::strcmp(name, "NFQUEUE") == 0 &&
      nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV) == 3 && info != nullptr &&
      length >= sizeof(xt_NFQ_info_v3)) {
    xt_NFQ_info_v3 q{};
    std::memcpy(&q, info, sizeof q);
    return fmt::format("queue num {}{}", q.queuenum, (q.flags & NFQ_FLAG_BYPASS) ? " bypass" : "");
  }
  return fmt::format("[target {}]", name == nullptr ? "?" : name);
}

std::string expression_text(const nftnl_expr* e, Register& reg) {
  const std::string name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  if (name == "meta") {
    reg = {};
    reg.text = meta_text(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), reg.kind);
    return "";
  }
  if (name == "payload") {
    const uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
    static constexpr const char* kBases[] = {"@ll", "@nh", "@th", "@ih"};
    reg = {Loaded::Payload,
           fmt::format("{},{},{}", base < 4 ? kBases[base] : "@?",
                       nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET) * 8,
                       nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN) * 8),
           false};
    return "";
  }
  if (name == "bitwise") {
    reg.text += fmt::format(" & {:#x}", ntohl(u32_data(e, NFTNL_EXPR_BITWISE_MASK)));
    reg.masked = true;
    return "";
  }
  if (name == "numgen") {
    reg = {
        Loaded::Random,
        fmt::format("numgen {} mod {}",
                    nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE) == NFT_NG_RANDOM ? "random" : "inc",
                    nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS)),
        false};
    return "";
  }
  if (name == "byteorder") return "";  // only lets cmp order the value: not part of the text
  if (name == "cmp") {
    const uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
    // As nft prints them: an equality without a mask needs no operator.
    const bool bare = op == NFT_CMP_EQ && !reg.masked;
    return fmt::format("{} {}{}", reg.text, bare ? "" : std::string(operator_text(op)) + " ",
                       compared_value(reg, e));
  }
  if (name == "counter")
    return fmt::format("counter packets {} bytes {}", nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS),
                       nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES));
  if (name == "immediate") {
    const int verdict = static_cast<int>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
    return verdict == NF_ACCEPT ? "accept" : verdict == NF_DROP ? "drop" : "[verdict]";
  }
  if (name == "target") return target_text(e);
  return fmt::format("[{}]", name);
}

}  // namespace

std::string describe_rule(const nftnl_rule* rule) {
  std::vector<std::string> parts;
  Register reg;
  nftnl_expr_iter* it = nftnl_expr_iter_create(rule);
  if (it == nullptr) return "[rule]";
  for (nftnl_expr* e = nftnl_expr_iter_next(it); e != nullptr; e = nftnl_expr_iter_next(it))
    if (std::string text = expression_text(e, reg); !text.empty()) parts.push_back(std::move(text));
  nftnl_expr_iter_destroy(it);
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace faultline
