// The blast-radius verdict that plan prints and run enforces, against real processes.
#include "controller/plan/blast_radius.h"

#include <catch2/catch.hpp>

#include "controller/scenario/parse.h"
#include "tests/support/child_process.h"
#include "tests/support/parse_scenario.h"

using namespace faultline;
using faultline::test::ChildProcess;

namespace {
Scenario parse(const std::string& text) {
  return faultline::test::parse_or_fail(text);
}
}  // namespace

TEST_CASE("the blast radius lists eligible and protected targets and refuses too many") {
  ChildProcess a("/bin/sleep", "fl-test-br", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-br", {"1000"});
  ChildProcess guarded("/bin/sleep", "fl-test-br", {"2000"});
  const Scenario s = parse(R"(
version: 1
title: too wide
targets:
  sleepers: {processes: {name: fl-test-br}}
blast_radius:
  max_duration: 1m
  max_processes: 1
  protected:
    - cmdline: "fl-test-br 2000"
faults:
  - name: kill-all
    target: sleepers
    at: 1s
    process_kill: {count: all}
  - name: kill-one
    target: sleepers
    at: 2s
    process_kill: {count: 1}
)");
  const BlastRadiusVerdict v = check_blast_radius(s, plan_timeline(s));
  CHECK_FALSE(v.ok);
  REQUIRE(v.faults.size() == 2);
  CHECK(v.faults[0].resolution.matched.size() == 2);
  REQUIRE(v.faults[0].resolution.excluded.size() == 1);
  CHECK(v.faults[0].resolution.excluded[0].process.pid == guarded.pid());
  CHECK(v.faults[0].resolution.excluded[0].reason ==
        "protected by blast_radius.protected: cmdline='fl-test-br 2000'");
  CHECK(v.faults[0].would_affect == 2);
  CHECK(v.faults[1].would_affect == 1);
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0] ==
        "fault 'kill-all': would affect 2 processes, more than blast_radius.max_processes 1; "
        "lower the count or raise max_processes");
  CHECK_FALSE(a.exited());
  CHECK_FALSE(b.exited());
}

TEST_CASE("a target that matches nothing now is refused before the run") {
  const Scenario s = parse(R"(
version: 1
title: nobody home
targets:
  ghosts: {processes: {name: fl-test-nobody}}
blast_radius: {max_duration: 1m}
faults:
  - name: kill
    target: ghosts
    at: 0s
    process_kill: {}
)");
  const BlastRadiusVerdict v = check_blast_radius(s, plan_timeline(s));
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0] ==
        "fault 'kill': target 'ghosts' (name='fl-test-nobody') matches no eligible process right "
        "now");
}

TEST_CASE("plan refuses a network fault on an interface that does not exist") {
  faultline::test::skip_unless_root("the bandwidth kind's preflight needs CAP_NET_ADMIN");
  const Scenario s = parse(R"(
version: 1
title: wrong interface
blast_radius: {max_duration: 1m}
faults:
  - name: slow
    at: 0s
    duration: 5s
    bandwidth: {interface: fl-no-such-if, rate: 1mbit, destination: 10.200.0.2/32}
)");
  const BlastRadiusVerdict v = check_blast_radius(s, plan_timeline(s));
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0] ==
        "fault 'slow': interface 'fl-no-such-if' does not exist in this network namespace "
        "(see 'ip link')");
}
