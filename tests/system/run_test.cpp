// Whole runs through the engine, with real processes: verdicts, stop conditions, aborts, and a
// journal that can always be read.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "controller/run/engine.h"
#include "controller/scenario/parse.h"
#include "core/defer.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/cpu_workers.h"
#include "tests/support/journal_schema.h"
#include "tests/support/parse_scenario.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::ChildProcess;
using faultline::test::cpu_workers_of;
using faultline::test::still_working;
using faultline::test::run_command;

namespace {

Scenario parse(const std::string& text) {
  return faultline::test::parse_or_fail(text);
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/fl-test-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

// The journal as it is on disk now, or null while there is none (or it is being replaced).
nlohmann::json journal_now(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

// faultline's own helper processes (its guardian, its CPU workers): other faultline runs on
// this machine have some too, so they are told apart by their parent.
std::vector<pid_t> helpers_of(pid_t parent) {
  std::vector<pid_t> pids;
  for (const ProcessInfo& p : scan_processes())
    if (p.ppid == parent && p.state != 'Z' &&
        (p.comm == "faultline-guard" || p.comm == "faultline-cpu"))
      pids.push_back(p.pid);
  return pids;
}

bool alive(pid_t pid) {
  auto p = read_process_stat(pid);
  return p && p->state != 'Z';
}

}  // namespace

TEST_CASE("a run whose hypothesis holds: kill, journal, verdict held") {
  ChildProcess a("/bin/sleep", "fl-test-run-a", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-run-a", {"1000"});
  const Scenario s = parse(R"(
version: 1
title: one of two may die
targets:
  sleepers: {processes: {name: fl-test-run-a}}
blast_radius: {max_duration: 30s, max_processes: 1}
phases: {before: 300ms, after: 500ms}
recovery: {within: 500ms}
steady_state:
  - name: one-left
    process: {target: sleepers}
    expect: {min_count: 1}
    interval: 50ms
faults:
  - name: kill-one
    target: sleepers
    at: 100ms
    process_kill: {}
)");
  const std::string journal = "/tmp/fl-test-journal-" + std::to_string(getpid()) + ".json";
  RunOptions options;
  options.seed = 7;
  options.journal_path = journal;
  RunResult r = run_scenario(s, options);
  CHECK(r.verdict.status == RunStatus::Held);
  CHECK(a.exited() + b.exited() == 1);
  const nlohmann::json j = read_json(journal);
  faultline::test::check_journal_schema(journal);
  CHECK(j["complete"] == true);
  CHECK(j["status"] == "held");
  CHECK(j["exit_code"] == 0);
  CHECK(j["seed"] == 7);
  REQUIRE(j["faults"].size() == 1);
  CHECK(j["faults"][0]["name"] == "kill-one");
  CHECK(j["faults"][0]["requested"]["signal"] == "SIGKILL");
  CHECK(j["faults"][0]["confirmed"] == true);
  CHECK(j["faults"][0]["observed"]["rounds"][0]["victims"][0]["exited"] == true);
  REQUIRE(j["probes"].size() == 1);
  CHECK(j["probes"][0]["phases"]["before"]["checks"] >= 3);
  CHECK(j["probes"][0]["phases"]["before"]["passed"] ==
        j["probes"][0]["phases"]["before"]["checks"]);
  CHECK(j["probes"][0]["recovery"]["recovered"] == true);
  std::remove(journal.c_str());
}

TEST_CASE("a stop condition aborts the run at once and the paused process is resumed") {
  ChildProcess child("/bin/sleep", "fl-test-run-p", {"1000"});
  // The probe fails while the child is stopped; two failures in a row stop the run.
  const std::string probe = fmt::format("! grep -q '^State:.*T' /proc/{}/status", child.pid());
  const Scenario s = parse(fmt::format(R"(
version: 1
title: pausing is not allowed
targets:
  sleeper: {{processes: {{name: fl-test-run-p}}}}
blast_radius: {{max_duration: 1m}}
phases: {{before: 200ms}}
recovery: {{within: 1s}}
steady_state:
  - name: not-stopped
    command: {{run: "{}"}}
    expect: {{exit_code: 0}}
    interval: 50ms
    tolerance: {{during: 100%}}
stop_when:
  - probe: not-stopped
    consecutive_failures: 2
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 30s
    process_pause: {{}}
)",
                                       probe));
  const TimePoint start = Clock::now();
  RunResult r = run_scenario(s, RunOptions{});
  const Duration took = Clock::now() - start;
  CHECK(r.verdict.status == RunStatus::Aborted);
  CHECK(exit_code(r.verdict.status) == 3);
  CHECK(r.verdict.reason == "stop_when fired: probe 'not-stopped' failed 2 checks in a row");
  CHECK(took < std::chrono::seconds(5));  // not the fault's 30 s
  CHECK(child.state() != 'T');
  REQUIRE(r.record.faults.size() == 1);
  CHECK(r.record.faults[0].reverted_at.has_value());
}

TEST_CASE("a probe that fails beyond its tolerance makes the run deviate, then it recovers") {
  ChildProcess child("/bin/sleep", "fl-test-run-d", {"1000"});
  const std::string probe = fmt::format("! grep -q '^State:.*T' /proc/{}/status", child.pid());
  const Scenario s = parse(fmt::format(R"(
version: 1
title: pausing deviates
targets:
  sleeper: {{processes: {{name: fl-test-run-d}}}}
blast_radius: {{max_duration: 1m}}
phases: {{before: 200ms, after: 600ms}}
recovery: {{within: 500ms}}
steady_state:
  - name: not-stopped
    command: {{run: "{}"}}
    expect: {{exit_code: 0}}
    interval: 50ms
    tolerance: {{during: 10%}}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 400ms
    process_pause: {{}}
)",
                                       probe));
  RunResult r = run_scenario(s, RunOptions{});
  CHECK(r.verdict.status == RunStatus::Deviated);
  CHECK(exit_code(r.verdict.status) == 1);
  CHECK_THAT(r.verdict.reason, Catch::StartsWith("probe 'not-stopped' failed "));
  CHECK_THAT(r.verdict.reason, Catch::EndsWith("checks during the faults (allowed 10%)"));
  REQUIRE(r.verdict.probes.size() == 1);
  CHECK(r.verdict.probes[0].recovered);
  REQUIRE(r.verdict.probes[0].time_to_recover);
  CHECK(*r.verdict.probes[0].time_to_recover < std::chrono::milliseconds(500));
  CHECK(child.state() != 'T');
}

TEST_CASE("when the steady state does not hold before, no fault is injected") {
  ChildProcess child("/bin/sleep", "fl-test-run-b", {"1000"});
  const Scenario s = parse(R"(
version: 1
title: broken from the start
targets:
  sleeper: {processes: {name: fl-test-run-b}}
blast_radius: {max_duration: 1m}
phases: {before: 200ms}
steady_state:
  - name: always-fails
    command: {run: "exit 3"}
    expect: {exit_code: 0}
    interval: 50ms
faults:
  - name: kill
    target: sleeper
    at: 0s
    process_kill: {}
)");
  RunResult r = run_scenario(s, RunOptions{});
  CHECK(r.verdict.status == RunStatus::Deviated);
  CHECK_THAT(r.verdict.reason,
             Catch::StartsWith("the steady state did not hold before the faults, so none was "
                               "injected: probe 'always-fails' failed"));
  CHECK(r.record.faults_skipped);
  CHECK_FALSE(r.record.faults[0].applied_at);
  CHECK_FALSE(child.exited());
}

TEST_CASE("a fault that cannot be injected ends the run as error and reverts the others") {
  ChildProcess child("/bin/sleep", "fl-test-run-e", {"1000"});
  const Scenario s = parse(R"(
version: 1
title: the target vanishes
targets:
  sleeper: {processes: {name: fl-test-run-e}}
  ghost: {processes: {name: fl-test-nobody-has-this-name}}
blast_radius: {max_duration: 1m}
phases: {before: 100ms}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 10s
    process_pause: {}
  - name: kill-ghost
    target: ghost
    at: 100ms
    process_kill: {}
)");
  RunResult r = run_scenario(s, RunOptions{});
  CHECK(r.verdict.status == RunStatus::Error);
  CHECK(exit_code(r.verdict.status) == 4);
  CHECK(r.verdict.reason ==
        "fault 'kill-ghost' could not be injected: "
        "name='fl-test-nobody-has-this-name' matches no running process");
  CHECK(child.state() != 'T');
}

TEST_CASE("Ctrl-C during a run reverts every fault and leaves nothing behind") {
  faultline::test::skip_unless_root("the run stresses the CPU in a cgroup");
  ChildProcess child("/bin/sleep", "fl-test-run-int", {"1000"});
  const std::string scenario = write_temp("interrupt.yaml", R"(
version: 1
title: interrupted
targets:
  sleeper: {processes: {name: fl-test-run-int}}
blast_radius: {max_duration: 2m}
phases: {before: 200ms}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 60s
    process_pause: {}
  - name: burn
    at: 0s
    duration: 60s
    cpu_stress: {load: 20}
)");
  const std::string journal = "/tmp/fl-test-interrupt-" + std::to_string(getpid()) + ".json";
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario, "--journal", journal});
  for (int i = 0; i < 300 && (child.state() != 'T' || cpu_workers_of(tool.pid()).empty()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(child.state() == 'T');
  const std::vector<pid_t> workers = cpu_workers_of(tool.pid());
  REQUIRE(workers.size() == 1);
  kill(tool.pid(), SIGINT);
  REQUIRE(tool.wait_exit(5000));
  CHECK(tool.killed_by() == 0);
  CHECK(tool.exit_code() == 3);  // aborted
  CHECK(child.state() != 'T');
  CHECK(still_working(workers) == 0);  // reverted (and reaped) before faultline exited
  const nlohmann::json j = read_json(journal);
  faultline::test::check_journal_schema(journal);
  CHECK(j["status"] == "aborted");
  CHECK(j["exit_code"] == 3);
  CHECK(j["reason"] == "interrupted by SIGINT");
  std::remove(journal.c_str());
  std::remove(scenario.c_str());
}

TEST_CASE(
    "a run killed with SIGKILL before, during and after its fault leaves a journal that parses "
    "and the host as it was") {
  faultline::test::skip_unless_root("the run stresses the CPU in a cgroup");
  ChildProcess sleeper("/bin/sleep", "fl-test-run-kill9", {"1000"});
  const std::string scenario = write_temp("killed.yaml", R"(
version: 1
title: killed mid-run
targets:
  sleeper: {processes: {name: fl-test-run-kill9}}
blast_radius: {max_duration: 2m}
phases: {before: 2s, after: 30s}
steady_state:
  - name: true
    command: {run: "true"}
    expect: {exit_code: 0}
    interval: 20ms
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 1500ms
    process_pause: {}
  - name: burn
    at: 0s
    duration: 1500ms
    cpu_stress: {load: 10}
)");
  // When to kill, told from the journal (what faultline has recorded) and the host (what it did).
  struct Moment {
    const char* name;
    std::function<bool(const nlohmann::json&)> reached;
    bool applied, reverted;  // what the journal says of the faults once killed
  };
  const auto fault_field = [](const nlohmann::json& j, const char* field) {
    return j.is_object() && j["faults"].size() == 2 && !j["faults"][0][field].is_null() &&
           !j["faults"][1][field].is_null();
  };
  const std::vector<Moment> moments = {
      {"before the faults",
       [&](const nlohmann::json& j) {
         return j.is_object() && j["probes"].size() == 1 && j["probes"][0]["checks"].size() >= 5;
       },
       false, false},
      {"mid-fault",
       [&](const nlohmann::json& j) {
         return fault_field(j, "applied_ms") && sleeper.state() == 'T';
       },
       true, false},
      {"after the faults",
       [&](const nlohmann::json& j) {
         return fault_field(j, "reverted_ms") && sleeper.state() != 'T';
       },
       true, true},
  };
  for (const Moment& moment : moments) {
    DYNAMIC_SECTION("killed " << moment.name) {
      const std::string journal =
          "/tmp/fl-test-killed-" + std::to_string(getpid()) + "-" + moment.name + ".json";
      ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario, "--journal", journal});
      Defer remove_files([&] {
        std::remove(journal.c_str());
        std::remove((journal + ".tmp." + std::to_string(tool.pid())).c_str());
      });
      nlohmann::json seen;
      for (int i = 0; i < 1000 && !moment.reached(seen = journal_now(journal)); ++i) {
        REQUIRE_FALSE(tool.exited());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      INFO("the journal when killed: " << seen.dump());
      REQUIRE(moment.reached(seen));
      // Its guardian always, and while the fault is on its CPU worker too.
      const std::vector<pid_t> helpers = helpers_of(tool.pid());
      CHECK(helpers.size() == (moment.applied && !moment.reverted ? 2 : 1));
      kill(tool.pid(), SIGKILL);
      REQUIRE(tool.wait_exit(2000));
      CHECK(tool.killed_by() == SIGKILL);

      // The journal on disk is whole JSON, and says the run did not end.
      const nlohmann::json j = read_json(journal);
      faultline::test::check_journal_schema(journal);
      CHECK(j["complete"] == false);
      CHECK(j["status"] == "running");
      REQUIRE(j["probes"].size() == 1);
      CHECK(j["probes"][0]["checks"].size() >= 5);
      REQUIRE(j["faults"].size() == 2);
      for (const nlohmann::json& f : j["faults"]) {
        CHECK(f["applied_ms"].is_null() == !moment.applied);
        CHECK(f["reverted_ms"].is_null() == !moment.reverted);
      }
      // The host is put back: by the guardian when killed mid-fault, and by nobody being needed
      // otherwise. Nothing stays paused, burning or watching.
      const auto any_alive = [&] {
        return std::any_of(helpers.begin(), helpers.end(), [](pid_t p) { return alive(p); });
      };
      for (int i = 0; i < 300 && (sleeper.state() == 'T' || any_alive()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      CHECK(sleeper.state() == 'S');
      CHECK_FALSE(any_alive());
    }
  }
  std::remove(scenario.c_str());
}

TEST_CASE("a paused process is resumed even when faultline itself is killed with SIGKILL") {
  ChildProcess child("/bin/sleep", "fl-test-run-sigkill", {"1000"});
  const std::string scenario = write_temp("sigkill.yaml", R"(
version: 1
title: faultline dies mid-pause
targets:
  sleeper: {processes: {name: fl-test-run-sigkill}}
blast_radius: {max_duration: 2m}
phases: {before: 100ms}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 60s
    process_pause: {}
)");
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario});
  for (int i = 0; i < 300 && child.state() != 'T'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(child.state() == 'T');
  // Its own guardian: other faultline runs on this machine have theirs.
  const std::vector<pid_t> guardian = helpers_of(tool.pid());
  REQUIRE(guardian.size() == 1);
  // SIGKILL: no handler, no revert in faultline. Its guardian must resume the child.
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  CHECK(tool.killed_by() == SIGKILL);
  for (int i = 0; i < 200 && child.state() == 'T'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(child.state() != 'T');
  for (int i = 0; i < 200 && alive(guardian[0]); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(alive(guardian[0]));
  std::remove(scenario.c_str());
}

TEST_CASE("an interrupted run resumes the paused process before waiting for a stuck probe") {
  ChildProcess child("/bin/sleep", "fl-test-run-slow", {"1000"});
  const std::string scenario = write_temp("slowprobe.yaml", R"(
version: 1
title: a probe that hangs
targets:
  sleeper: {processes: {name: fl-test-run-slow}}
blast_radius: {max_duration: 2m}
phases: {before: 100ms}
steady_state:
  - name: slow
    command: {run: "sleep 6", timeout: 10s}
    expect: {exit_code: 0}
    interval: 100ms
    phases: [during]
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 60s
    process_pause: {}
)");
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario});
  for (int i = 0; i < 300 && child.state() != 'T'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(child.state() == 'T');
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the probe is inside `sleep 6`
  const TimePoint interrupted = Clock::now();
  kill(tool.pid(), SIGINT);
  while (child.state() == 'T' && Clock::now() - interrupted < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(Clock::now() - interrupted < std::chrono::seconds(1));
  REQUIRE(tool.wait_exit(15000));
  std::remove(scenario.c_str());
}
