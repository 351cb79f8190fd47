#include "controller/verdict/verdict.h"

#include <catch2/catch.hpp>

#include "controller/verdict/network_effect.h"
#include "controller/run/stop_conditions.h"
#include "controller/scenario/parse.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {
ProbeSpec spec(Percent during) {
  ProbeSpec p;
  p.name = "web";
  p.tolerance_during = during;
  return p;
}
CheckRecord check(Duration t, Phase phase, bool ok, Duration latency = 10ms) {
  return {t, phase, ok, ok ? "200" : "timeout", latency};
}
}  // namespace

TEST_CASE("tolerance is exact integer arithmetic") {
  CHECK(within_tolerance(20, 18, Percent{1000}));        // 10% failed, 10% allowed
  CHECK_FALSE(within_tolerance(20, 17, Percent{1000}));  // 15% failed
  CHECK(within_tolerance(3, 2, Percent{3334}));          // 33.33..% failed, 33.34% allowed
  CHECK_FALSE(within_tolerance(3, 2, Percent{3333}));
  CHECK(within_tolerance(0, 0, Percent{0}));  // no checks, nothing failed
  CHECK_FALSE(within_tolerance(1, 0, Percent{0}));
}

TEST_CASE("p95 is the nearest-rank percentile") {
  CHECK(p95({}) == std::nullopt);
  CHECK(*p95({5.0}) == 5.0);
  std::vector<double> v;
  for (int i = 1; i <= 20; ++i) v.push_back(i);
  CHECK(*p95(v) == 19.0);
}

TEST_CASE("a probe's phases are judged against their tolerance, recovery measured from the end") {
  ProbeRecord r;
  r.name = "web";
  for (int i = 0; i < 4; ++i) r.checks.push_back(check(i * 100ms, Phase::Before, true));
  // During: 10 checks, 2 fail (20%).
  for (int i = 0; i < 10; ++i)
    r.checks.push_back(check(400ms + i * 100ms, Phase::During, i < 8, 20ms));
  // After (faults ended at 1400 ms): two failures, then passes from 1700 ms.
  r.checks.push_back(check(1500ms, Phase::After, false));
  r.checks.push_back(check(1600ms, Phase::After, false));
  r.checks.push_back(check(1700ms, Phase::After, true));
  r.checks.push_back(check(1800ms, Phase::After, true));
  r.checks.push_back(check(1900ms, Phase::After, false));

  SECTION("20% failed with 25% allowed holds; after judges only post-recovery checks") {
    const ProbeVerdict v = judge_probe(spec(Percent{2500}), r, 1400ms, 1s);
    CHECK(v.phases.at(Phase::Before).checks == 4);
    CHECK(v.phases.at(Phase::Before).ok);
    CHECK(v.phases.at(Phase::During).checks == 10);
    CHECK(v.phases.at(Phase::During).passed == 8);
    CHECK(v.phases.at(Phase::During).ok);
    CHECK(*v.phases.at(Phase::During).p95_ms == 20.0);
    CHECK(v.judged_recovery);
    CHECK(v.recovered);
    CHECK(*v.time_to_recover == 300ms);
    CHECK(v.phases.at(Phase::After).recovering == 2);
    CHECK(v.phases.at(Phase::After).checks == 3);
    CHECK(v.phases.at(Phase::After).passed == 2);
    CHECK_FALSE(v.phases.at(Phase::After).ok);  // one failure after recovery, 0% allowed
  }
  SECTION("10% allowed deviates during") {
    const ProbeVerdict v = judge_probe(spec(Percent{1000}), r, 1400ms, 1s);
    CHECK_FALSE(v.phases.at(Phase::During).ok);
  }
  SECTION("recovery later than the window is not recovered") {
    const ProbeVerdict v = judge_probe(spec(Percent{2500}), r, 1400ms, 200ms);
    CHECK_FALSE(v.recovered);
    CHECK(*v.time_to_recover == 300ms);
  }
}

TEST_CASE("a probe that passed at the end of the faults needed no recovery") {
  ProbeRecord r;
  r.checks = {check(0ms, Phase::Before, true), check(100ms, Phase::During, false),
              check(200ms, Phase::During, true), check(400ms, Phase::After, true)};
  const ProbeVerdict v = judge_probe(spec(Percent{5000}), r, 300ms, 1s);
  CHECK(v.recovered);
  CHECK(*v.time_to_recover == 0ms);
}

