#pragma once
// Where the undo of every applied fault is kept while it may be needed, for a local run
// (`faultline run`, `inject`) and for faultline-agent alike: a state file (agent/local/state_file.h),
// written durably before the host is touched, and a guardian (agent/local/guardian.h) that performs
// what is left in it if this process dies. The file has a lock beside it (PATH.lock), held for
// the keeper's whole life by this process and its guardian: a file whose lock is free was left
// by a process that is gone, with its guardian (`faultline recover` performs it).
#include <memory>
#include <string>

#include "agent/local/guardian.h"
#include "agent/local/state_file.h"
#include "core/duration.h"
#include "core/result.h"

namespace faultline {

class UndoKeeper {
 public:
  // Makes the file's folder, then takes the lock, waiting up to `wait` for a previous holder (a
  // guardian still undoing what its agent left). A lock held past that is an error that names
  // the holder's file and what to do. `remove_when_empty`: the file is one run's own (a local
  // run's), removed with its lock once nothing is left in it.
  static Result<std::unique_ptr<UndoKeeper>> open(const std::string& path, Duration wait,
                                                  bool remove_when_empty);
  ~UndoKeeper();
  UndoKeeper(const UndoKeeper&) = delete;
  UndoKeeper& operator=(const UndoKeeper&) = delete;

  StateFile& file() { return file_; }
  const std::string& path() const { return file_.path(); }

  // Forks the guardian (once). Call before any thread starts.
  void start_guardian();
  // Keeps `entry` (replacing the one of the same owner and fault id); durable when it returns.
  // An error means the undo is not on disk: the fault must not be applied.
  Result<void> keep(StateEntry entry);
  // The fault of (owner, fault_id) is undone: its entry goes.
  Result<void> release(const std::string& owner, const std::string& fault_id);

  // The end of the run. When no entry is left, the guardian leaves without acting and a run's
  // own file goes with its lock. Otherwise (a revert failed) both stay: the guardian tries again
  // when this process exits. Returns how many entries remain (1 if the file cannot be read).
  size_t close();

 private:
  UndoKeeper(const std::string& path, int lock_fd, bool remove_when_empty)
      : file_(path), lock_fd_(lock_fd), remove_when_empty_(remove_when_empty) {}
  StateFile file_;
  int lock_fd_ = -1;
  bool remove_when_empty_ = false;
  Guardian guardian_;
};

// The lock file beside a state file.
std::string lock_path_of(const std::string& state_path);

// True when nobody holds the lock of `state_path` (its writer and guardian are gone). Takes the
// lock for a moment; never blocks.
bool abandoned(const std::string& state_path);

}  // namespace faultline
