#pragma once
// Runs a scenario on this host: checks the steady state before, during and after the faults,
// applies and reverts the faults on schedule through the local agent, stops at once when a stop
// condition fires or a signal arrives, and always reverts everything before returning.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/local/undo_keeper.h"
#include "controller/fleet/agent_pool.h"
#include "controller/plan/host_plan.h"
#include "controller/verdict/record.h"
#include "controller/verdict/verdict.h"
#include "controller/scenario/scenario.h"

namespace faultline {

struct LiveStatus {
  Phase phase = Phase::Before;
  Duration elapsed{};
  Duration total{};
  size_t active_faults = 0;
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> probes;  // name, (passed, failed)
};

struct RunOptions {
  uint64_t seed = 0;
  std::optional<std::string> journal_path;
  // An event worth a line: phases, faults applied and reverted, probes changing state.
  std::function<void(const std::string&)> log = [](const std::string&) {};
  // Called a few times a second with the run's state (for a live status line).
  std::function<void(const LiveStatus&)> status;
  // Set from a signal handler; the run stops, reverts everything and ends as aborted.
  const std::atomic<int>* interrupt_signal = nullptr;
  // Where faults and probes act (plan_hosts); nullptr: everything on this host.
  const HostPlan* hosts = nullptr;
  // The lease of every fault on an agent: if this process dies, agents revert within it.
  Duration lease = std::chrono::seconds(5);
  // Where the undo of every local fault is kept before it is applied (a local run's state file
  // and its guardian); nullptr: in memory only (tests that drive the engine directly).
  UndoKeeper* keeper = nullptr;
  // The connections to the inventory's agents, warm from the preflight; nullptr: the run makes
  // its own.
  std::shared_ptr<AgentPool> agents;
};

struct RunResult {
  RunRecord record;
  Verdict verdict;
  std::string journal;  // the final journal's text, as written to --journal
};

RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace faultline