TEST_CASE("the run status: revert_failed is loudest, then aborted, error, deviated, held") {
  Scenario s;
  s.steady_state.push_back(spec(Percent{0}));
  s.steady_state[0].phases = {Phase::Before};
  RunRecord r;
  r.probes.push_back({"web", "", {check(0ms, Phase::Before, true)}});
  r.faults.push_back({.name = "f"});
  CHECK(judge_run(s, r).status == RunStatus::Held);
  r.probes[0].checks.push_back(check(1ms, Phase::Before, false));
  CHECK(judge_run(s, r).status == RunStatus::Deviated);
  CHECK(judge_run(s, r).reason == "probe 'web' failed 1/2 checks before the faults (allowed 0%)");
  r.error = "fault 'f' could not be injected: x";
  CHECK(judge_run(s, r).status == RunStatus::Error);
  r.stop_reason = "interrupted by SIGINT";
  CHECK(judge_run(s, r).status == RunStatus::Aborted);
  r.faults[0].revert_error = "pid 12 is still stopped after SIGCONT";
  const Verdict v = judge_run(s, r);
  CHECK(v.status == RunStatus::RevertFailed);
  CHECK(exit_code(v.status) == 5);
  CHECK(v.reason == "could not revert: fault 'f': pid 12 is still stopped after SIGCONT");
}

TEST_CASE("stop conditions fire on consecutive failures and on a failed share") {
  StopCondition consecutive{.probe = "web", .consecutive_failures = 3};
  StopCondition ratio{.probe = "db", .failed_ratio_above = Percent{5000}, .min_checks = 4};
  StopConditions stops({consecutive, ratio});
  CHECK_FALSE(stops.observe("web", false));
  CHECK_FALSE(stops.observe("web", false));
  CHECK_FALSE(stops.observe("web", true));  // the run of failures is broken
  CHECK_FALSE(stops.observe("web", false));
  CHECK_FALSE(stops.observe("web", false));
  CHECK(*stops.observe("web", false) == "stop_when fired: probe 'web' failed 3 checks in a row");
  CHECK_FALSE(stops.observe("db", false));
  CHECK_FALSE(stops.observe("db", false));
  CHECK_FALSE(stops.observe("db", true));  // 2/3 but fewer than min_checks
  CHECK_FALSE(stops.observe("db", true));  // 2/4 = 50%, not above
  CHECK(*stops.observe("db", false) ==
        "stop_when fired: probe 'db' failed 3 of 5 checks, more than 50%");
}

TEST_CASE("the longest outage runs from the first failed check to the next pass") {
  ProbeRecord r;
  r.checks = {check(0ms, Phase::Before, false),  // before the faults: not an outage
              check(100ms, Phase::During, true),
              check(200ms, Phase::During, false, 1000ms),
              check(1200ms, Phase::During, false, 1000ms),
              check(2200ms, Phase::After, true),
              check(2300ms, Phase::After, false, 5ms)};
  const auto o = longest_outage(r);
  REQUIRE(o);
  CHECK(o->start == 200ms);
  CHECK(o->length == 2000ms);
  CHECK(o->failed_checks == 2);
  CHECK(o->ended);
  CHECK(o->first_observed == "timeout");
  ProbeRecord still;
  still.checks = {check(100ms, Phase::During, false, 1000ms),
                  check(1100ms, Phase::After, false, 1000ms)};
  const auto s = longest_outage(still);
  REQUIRE(s);
  CHECK(s->length == 2000ms);
  CHECK_FALSE(s->ended);
  ProbeRecord fine;
  fine.checks = {check(100ms, Phase::During, true)};
  CHECK_FALSE(longest_outage(fine));
}

TEST_CASE("a delay is observed through the probes that talk to its destination") {
  ParsedScenario p = parse_scenario_text(R"(
version: 1
title: t
blast_radius: {max_duration: 1m}
steady_state:
  - name: db
    tcp: {address: "10.200.0.2:5432"}
    expect: {connects: true}
  - name: web
    http: {url: "http://10.9.9.9:80/"}
    expect: {status: 200}
faults:
  - name: slow-db
    at: 0s
    duration: 2s
    network: {interface: eth0, delay: 100ms, loss: 10%, destination: 10.200.0.0/24}
)",
                                         "t.yaml");
  REQUIRE(p.scenario);
  RunRecord r;
  r.probes = {{"db", "", {}}, {"web", "", {}}};
  r.probes[0].checks = {
      check(0ms, Phase::Before, true, 1ms),      check(100ms, Phase::Before, true, 3ms),
      check(3100ms, Phase::During, true, 102ms), check(3300ms, Phase::During, false, 1000ms),
      check(3500ms, Phase::During, true, 104ms), check(6000ms, Phase::After, true, 2ms)};
  r.faults.push_back({.name = "slow-db", .kind = "network"});
  r.faults[0].applied_at = 3000ms;
  r.faults[0].reverted_at = 5000ms;
  const auto effects = network_effects(*p.scenario, r);
  REQUIRE(effects.size() == 1);  // web talks to 10.9.9.9, outside the scope
  CHECK(effects[0].probe == "db");
  CHECK(effects[0].checks == 3);
  CHECK(*effects[0].observed_delay_ms == Approx(101.0));  // median 104 - median 3
  CHECK(describe(effects[0]) ==
        "probe 'db' during 'slow-db': latency +101.0 ms (requested delay 100ms), 33% of 3 checks "
        "failed (requested loss 10%)");
  CHECK(*probe_address(p.scenario->steady_state[1]) == "10.9.9.9");
}

