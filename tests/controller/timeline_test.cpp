#include "controller/plan/timeline.h"

#include <catch2/catch.hpp>

#include "controller/scenario/parse.h"
#include "tests/support/parse_scenario.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {
Scenario parse(const std::string& text) {
  return faultline::test::parse_or_fail(text);
}
}  // namespace

TEST_CASE("the timeline orders phases, applies and reverts, reverts first at equal times") {
  const Scenario s = parse(R"(
version: 1
title: t
blast_radius: {max_duration: 1m}
phases: {before: 2s, after: 4s}
recovery: {within: 3s}
faults:
  - {name: b, at: 5s, duration: 1s, cpu_stress: {}}
  - {name: a, at: 0s, duration: 5s, cpu_stress: {}}
)");
  const Timeline t = plan_timeline(s);
  CHECK(t.during_start == 2s);
  CHECK(t.during_end == 8s);
  CHECK(t.total == 12s);
  REQUIRE(t.events.size() == 8);
  auto is = [&](size_t i, Duration at, EventType type) {
    INFO("event " << i);
    CHECK(t.events[i].at == at);
    CHECK(t.events[i].type == type);
  };
  is(0, 0s, EventType::PhaseStart);
  is(1, 2s, EventType::PhaseStart);
  is(2, 2s, EventType::FaultApply);
  CHECK(s.faults[t.events[2].fault].name == "a");
  is(3, 7s, EventType::FaultRevert);
  CHECK(s.faults[t.events[3].fault].name == "a");
  is(4, 7s, EventType::FaultApply);
  CHECK(s.faults[t.events[4].fault].name == "b");
  is(5, 8s, EventType::FaultRevert);
  is(6, 8s, EventType::PhaseStart);
  CHECK(t.events[6].phase == Phase::After);
  is(7, 12s, EventType::RunEnd);
  CHECK(format_timeline(s, t) ==
        "  +0s        phase  before\n"
        "  +2s        phase  during\n"
        "  +2s        apply  a (cpu_stress load=100% workers=1, for 5s)\n"
        "  +7s        revert a\n"
        "  +7s        apply  b (cpu_stress load=100% workers=1, for 1s)\n"
        "  +8s        revert b\n"
        "  +8s        phase  after\n"
        "  +12s       end\n");
}

TEST_CASE("a one-shot fault ends the during phase at its start") {
  const Scenario s = parse(R"(
version: 1
title: t
targets: {w: {processes: {name: x}}}
blast_radius: {max_duration: 1m}
faults:
  - {name: k, target: w, at: 1500ms, process_kill: {}}
)");
  const Timeline t = plan_timeline(s);
  CHECK(t.during_end == 4500ms);  // default before 3s + 1.5s
  CHECK(t.total == 14500ms);      // + after, which defaults to recovery.within (10s)
}
