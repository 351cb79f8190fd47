// Two faults, one interface: both pass prepare (neither has touched the interface yet), the
// first is applied, and the second must then be refused at apply time without removing anything
// of the first's. Its revert, too, removes only what it created itself. Through the LocalAgent,
// as the agent and the engine use it, in namespaces the test makes.
#include <catch2/catch.hpp>
#include <regex>

#include "agent/local/local_agent.h"
#include "tests/support/netns.h"

using namespace faultline;
using faultline::test::NamespacePair;

namespace {

const char* const kTaken =
    "interface 'fl-a' already carries a faultline network fault; two faults on one interface "
    "are refused (scope one fault to cover both, or use another interface)";

// A bandwidth fault on fl-a inside namespace `netns`, in the direction given.
FaultRequest bandwidth_on_fl_a(const std::string& id, const std::string& netns,
                               const std::string& direction, const std::string& ports) {
  FaultRequest r;
  r.id = id;
  r.kind = "bandwidth";
  const std::map<std::string, std::string> given = {
      {"interface", "fl-a"},    {"netns", netns},
      {"direction", direction}, {"destination", "10.200.0.2/32"},
      {"ports", ports},         {"protocol", "tcp"},
      {"rate", "1mbit"},        {"burst", "32kb"},
      {"limit", "128kb"}};
  for (const ParamSpec& s : find_injector("bandwidth")->params) {
    const auto it = given.find(std::string(s.name));
    if (it == given.end() && s.default_value.empty()) continue;
    auto value =
        parse_param_value(s, it != given.end() ? it->second : std::string(s.default_value));
    INFO("parameter " << s.name);
    REQUIRE(value);
    r.params.set(std::string(s.name), *value);
  }
  r.duration = std::chrono::seconds(30);
  return r;
}

// What the namespace holds, as iproute2 shows it: every qdisc with its details, every link.
struct NetnsView {
  std::string qdiscs, links;
};

// htb's direct_packets_stat counts packets, not structure: a stray IPv6 neighbour or router
// solicitation through the first fault's tree moves it. Everything else must be the same.
std::string without_packet_counts(std::string text) {
  return std::regex_replace(text, std::regex("direct_packets_stat [0-9]+"),
                            "direct_packets_stat N");
}

NetnsView view(const NamespacePair& net) {
  NetnsView v;
  const int tc = net.exec(net.a(), "tc -d qdisc show", &v.qdiscs);
  INFO("tc -d qdisc show: " << v.qdiscs);
  REQUIRE(tc == 0);
  v.qdiscs = without_packet_counts(v.qdiscs);
  const int ip = net.exec(net.a(), "ip -o link show", &v.links);
  INFO("ip -o link show: " << v.links);
  REQUIRE(ip == 0);
  return v;
}

void check_same(const NetnsView& now, const NetnsView& expected) {
  CHECK(now.qdiscs == expected.qdiscs);
  CHECK(now.links == expected.links);
}

void two_owners_one_interface(const std::string& direction) {
  NamespacePair net;
  const NetnsView before = view(net);
  LocalAgent agent;
  const TimePoint deadline = Clock::now() + std::chrono::minutes(1);
  auto first =
      agent.prepare(bandwidth_on_fl_a("first", net.a(), direction, "8080"), "owner-1", deadline);
  INFO("prepare first: " << (first ? "" : first.error().message));
  REQUIRE(first);
  // Nothing is applied yet, so the second passes prepare too: its check alone cannot protect
  // the first.
  auto second =
      agent.prepare(bandwidth_on_fl_a("second", net.a(), direction, "9090"), "owner-2", deadline);
  INFO("prepare second: " << (second ? "" : second.error().message));
  REQUIRE(second);

  auto applied_first = agent.apply("first", Clock::now());
  INFO("apply first: " << (applied_first ? "" : applied_first.error().message));
  REQUIRE(applied_first);
  const NetnsView with_first = view(net);
  if (direction != "ingress") {
    CHECK(with_first.qdiscs.find("qdisc htb fa01: dev fl-a root") != std::string::npos);
    CHECK(with_first.qdiscs.find("qdisc tbf fa02: dev fl-a parent fa01:1") != std::string::npos);
  }
  if (direction != "egress") {
    CHECK(with_first.qdiscs.find("qdisc ingress ffff: dev fl-a parent ffff:fff1") !=
          std::string::npos);
    CHECK(with_first.links.find(": flifb") != std::string::npos);
  }
  const nlohmann::json first_plan = agent.undo_plan("first");

  auto applied_second = agent.apply("second", Clock::now());
  REQUIRE_FALSE(applied_second);
  CHECK(applied_second.error().message == kTaken);
  // It created nothing, so it has nothing to undo: its plan names nothing of the first's.
  CHECK(agent.undo_plan("second") == nlohmann::json::array());
  auto reverted_second = agent.revert("second");
  INFO("revert second: " << (reverted_second ? "" : reverted_second.error().message));
  CHECK(reverted_second);

  // The first's tree is exactly as its apply left it, and it is still reported active.
  check_same(view(net), with_first);
  CHECK(agent.active_deadline("first") == deadline);
  CHECK(agent.undo_plan("first") == first_plan);
  const std::optional<FaultState> state = agent.state("first");
  REQUIRE(state);
  CHECK(state->confirmed);
  CHECK(state->apply_error.empty());

  auto reverted_first = agent.revert("first");
  INFO("revert first: " << (reverted_first ? "" : reverted_first.error().message));
  REQUIRE(reverted_first);
  check_same(view(net), before);
}

}  // namespace

TEST_CASE("a second egress fault on an interface is refused at apply and leaves the first's tree",
          "[network]") {
  two_owners_one_interface("egress");
}

TEST_CASE(
    "a second ingress fault on an interface is refused at apply and leaves the first's "
    "redirect and IFB",
    "[network]") {
  two_owners_one_interface("ingress");
}

TEST_CASE("a second fault in both directions is refused at apply and leaves the first's trees",
          "[network]") {
  two_owners_one_interface("both");
}
