#pragma once
// One fault as an agent reports it: to its gRPC clients, and from them to the controller's run.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/duration.h"

namespace faultline {

struct FaultReport {
  std::string owner;
  std::string fault_id;
  std::string kind;
  bool active = false;
  std::optional<std::chrono::system_clock::time_point> applied_at;
  std::optional<std::chrono::system_clock::time_point> reverted_at;
  std::string ended_by;  // controller, lease, deadline, shutdown
  std::string apply_error;
  std::string revert_error;
  nlohmann::json observed;
  std::string summary;
  bool confirmed = false;
  Duration lease_remaining{};
};

}  // namespace faultline
