// network_partition's pure half: parameters through its ParamSpecs, the checks between them, the
// exact nft script, the words of the report, and counters read from a kernel listing.
#include <catch2/catch.hpp>

#include "injectors/injector.h"
#include "injectors/network/lifelines.h"
#include "injectors/network_partition/partition_script.h"

namespace faultline {
namespace {

const InjectorDescriptor& descriptor() {
  const InjectorDescriptor* d = find_injector("network_partition");
  REQUIRE(d != nullptr);
  return *d;
}

// Parses `key=value` pairs the way a scenario's would be, defaults included.
ParsedParams parse(std::vector<std::pair<std::string, std::string>> pairs) {
  std::vector<RawParam> raw;
  for (auto& [k, v] : pairs) raw.push_back({k, v, {"t.yaml", 1, 1}, {"t.yaml", 1, 9}});
  return parse_params(descriptor().params, raw, {"t.yaml", 1, 1}, "fault 'cut'");
}

PartitionSpec spec(std::vector<std::pair<std::string, std::string>> pairs) {
  ParsedParams p = parse(std::move(pairs));
  INFO((p.errors.empty() ? std::string() : p.errors.front().message));
  REQUIRE(p.errors.empty());
  return partition_spec(p.params);
}

std::vector<std::string> problems(std::vector<std::pair<std::string, std::string>> pairs) {
  ParsedParams p = parse(std::move(pairs));
  REQUIRE(p.errors.empty());
  return descriptor().cross_check(p.params, std::chrono::seconds(10), ProcessSelector{});
}

}  // namespace

TEST_CASE("network_partition is a host fault with a required duration") {
  CHECK_FALSE(descriptor().targets_processes);
  CHECK(descriptor().duration == DurationRule::Required);
}

TEST_CASE("partition script: one TCP port to one host, both ways, dropped") {
  const PartitionSpec s =
      spec({{"destination", "10.200.0.2/32"}, {"ports", "8080"}, {"protocol", "tcp"}});
  CHECK(partition_script(s, "faultline_7_1") ==
        "create table inet faultline_7_1\n"
        "add chain inet faultline_7_1 input { type filter hook input priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_1 input tcp dport 22 accept\n"
        "add rule inet faultline_7_1 input tcp sport 22 accept\n"
        "add rule inet faultline_7_1 input ip saddr 10.200.0.2/32 tcp sport 8080 counter drop\n"
        "add chain inet faultline_7_1 output { type filter hook output priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_1 output tcp dport 22 accept\n"
        "add rule inet faultline_7_1 output tcp sport 22 accept\n"
        "add rule inet faultline_7_1 output ip daddr 10.200.0.2/32 tcp dport 8080 counter drop\n");
  CHECK(describe_partition(s) == "dropped tcp to 10.200.0.2/32 port 8080 both ways");
}

TEST_CASE("partition script: the agent's control port is accepted both ways, like SSH") {
  const PartitionSpec s = spec({{"destination", "10.200.0.2/32"}, {"protocol", "all"}});
  const LifelinePort agent_port(7443);
  const std::string script = partition_script(s, "faultline_7_1");
  CHECK(script.find("add rule inet faultline_7_1 input tcp dport 22 accept\n"
                    "add rule inet faultline_7_1 input tcp sport 22 accept\n"
                    "add rule inet faultline_7_1 input tcp dport 7443 accept\n"
                    "add rule inet faultline_7_1 input tcp sport 7443 accept\n"
                    "add rule inet faultline_7_1 input ip saddr 10.200.0.2/32 counter drop\n") !=
        std::string::npos);
  CHECK(script.find("add rule inet faultline_7_1 output tcp sport 7443 accept\n") !=
        std::string::npos);
}

TEST_CASE("partition script: IPv4 and IPv6 destinations get one rule per family") {
  const PartitionSpec s = spec({{"destination", "10.200.0.0/24,fd00:200::/64,10.9.0.0/16"},
                                {"ports", "53,5300-5399"},
                                {"local_ports", "4000"},
                                {"protocol", "udp"},
                                {"direction", "outgoing"},
                                {"action", "reject"}});
  CHECK(partition_script(s, "faultline_7_2") ==
        "create table inet faultline_7_2\n"
        "add chain inet faultline_7_2 output { type filter hook output priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_2 output tcp dport 22 accept\n"
        "add rule inet faultline_7_2 output tcp sport 22 accept\n"
        "add rule inet faultline_7_2 output ip daddr { 10.200.0.0/24, 10.9.0.0/16 } udp dport "
        "{ 53, 5300-5399 } udp sport 4000 counter reject\n"
        "add rule inet faultline_7_2 output ip6 daddr fd00:200::/64 udp dport { 53, 5300-5399 } "
        "udp sport 4000 counter reject\n");
  CHECK(describe_partition(s) ==
        "rejected udp to 10.200.0.0/24,fd00:200::/64,10.9.0.0/16 ports 53,5300-5399 local port "
        "4000 outgoing only");
}

TEST_CASE("partition script: ICMP from hosts, incoming only, rejected") {
  const PartitionSpec s = spec({{"destination", "10.200.0.2,fd00:200::2"},
                                {"protocol", "icmp"},
                                {"direction", "incoming"},
                                {"action", "reject"}});
  CHECK(partition_script(s, "faultline_7_3") ==
        "create table inet faultline_7_3\n"
        "add chain inet faultline_7_3 input { type filter hook input priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_3 input tcp dport 22 accept\n"
        "add rule inet faultline_7_3 input tcp sport 22 accept\n"
        "add rule inet faultline_7_3 input ip saddr 10.200.0.2/32 meta l4proto icmp counter "
        "reject\n"
        "add rule inet faultline_7_3 input ip6 saddr fd00:200::2/128 meta l4proto ipv6-icmp "
        "counter reject\n");
  CHECK(describe_partition(s) == "rejected icmp from 10.200.0.2/32,fd00:200::2/128 incoming only");
}

TEST_CASE("partition script: a local TCP port from anywhere, rejected with a reset") {
  const PartitionSpec s =
      spec({{"local_ports", "8080-8081"}, {"protocol", "tcp"}, {"action", "reject"}});
  CHECK(partition_script(s, "faultline_7_4") ==
        "create table inet faultline_7_4\n"
        "add chain inet faultline_7_4 input { type filter hook input priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_4 input tcp dport 22 accept\n"
        "add rule inet faultline_7_4 input tcp sport 22 accept\n"
        "add rule inet faultline_7_4 input tcp dport 8080-8081 counter reject with tcp reset\n"
        "add chain inet faultline_7_4 output { type filter hook output priority -300; policy "
        "accept; }\n"
        "add rule inet faultline_7_4 output tcp dport 22 accept\n"
        "add rule inet faultline_7_4 output tcp sport 22 accept\n"
        "add rule inet faultline_7_4 output tcp sport 8080-8081 counter reject with tcp reset\n");
  CHECK(describe_partition(s) == "rejected tcp local ports 8080-8081 both ways");
}

TEST_CASE("partition script: all traffic to a network, and a protocol without ports") {
  CHECK(
      partition_script(spec({{"destination", "10.200.0.0/24"}, {"direction", "outgoing"}}), "t") ==
      "create table inet t\n"
      "add chain inet t output { type filter hook output priority -300; policy accept; }\n"
      "add rule inet t output tcp dport 22 accept\n"
      "add rule inet t output tcp sport 22 accept\n"
      "add rule inet t output ip daddr 10.200.0.0/24 counter drop\n");
  CHECK(describe_partition(spec({{"destination", "10.200.0.0/24"}})) ==
        "dropped all traffic to 10.200.0.0/24 both ways");
  CHECK(partition_script(
            spec({{"destination", "fd00::/8"}, {"protocol", "udp"}, {"direction", "incoming"}}),
            "t") ==
        "create table inet t\n"
        "add chain inet t input { type filter hook input priority -300; policy accept; }\n"
        "add rule inet t input tcp dport 22 accept\n"
        "add rule inet t input tcp sport 22 accept\n"
        "add rule inet t input ip6 saddr fd00::/8 meta l4proto udp counter drop\n");
}

TEST_CASE(
    "network_partition refuses a scope that would cut everything, and ports without a "
    "port protocol") {
  CHECK(problems({}) ==
        std::vector<std::string>{
            "network_partition needs at least one of destination, ports or local_ports: a "
            "partition of all traffic would cut this host off, the operator's SSH session "
            "included"});
  CHECK(problems({{"protocol", "tcp"}, {"direction", "incoming"}}).size() == 1);
  CHECK(problems({{"ports", "8080"}}) ==
        std::vector<std::string>{"ports '8080' needs protocol tcp or udp (protocol is 'all')"});
  CHECK(problems({{"local_ports", "80,443"}, {"protocol", "icmp"}}) ==
        std::vector<std::string>{
            "local_ports '80,443' needs protocol tcp or udp (protocol is 'icmp')"});
  CHECK(problems({{"ports", "22,8080"}, {"protocol", "tcp"}}) ==
        std::vector<std::string>{"ports '22,8080': TCP port 22 (SSH) is never cut, so '22' "
                                 "would cut nothing; remove it"});
  CHECK(problems({{"ports", "22"}, {"protocol", "udp"}}).empty());
  CHECK(problems({{"destination", "10.0.0.0/8"}}).empty());
}

TEST_CASE("network_partition is a host fault: a process target is refused") {
  ParsedParams p = parse({{"destination", "10.0.0.0/8"}});
  ProcessSelector nginx;
  nginx.name = "nginx";
  CHECK(descriptor().cross_check(p.params, std::chrono::seconds(10), nginx) ==
        std::vector<std::string>{"network_partition cuts a host's or a container's traffic, "
                                 "not a process's: give it no process target"});
}

TEST_CASE("network_partition parameters quote the bad value") {
  auto errors = [](std::string key, std::string value) {
    ParsedParams p = parse({{key, value}});
    REQUIRE(p.errors.size() == 1);
    return p.errors.front().message;
  };
  CHECK(errors("destination", "10.200.0.1/24") ==
        "destination: '10.200.0.1/24' has host bits set below its /24 prefix; did you mean "
        "10.200.0.0/24?");
  CHECK(errors("ports", "80,0") ==
        "ports: '0' is not a port (1-65535) or a range such as 8000-8080");
  CHECK(errors("protocol", "tpc") ==
        "protocol must be one of tcp, udp, icmp, all (got 'tpc') (did you mean 'tcp'?)");
  CHECK(errors("direction", "in") ==
        "direction must be one of both, outgoing, incoming (got 'in')");
  CHECK(errors("action", "deny") == "action must be one of drop, reject (got 'deny')");
}

TEST_CASE("counters are read per rule from the kernel's listing") {
  const std::string listing =
      "table inet faultline_1_1 {\n"
      "\tchain input {\n"
      "\t\ttype filter hook input priority raw; policy accept;\n"
      "\t\ttcp dport 22 accept\n"
      "\t\ttcp sport 22 accept\n"
      "\t\tip saddr 10.200.0.2 tcp sport 8080 counter packets 3 bytes 180 drop\n"
      "\t}\n"
      "\n"
      "\tchain output {\n"
      "\t\ttype filter hook output priority raw; policy accept;\n"
      "\t\tip daddr 10.200.0.2 tcp dport 8080 counter packets 12 bytes 720 drop\n"
      "\t}\n"
      "}\n";
  const std::vector<RuleCounter> c = read_counters(listing);
  REQUIRE(c.size() == 2);
  CHECK(c[0].chain == "input");
  CHECK(c[0].rule == "ip saddr 10.200.0.2 tcp sport 8080 counter packets 3 bytes 180 drop");
  CHECK(c[0].packets == 3);
  CHECK(c[0].bytes == 180);
  CHECK(c[1].chain == "output");
  CHECK(c[1].packets == 12);
  CHECK(c[1].bytes == 720);
  CHECK(read_counters("").empty());
}

}  // namespace faultline