TEST_CASE("checks that could not run make the run an error, never a deviation") {
  Scenario s;
  s.steady_state.push_back(spec(Percent{0}));
  s.steady_state[0].phases = {Phase::Before, Phase::During};
  RunRecord r;
  r.probes.push_back({"web", "", {check(0ms, Phase::Before, true)}});
  r.faults.push_back({.name = "f"});
  r.during_end = 500ms;
  CheckRecord refused{100ms,        Phase::During,
                      false,        "agent web-1: probe web: command probes are off",
                      std::nullopt, true};
  r.probes[0].checks.push_back(refused);
  r.probes[0].checks.push_back(check(200ms, Phase::During, true));
  r.probes[0].checks.push_back(refused);

  const Verdict v = judge_run(s, r);
  CHECK(v.status == RunStatus::Error);
  CHECK(exit_code(v.status) == 4);
  CHECK(v.reason ==
        "probe 'web' could not run 2 of its 4 checks: agent web-1: probe web: command probes are "
        "off");
  // Neither passed nor failed: only the check that was made is counted.
  const PhaseResult& during = v.probes[0].phases.at(Phase::During);
  CHECK(during.checks == 1);
  CHECK(during.passed == 1);
  CHECK_FALSE(v.probes[0].longest_outage);
}

TEST_CASE("no completed check before the faults is no evidence: nothing is injected") {
  Scenario s;
  s.before = 300ms;
  s.steady_state.push_back(spec(Percent{0}));
  s.steady_state[0].type = ProbeType::Command;
  s.steady_state[0].command.timeout = 5s;
  s.steady_state.push_back(spec(Percent{0}));
  s.steady_state[1].name = "during-only";
  s.steady_state[1].phases = {Phase::During};
  RunRecord r;
  r.probes.push_back({"web", "", {}});
  r.probes.push_back({"during-only", "", {}});
  r.faults.push_back({.name = "f"});
  const std::string reason =
      "probe 'web' completed no check in the before phase, so the steady state was never seen "
      "and no fault was injected; make phases.before (300ms) longer than its command.timeout "
      "(5s), or shorten the timeout";

  SECTION("no check at all") {
    const BeforeGate gate = judge_before(s, r);
    CHECK(gate.outcome == BeforeGate::Outcome::NoEvidence);
    CHECK(gate.reason == reason);
    const Verdict v = judge_run(s, r);
    CHECK(v.status == RunStatus::Error);
    CHECK(v.reason == reason);
  }
  SECTION("only checks that could not run, or that ended after the before phase") {
    r.probes[0].checks.push_back({0ms, Phase::Before, false, "cannot start /bin/sh", {}, true});
    r.probes[0].checks.push_back(check(0ms, Phase::During, true));
    CHECK(judge_before(s, r).outcome == BeforeGate::Outcome::NoEvidence);
    CHECK(judge_before(s, r).reason == reason);
  }
  SECTION("a process probe, which has no timeout") {
    s.steady_state[0].type = ProbeType::Process;
    CHECK(judge_before(s, r).reason ==
          "probe 'web' completed no check in the before phase, so the steady state was never "
          "seen and no fault was injected; make phases.before (300ms) longer");
  }
  SECTION("a completed check is evidence, for or against") {
    r.probes[0].checks.push_back(check(250ms, Phase::Before, true));
    CHECK(judge_before(s, r).outcome == BeforeGate::Outcome::Inject);
    CHECK(judge_before(s, r).reason.empty());
    r.probes[0].checks.push_back(check(280ms, Phase::Before, false));
    CHECK(judge_before(s, r).outcome == BeforeGate::Outcome::Deviated);
  }
}

TEST_CASE("exit codes read back as statuses, ranked as a run ranks its own") {
  CHECK(status_from_exit_code(0) == RunStatus::Held);
  CHECK(status_from_exit_code(3) == RunStatus::Aborted);
  CHECK(status_from_exit_code(5) == RunStatus::RevertFailed);
  CHECK(status_from_exit_code(2) == RunStatus::Error);    // refused: an error of a suite
  CHECK(status_from_exit_code(137) == RunStatus::Error);  // killed
  CHECK(loudness(RunStatus::RevertFailed) > loudness(RunStatus::Aborted));
  CHECK(loudness(RunStatus::Aborted) > loudness(RunStatus::Error));
  CHECK(loudness(RunStatus::Error) > loudness(RunStatus::Deviated));
  CHECK(loudness(RunStatus::Deviated) > loudness(RunStatus::Held));
}
