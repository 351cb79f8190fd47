// Inputs the fuzzers (fuzz/) found that crashed a parser, each with what it must give now, in
// the normal suite. Where the bug gave a wrong value the test asserts it; where it was a memory
// error that a plain build survives, the sanitizer build of the suite is what fails it.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>

#include "agent/daemon/agent_config.h"
#include "agent/wire/wire.h"
#include "controller/inventory/inventory.h"
#include "controller/scenario/parse.h"

using namespace faultline;

namespace {

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

// wire_fuzzer, FaultStatus: applied_at_unix_ms 217599998928896 (the year 8865) overflowed the
// nanoseconds of a system_clock time (signed overflow, UBSan). It is clamped to the last time
// a system_clock time holds (2262).
TEST_CASE("an agent's time beyond 2262 is clamped, not overflowed", "[fuzz][wire]") {
  const std::string input(
      "\x0a\x01o\x12\x01"
      "f\x1a\x07network \x01(\x80\xd0\x8e\x95\xff\xbc\x31R\x11{\"dyl_a\x02\x00\x00\x00\x00\x00\x00"
      "\x00"
      "0}Z\x02ok`\x01h\xdc\x0b",
      53);
  wire::v1::FaultStatus status;
  REQUIRE(status.ParseFromString(input));
  REQUIRE(status.applied_at_unix_ms() == 217599998928896);
  const FaultReport r = wire::decode(status);
  REQUIRE(r.applied_at.has_value());
  CHECK(unix_ms(*r.applied_at) == 9223372036854);
  CHECK(r.lease_remaining == std::chrono::milliseconds(1500));
}

// The same overflow through lease_remaining_ms: a uint64 near its end became a negative lease.
TEST_CASE("an agent's lease over a day is clamped to a day", "[fuzz][wire]") {
  wire::v1::FaultStatus status;
  status.set_lease_remaining_ms(UINT64_MAX);
  CHECK(wire::decode(status).lease_remaining == std::chrono::hours(24));
  status.set_lease_remaining_ms(2500);
  CHECK(wire::decode(status).lease_remaining == std::chrono::milliseconds(2500));
}

// scenario_fuzzer, inventory_fuzzer and agent_config_fuzzer, on their first seeds, when files
// were read with yaml-cpp: every YAML mapping read through YamlReader::mapping bound
// `const YAML::Node& key = it->first`, a reference into a proxy that yaml-cpp's iterator
// returns by value and that is gone by the next statement (ASan: stack-use-after-scope). The
// reader is libyaml's now; these stay as tests of the same readers. Without a sanitizer the dead slot usually still held
// the node, so these pass either way in a plain build; the ASan build of the suite fails them.
TEST_CASE("every key of a mapping is read from a live node", "[fuzz][yaml]") {
  SECTION("a scenario without a title (tests/malformed/15-missing-title.yaml)") {
    const ParsedScenario parsed = parse_scenario_text(
        "version: 1\nblast_radius:\n  max_duration: 1m\nfaults:\n  - name: burn\n    at: 0s\n"
        "    duration: 10s\n    cpu_stress: {}\n",
        "t.yaml");
    REQUIRE(parsed.errors.size() == 1);
    CHECK(format_diagnostic(parsed.errors[0]) ==
          "t.yaml:1:1: error: the scenario is missing the required key 'title'");
  }
  SECTION("an inventory of two loopback agents") {
    const ParsedInventory parsed = parse_inventory_text(
        "agents:\n  - {name: web-1, address: \"127.0.0.1:7443\", plaintext: true, labels: {role: "
        "app}}\n  - {name: v6, address: \"[::1]:7444\", plaintext: true}\n",
        "/i/inventory.yaml");
    for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
    REQUIRE(parsed.inventory.has_value());
    REQUIRE(parsed.inventory->agents.size() == 2);
    CHECK(parsed.inventory->agents[0].labels ==
          std::map<std::string, std::string>{{"role", "app"}});
    CHECK(parsed.inventory->agents[1].host == "::1");
    CHECK(parsed.inventory->agents[1].port == 7444);
  }
  SECTION("a plaintext agent config") {
    const AgentConfigResult parsed =
        parse_agent_config("host: web-1\nlisten: 127.0.0.1:7443\nplaintext: true\n", "/a.yaml");
    for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
    REQUIRE(parsed.config.has_value());
    CHECK(parsed.config->host == "web-1");
    CHECK(parsed.config->listen == "127.0.0.1:7443");
  }
}
