// FaultService in-process (what faultline-agent runs behind its RPCs): ended faults are
// remembered for a bounded time, then forgotten, so that tick() walks a table that stays small.
#include <catch2/catch.hpp>

#include "agent/daemon/fault_service.h"
#include "agent/local/undo_keeper.h"
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
  FaultService service(config, **keeper);
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
