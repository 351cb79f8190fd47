// `faultline recover`: puts the host back after a faultline that died together with its guardian
// (kill -9 of both, the OOM killer, a container restart). It performs the undo
// left in every abandoned local state file (agent/local/local_undo.h), and in agent state files given
// with --state; with --scan it also finds what faultline may have left by names and handles
// alone (injectors/linux/orphans.h), leaving alone what a live run or agent still holds: what the
// undo plans of the state files whose lock a live process holds name.
#include <cstdio>
#include <filesystem>
#include <set>

#include "agent/local/local_undo.h"
#include "agent/local/undo_keeper.h"
#include "controller/cli/commands.h"
#include "controller/verdict/record.h"
#include "injectors/linux/orphans.h"
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

// The state files that live processes hold: every open STATE.lock of a running faultline, agent
// or guardian, wherever its config put it (read from /proc/PID/fd).
std::set<std::string> live_state_files() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      const std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
      if (!link_ec && target.ends_with(".lock"))
        out.insert(target.substr(0, target.size() - std::string_view(".lock").size()));
    }
  }
  return out;
}

// The objects that live runs and agents still hold: a scan must not take them away.
std::set<std::string> held_objects() {
  std::set<std::string> held;
  for (const std::string& f : live_state_files()) {
    if (abandoned(f)) continue;  // the lock is free after all: its holder just ended
    auto entries = StateFile(f).load();
    if (!entries) continue;
    for (const StateEntry& e : *entries)
      for (const nlohmann::json& step : e.undo)
        if (std::string key = undo_object_key(step); !key.empty()) held.insert(key);
  }
  return held;
}

void scan(Tally& tally) {
  auto orphans = find_orphans();
  if (!orphans) {
    std::printf("scan failed: %s\n", orphans.error().message.c_str());
    ++tally.failed;
    return;
  }
  const std::set<std::string> held = held_objects();
  for (const Orphan& o : *orphans) {
    if (held.contains(undo_object_key(o.step))) {
      std::printf("left alone (held by a running faultline): %s\n", o.what.c_str());
      continue;
    }
    if (auto done = perform_undo_step(o.step); !done) {
      std::printf("COULD NOT REMOVE: %s: %s\n", o.what.c_str(), done.error().message.c_str());
      ++tally.failed;
    } else {
      std::printf("removed: %s\n", o.what.c_str());
      ++tally.undone;
    }
  }
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
  // Files of runs that died with nothing applied hold no undo: they go without a word.
  remove_empty_leftovers();
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
  if (options.scan) scan(tally);
  if (tally.undone == 0 && tally.failed == 0)
    std::printf("nothing to recover%s\n", options.scan ? ""
                                                       : " (--scan also looks for what "
                                                         "faultline left without a record)");
  else
    std::printf("%zu put back, %zu could not be\n", tally.undone, tally.failed);
  return tally.failed > 0 ? exit_code(RunStatus::RevertFailed) : 0;
}

}  // namespace faultline
