// The userspace backend's nftables expressions, built and read back without a kernel: a u32
// match becomes the same masked comparisons in network byte order, and the actions are what
// the journal's listing says.
#include "injectors/network/userspace/rule_expressions.h"

#include <libnftnl/rule.h>

#include <catch2/catch.hpp>
#include <memory>

#include "injectors/network/userspace/queue_rules.h"
#include "injectors/network/userspace/rule_listing.h"

using namespace faultline;

namespace {

struct RuleFree {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};

template <class Fill>
std::string rule_text(Fill fill) {
  std::unique_ptr<nftnl_rule, RuleFree> rule(nftnl_rule_alloc());
  fill(rule.get());
  return describe_rule(rule.get());
}

}  // namespace

TEST_CASE("a u32 match becomes payload matches in network byte order", "[rule-expressions]") {
  U32Match match;
  match.family = 4;
  match.keys = {
      {0x05000000, 0x0f000000, 0},   // IHL 5
      {0x0ac80002, 0xffffffff, 16},  // daddr 10.200.0.2: a full mask needs no AND
      {0x00001f90, 0x0000ffff, 20},  // dport 8080
  };
  CHECK(rule_text([&](nftnl_rule* r) { add_match(r, match); }) ==
        "meta nfproto ipv4 @nh,0,32 & 0xf000000 == 0x5000000 @nh,128,32 0xac80002 @nh,160,32 & "
        "0xffff == 0x1f90");
}

TEST_CASE("bits outside a key's mask are not compared, and a key with no mask matches all",
          "[rule-expressions]") {
  U32Match match;
  match.family = 6;
  // u32 compares (packet ^ value) & mask: value bits outside the mask never count.
  match.keys = {{0xffff1f90, 0x0000ffff, 40}, {0, 0, 0}};
  CHECK(rule_text([&](nftnl_rule* r) { add_match(r, match); }) ==
        "meta nfproto ipv6 @nh,320,32 & 0xffff == 0x1f90");
}

TEST_CASE("the interface, mark, queue and random-share expressions", "[rule-expressions]") {
  CHECK(rule_text([](nftnl_rule* r) {
          add_other_interface(r, true, "eth0");
          add_accept(r);
        }) == "oifname != \"eth0\" accept");
  CHECK(rule_text([](nftnl_rule* r) {
          add_other_interface(r, false, "eth0");
          add_accept(r);
        }) == "iifname != \"eth0\" accept");
  CHECK(rule_text([](nftnl_rule* r) {
          add_mark(r, kUserspaceBypassMark);
          add_accept(r);
        }) == "meta mark 0xfa170001 accept");
  CHECK(rule_text([](nftnl_rule* r) {
          add_counter(r);
          add_nfqueue(r, 64000);
        }) == "counter packets 0 bytes 0 queue num 64000 bypass");
  CHECK(rule_text([](nftnl_rule* r) {
          add_counter(r);
          add_random_share(r, 1250);
          add_counter(r);
          add_drop(r);
        }) ==
        "counter packets 0 bytes 0 numgen random mod 10000 < 1250 counter packets 0 bytes 0 "
        "drop");
}
