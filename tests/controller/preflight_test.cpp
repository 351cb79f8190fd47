// Preflight refuses a probe that an agent would refuse, before the run touches anything: with
// the agent's own check of a RunProbe request (agent/wire/wire.cpp), not a copy of its limits.
#include "controller/fleet/preflight.h"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace std::chrono_literals;

TEST_CASE("preflight names a probe that its agent would refuse", "[preflight]") {
  Scenario s;
  ProbeSpec probe;
  probe.name = "db-ready";
  probe.type = ProbeType::Command;
  probe.command.run = "pg_isready -q";
  probe.command.timeout = 2min;  // not through validate, which refuses it
  probe.on = "db-1";
  s.steady_state.push_back(probe);
  // Nothing listens on port 1: the agent's description fails too, and is reported after.
  Agent agent{.name = "db-1", .address = "127.0.0.1:1", .host = "127.0.0.1", .port = 1};
  agent.plaintext = true;
  Inventory inventory{.file = "inventory.yaml", .tls = std::nullopt, .agents = {agent}};
  HostPlan plan;
  AgentPool pool;
  plan.probes.push_back({0, agent});

  const std::vector<std::string> problems = preflight_problems(pool, s, plan, inventory, 10s);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] ==
        "probe 'db-ready': agent db-1 would refuse it: command.timeout_ms 120000ms is longer "
        "than the 1m a probe may take (on agents too); give 1m or less");
  CHECK_THAT(problems[1], Catch::StartsWith("agent db-1: "));

  // Within the limits, only the unreachable agent is a problem.
  plan.probes.clear();
  s.steady_state[0].command.timeout = 60s;
  plan.probes.push_back({0, agent});
  const std::vector<std::string> within = preflight_problems(pool, s, plan, inventory, 10s);
  REQUIRE(within.size() == 1);
  CHECK_THAT(within[0], Catch::StartsWith("agent db-1: "));
}
