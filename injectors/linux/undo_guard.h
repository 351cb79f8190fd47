#pragma once
// A last line of defence for faults that nothing else would undo if faultline died: a small
// guardian process, forked before any thread starts, holds the undo of every active pause and
// freeze. faultline tells it each undo before acting and withdraws it once reverted; if faultline
// dies without saying goodbye (SIGKILL, a crash, the OOM killer), the guardian sees its pipe
// close and performs what is still outstanding: SIGCONT through a pidfd checked against the
// process's start time, thawing a cgroup, or deleting an nftables table that a network_partition
// created (in the guardian's network namespace, which is faultline's). CPU workers need no entry: they die with
// faultline (PR_SET_PDEATHSIG), and their empty cgroup is removed by the next run.
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace faultline {

class UndoGuard {
 public:
  // Forks the guardian. Call once, before any thread is started. Without it, the calls below
  // do nothing (tests that drive injectors directly revert through their own code paths).
  static void start();
  // Ends the guardian after a clean revert; it performs nothing.
  static void stop();

  // Each returns a token for withdraw(); 0 when no guardian runs.
  static uint64_t resume_later(pid_t pid, uint64_t start_ticks);
  static uint64_t thaw_later(const std::string& cgroup_dir);
  // `table` is an inet table named faultline_...; the guardian deletes no other.
  static uint64_t delete_nft_table_later(const std::string& table);
  static void withdraw(uint64_t token);
};

}  // namespace faultline
