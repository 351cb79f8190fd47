#include "injectors/network/address.h"

#include <catch2/catch.hpp>

using namespace faultline;

TEST_CASE("CIDRs: IPv4, IPv6, hosts, and refusals that say what was meant") {
  CHECK(parse_cidr("10.1.0.0/16")->text() == "10.1.0.0/16");
  CHECK(parse_cidr("192.168.1.5")->text() == "192.168.1.5/32");
  CHECK(parse_cidr("fd00::/64")->text() == "fd00::/64");
  CHECK(parse_cidr("fd00::1")->prefix == 128);
  CHECK(parse_cidr("fd00::1")->family == 6);
  CHECK(parse_cidr("10.1.2.3/16").error().message ==
        "'10.1.2.3/16' has host bits set below its /16 prefix; did you mean 10.1.0.0/16?");
  CHECK(parse_cidr("10.0.0.0/33").error().message ==
        "'10.0.0.0/33' has a prefix length that is not between 0 and 32");
  CHECK(parse_cidr("db.local").error().message ==
        "'db.local' is not an IPv4 or IPv6 address; write e.g. 10.0.0.0/24 or fd00::/64");
  auto list = parse_cidr_list("10.0.0.0/8, fd00::/8");
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[1].text() == "fd00::/8");
}

TEST_CASE("ports and ranges") {
  auto l = parse_port_list("80,443,8000-8080");
  REQUIRE(l);
  REQUIRE(l->size() == 3);
  CHECK((*l)[2] == PortRange{8000, 8080});
  CHECK((*l)[2].text() == "8000-8080");
  CHECK(parse_port_list("0").error().message ==
        "'0' is not a port (1-65535) or a range such as 8000-8080");
  CHECK(parse_port_list("90-80").error().message ==
        "the port range '90-80' runs backwards; write '80-90'");
}

TEST_CASE("a port range becomes value/mask pairs that cover it exactly") {
  using Pairs = std::vector<std::pair<uint16_t, uint16_t>>;
  CHECK(port_range_masks({80, 80}) == Pairs{{80, 0xffff}});
  CHECK(port_range_masks({8000, 8007}) == Pairs{{8000, 0xfff8}});
  CHECK(port_range_masks({1, 65535}).size() == 16);
  // Exhaustive: every port is covered by exactly the masks of the ranges that contain it.
  for (PortRange r : {PortRange{1000, 1999}, PortRange{5, 7}, PortRange{65530, 65535}}) {
    const Pairs masks = port_range_masks(r);
    std::vector<uint32_t> wrong;
    for (uint32_t port = 1; port <= 65535; ++port) {
      int hits = 0;
      for (auto [value, mask] : masks) hits += (port & mask) == value ? 1 : 0;
      if (hits != (port >= r.first && port <= r.last ? 1 : 0)) wrong.push_back(port);
    }
    INFO("range " << r.text());
    CHECK(wrong.empty());
  }
}

TEST_CASE("loopback addresses", "[address]") {
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.255.255.254"));
  CHECK(is_loopback_address("::1"));
  CHECK_FALSE(is_loopback_address("128.0.0.1"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
  CHECK_FALSE(is_loopback_address("::2"));
  CHECK_FALSE(is_loopback_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback_address("localhost"));
}
