#pragma once
// Watches probe results for the scenario's stop_when conditions.
#include <optional>
#include <string>
#include <vector>

#include "controller/scenario/scenario.h"

namespace faultline {

class StopConditions {
 public:
  explicit StopConditions(const std::vector<StopCondition>& conditions);
  // Feeds one check; returns why the run must stop if a condition fires now.
  std::optional<std::string> observe(const std::string& probe, bool ok);

 private:
  struct State {
    StopCondition condition;
    int64_t consecutive = 0;
    int64_t checks = 0;
    int64_t failed = 0;
  };
  std::vector<State> states_;
};

}  // namespace faultline
