#pragma once
// Local runs (`faultline run` without agents, `faultline inject`) keep their undo the way the
// agent does: one state file per run under RUN_DIR/local (RUN_DIR is /run/faultline, or
// $FAULTLINE_RUN_DIR), locked while the run or its guardian lives, removed when the run ends
// with everything reverted. A file whose lock is free and that still lists faults is a
// leftover: both the run and its guardian died (kill -9 of both, the OOM killer,
// a container restart). `faultline recover` performs it; run, inject and plan warn of it.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/local/state_file.h"
#include "agent/local/undo_keeper.h"
#include "core/result.h"

namespace faultline {

// RUN_DIR/local.
std::string local_undo_dir();

// Opens this run's own state file, RUN_DIR/local/COMMAND-PID-MILLISECONDS.json.
Result<std::unique_ptr<UndoKeeper>> open_local_keeper(const std::string& command);

struct Leftover {
  std::string path;
  std::vector<StateEntry> entries;
  std::string error;  // the file could not be read: it may still hold undos
};

// Every state file under local_undo_dir() that nobody holds and that lists faults (or cannot be
// read). Never changes anything.
std::vector<Leftover> find_leftovers();

// Removes every abandoned file under local_undo_dir() that holds nothing to undo: the lock of a
// run killed with its guardian before it wrote its first undo, or a state file whose faults were
// all reverted before both died. find_leftovers() never lists these, so nothing else would ever
// remove them. Each is removed while holding its lock, so a live run's file is never touched.
// Returns how many runs' files were removed.
size_t remove_empty_leftovers();

// One warning line per leftover, on `out`, naming the file, the faults and `faultline recover`.
// Returns how many there were.
size_t warn_about_leftovers(std::FILE* out);

}  // namespace faultline
