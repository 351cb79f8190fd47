#pragma once
// Waiting for the kernel to show an effect (a process stopped or resumed, a cgroup frozen):
// poll a condition until it holds or the time is up.
#include <thread>

#include "core/duration.h"

namespace faultline {

// True as soon as `condition()` holds; false if it still does not after `limit`.
template <typename Condition>
bool poll_until(const Condition& condition, Duration limit,
                Duration step = std::chrono::microseconds(200)) {
  const TimePoint until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

}  // namespace faultline
