#pragma once
// A last line of defence for faults that nothing else would undo if faultline died: a small
// guardian process, forked before any thread starts, holds the undo of every active pause and
// freeze. faultline tells it each undo before acting and withdraws it once reverted; if faultline
// dies without saying goodbye (SIGKILL, a crash, the OOM killer), the guardian sees its pipe
// close and performs what is still outstanding. What it holds are undo steps
// (injectors/linux/undo_steps.h), the same that the agent writes to its state file: SIGCONT
// through a pidfd checked against the process's start time, thawing a cgroup, or deleting an
// nftables table that a network_partition created. CPU workers need no entry: they die with
// faultline (PR_SET_PDEATHSIG), and their empty cgroup is removed by the next run.
#include <cstdint>
#include <nlohmann/json.hpp>

namespace faultline {

class UndoGuard {
 public:
  // Forks the guardian. Call once, before any thread is started. Without it, the calls below
  // do nothing (tests that drive injectors directly revert through their own code paths).
  static void start();
  // Ends the guardian after a clean revert; it performs nothing.
  static void stop();

  // Hands the guardian one undo step to perform if faultline dies; returns a token for
  // withdraw(), 0 when no guardian runs.
  static uint64_t perform_later(const nlohmann::json& step);
  static void withdraw(uint64_t token);
};

}  // namespace faultline
