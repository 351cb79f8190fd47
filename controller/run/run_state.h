#pragma once
// What the threads of a run share: the record so far, the phase, and a wake-up for whoever
// waits on the run to stop. `record` and `probes_stop` are guarded by `mutex`.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "controller/verdict/record.h"

namespace faultline {

struct RunState {
  std::mutex mutex;
  std::condition_variable wake;
  RunRecord record;
  std::atomic<Phase> phase{Phase::Before};
  bool probes_stop = false;

  // A stop condition fired, a signal came or something failed (mutex held).
  bool must_stop() const { return record.stop_reason || !record.error.empty(); }
};

}  // namespace faultline
