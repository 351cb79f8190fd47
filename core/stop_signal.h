#pragma once
// SIGINT and SIGTERM only set a flag; the engine sees it, reverts everything and ends the run.
#include <atomic>

namespace faultline {

// The signal that asked us to stop, or 0.
const std::atomic<int>& stop_signal();
void install_stop_handlers();

}  // namespace faultline
