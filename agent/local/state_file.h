#pragma once
// The agent's durable state: every fault it may have applied, with how to undo it, in one JSON
// file that survives the agent's own SIGKILL. The agent records a fault's undo plan before it
// touches the host (and again after apply, when the plan is more exact), and forgets the fault
// once it is reverted. On start, recover() performs whatever undo is left.
//
//   {"faultline_agent_state": 1,
//    "entries": [{"owner": "run-42", "fault_id": "pause-db", "kind": "process_pause",
//                 "undo": [{"op": "resume", "pid": 4242, "start_ticks": 123456}],
//                 "written_at": "2024-05-01T12:00:00Z"}]}
//
// An entry that recovery could not fully undo keeps the steps that failed and their errors
// ("undo_errors"), for a human to see. Every write replaces the file atomically and durably
// (core/atomic_file.h).
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline {

struct StateEntry {
  std::string owner;
  std::string fault_id;
  std::string kind;
  nlohmann::json undo = nlohmann::json::array();  // an undo plan (injectors/linux/undo_steps.h)
  std::string written_at;                         // UTC, ISO 8601; set by record()
  std::vector<std::string> undo_errors;           // why recovery could not undo it all
};

class StateFile {
 public:
  explicit StateFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // Every entry. A missing file is an empty state; a file that cannot be read or understood is
  // an error naming the file and what to do, never an empty state (it may hold undos).
  Result<std::vector<StateEntry>> load() const;
  // Inserts the entry, or replaces the one with the same owner and fault_id; stamps written_at.
  Result<void> record(StateEntry entry);
  // Removes the entry of (owner, fault_id); one that is not there is success.
  Result<void> forget(const std::string& owner, const std::string& fault_id);

  // Loads, lets `change` edit the entries and writes them back, as one step under the lock.
  Result<void> update(const std::function<void(std::vector<StateEntry>&)>& change);

 private:
  Result<std::vector<StateEntry>> load_locked() const;
  Result<void> save_locked(const std::vector<StateEntry>& entries) const;
  std::string path_;
  mutable std::mutex mutex_;
};

struct RecoveryReport {
  std::vector<StateEntry> undone;  // every step performed; removed from the file
  std::vector<StateEntry> kept;    // some steps failed: kept with those steps and their errors
};

// Performs the undo plan of every entry in the file; forgets the entries fully undone and keeps
// the others, reduced to their failed steps, with undo_errors. Fails only when the file cannot
// be read or written.
Result<RecoveryReport> recover(StateFile& file);

}  // namespace faultline
