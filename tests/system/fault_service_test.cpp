// FaultService in-process (what faultline-agent runs behind its RPCs): ended faults are
// remembered for a bounded time, then forgotten, so that tick() walks a table that stays small;
// its metrics count each fault once, under the reason it ended.
#include <catch2/catch.hpp>

#include "agent/daemon/fault_service.h"
#include "agent/daemon/metrics/agent_metrics.h"
#include "agent/local/undo_keeper.h"
#include "injectors/injector.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

ApplyInput pause_input(const std::string& id, const std::string& name) {
  ApplyInput in;
  in.owner = "run-prune";
  in.fault_id = id;
  in.kind = "process_pause";
  in.params = {{"count", "1"}};
  in.selector.name = name;
  // Long enough that the ticks below, hours ahead of the clock, do not end it by lease.
  in.duration = 1h;
  in.lease = 1h;
  in.max_processes = 1;
  return in;
}

// The exposition's lines that start with `prefix`, in order.
std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.starts_with(prefix)) out.push_back(line);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("ended faults are forgotten after ten minutes but active ones never are", "[agent]") {
  skip_unless_root("the service pauses a process");
  TempDir dir;
  ChildProcess a("/bin/sleep", "fl-test-prune-a", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-prune-b", {"1000"});
  AgentConfig config;
  config.state_file = dir.file("state.json");
  config.lease_max = 2h;
  config.policy.max_duration = 2h;
  auto keeper = UndoKeeper::open(config.state_file, 0s, false);
  REQUIRE(keeper);
  AgentMetrics metrics(injector_kinds(), "test");
  FaultService service(config, **keeper, metrics);
  REQUIRE(service.apply(pause_input("ended", "fl-test-prune-a")));
  REQUIRE(service.apply(pause_input("active", "fl-test-prune-b")));
  auto reverted = service.revert("run-prune", "ended");
  REQUIRE(reverted);
  REQUIRE(service.list("run-prune").size() == 2);

  // Nine minutes on, the ended fault is still known: its id cannot be applied again.
  service.tick(Clock::now() + 9min);
  auto again = service.apply(pause_input("ended", "fl-test-prune-a"));
  REQUIRE_FALSE(again);
  CHECK(again.error().message ==
        "fault 'ended' of owner 'run-prune' has ended already (by controller); apply it under a "
        "new fault id or owner");

  // Past ten minutes it is gone; the active one stays, however long it has been active.
  service.tick(Clock::now() + 11min);
  const std::vector<FaultReport> left = service.list("run-prune");
  REQUIRE(left.size() == 1);
  CHECK(left[0].fault_id == "active");
  CHECK(left[0].active);
  CHECK(b.state() == 'T');
  // Forgotten, the id may be used again.
  auto reused = service.apply(pause_input("ended", "fl-test-prune-a"));
  REQUIRE(reused);
  CHECK(reused->active);
  CHECK(service.revert_everything("shutdown").empty());
  CHECK(a.state() != 'T');
  CHECK(b.state() != 'T');
  CHECK((*keeper)->close() == 0);
}

TEST_CASE("the service counts each fault once, under the reason it ended", "[agent][metrics]") {
  skip_unless_root("the service pauses processes");
  TempDir dir;
  ChildProcess child("/bin/sleep", "fl-test-count", {"1000"});
  AgentConfig config;
  config.state_file = dir.file("state.json");
  config.lease_max = 4h;
  config.policy.max_duration = 4h;
  auto keeper = UndoKeeper::open(config.state_file, 0s, false);
  REQUIRE(keeper);
  AgentMetrics metrics({"process_pause"}, "test");
  FaultService service(config, **keeper, metrics);

  // One fault at a time on the one child: a lease that runs out, a duration that does, a
  // controller's revert, and the agent's shutdown.
  ApplyInput by_lease = pause_input("by-lease", "fl-test-count");  // lease 1h, duration 1h
  REQUIRE(service.apply(by_lease));
  CHECK(service.active_by_kind() == std::map<std::string, size_t>{{"process_pause", 1}});
  service.tick(Clock::now() + 90min);  // past the lease (checked before the deadline)
  service.tick(Clock::now() + 90min);  // ended already: not counted again
  CHECK(service.active_by_kind().empty());
  ApplyInput by_deadline = pause_input("by-deadline", "fl-test-count");
  by_deadline.lease = 3h;
  REQUIRE(service.apply(by_deadline));
  service.tick(Clock::now() + 90min);  // past the duration and its grace, within the lease
  REQUIRE(service.apply(pause_input("by-revert", "fl-test-count")));
  REQUIRE(service.revert("run-prune", "by-revert"));
  REQUIRE(service.revert("run-prune", "by-revert"));  // a second revert changes nothing
  REQUIRE(service.apply(pause_input("by-shutdown", "fl-test-count")));
  // The same fault again is idempotent: not a second apply.
  REQUIRE(service.apply(pause_input("by-shutdown", "fl-test-count")));
  CHECK(service.active_by_kind() == std::map<std::string, size_t>{{"process_pause", 1}});
  CHECK(service.revert_everything("shutdown").empty());
  CHECK(child.state() != 'T');

  const std::string text = metrics.exposition(service.active_by_kind());
  CHECK(lines_of(text, "faultline_agent_faults_") ==
        std::vector<std::string>{
            R"(faultline_agent_faults_applied_total{kind="process_pause"} 4)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="deadline"} 1)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="end"} 0)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="lease"} 1)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="recovery"} 0)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="revert"} 1)",
            R"(faultline_agent_faults_reverted_total{kind="process_pause",reason="shutdown"} 1)",
            R"(faultline_agent_faults_revert_failed_total{kind="process_pause"} 0)",
            R"(faultline_agent_faults_active{kind="process_pause"} 0)"});
  CHECK(lines_of(text, "faultline_agent_lease_expiries_total") ==
        std::vector<std::string>{"faultline_agent_lease_expiries_total 1"});
  CHECK(lines_of(text, "faultline_agent_apply_duration_seconds_count") ==
        std::vector<std::string>{
            R"(faultline_agent_apply_duration_seconds_count{kind="process_pause"} 4)"});
  CHECK((*keeper)->close() == 0);
}
