// `faultline recover`: puts the host back after a faultline that died together with its guardian
// (kill -9 of the process group, the OOM killer, a container restart). It performs the undo
// left in every abandoned local state file (agent/local_undo.h), and in agent state files given
// with --state; with --scan it also finds what faultline may have left by names and handles
// alone (injectors/linux/orphans.h), leaving alone what a live run or agent still holds.
#include <cstdio>

#include "agent/local_undo.h"
#include "agent/undo_keeper.h"
#include "controller/cli/commands.h"
#include "controller/run/record.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

struct Tally {
  size_t undone = 0;
  size_t failed = 0;
};

// Performs what is left in one abandoned state file.
void recover_file(const std::string& path, bool remove_when_empty, Tally& tally) {
  auto keeper = UndoKeeper::open(path, Duration::zero(), remove_when_empty);
  if (!keeper) {
    std::printf("skipped %s: %s\n", path.c_str(), keeper.error().message.c_str());
    return;
  }
  auto report = recover((*keeper)->file());
  if (!report) {
    std::printf("could not recover %s: %s\n", path.c_str(), report.error().message.c_str());
    ++tally.failed;
    return;
  }
  for (const StateEntry& e : report->undone) {
    std::printf("put back: %s '%s' (owner %s, %zu step(s), recorded %s) from %s\n", e.kind.c_str(),
                e.fault_id.c_str(), e.owner.c_str(), e.undo.size(), e.written_at.c_str(),
                path.c_str());
    ++tally.undone;
  }
  for (const StateEntry& e : report->kept) {
    for (const std::string& error : e.undo_errors)
      std::printf("COULD NOT UNDO: %s '%s' (owner %s): %s; kept in %s\n", e.kind.c_str(),
                  e.fault_id.c_str(), e.owner.c_str(), error.c_str(), path.c_str());
    ++tally.failed;
  }
  (*keeper)->close();
}

}  // namespace

int recover_command(const RecoverOptions& options) {
  for (const std::string& f : options.state_files)
    if (!f.starts_with('/')) {
      std::fprintf(stderr,
                   "faultline recover: error: --state '%s' must be an absolute path, "
                   "e.g. /var/lib/faultline/agent-state.json\n",
                   f.c_str());
      return kExitInvalid;
    }
  Tally tally;
  for (const Leftover& l : find_leftovers()) recover_file(l.path, true, tally);
  for (const std::string& f : options.state_files) {
    if (!abandoned(f)) {
      std::printf(
          "skipped %s: a running faultline-agent holds it and reverts its faults "
          "itself (stop it first if it must not)\n",
          f.c_str());
      continue;
    }
    recover_file(f, false, tally);
  }
  if (tally.undone == 0 && tally.failed == 0)
    std::printf("nothing to recover\n");
  else
    std::printf("%zu put back, %zu could not be\n", tally.undone, tally.failed);
  return tally.failed > 0 ? exit_code(RunStatus::RevertFailed) : 0;
}

}  // namespace faultline
