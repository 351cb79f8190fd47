#pragma once
// What faultline-agent's services take and give back, apart from the wire: the request to apply
// a fault as the controller sent it, and errors that say which gRPC status they become.
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "injectors/container/container_selector.h"
#include "injectors/process/selector.h"

namespace faultline {

enum class ServiceCode { Invalid, Refused, Unavailable, Failed, NotFound };

struct ServiceError {
  ServiceCode code = ServiceCode::Failed;
  std::string message;
};

template <typename T>
using ServiceResult = std::expected<T, ServiceError>;

struct ApplyInput {
  std::string owner;
  std::string fault_id;
  std::string kind;
  std::map<std::string, std::string> params;  // as written in a scenario
  ProcessSelector selector;
  std::optional<Duration> duration;
  std::optional<Duration> lease;  // nullopt: the agent's default
  uint64_t seed = 0;
  int64_t max_processes = 0;
  // The scenario's blast_radius.protected, in addition to the agent's policy.protected_processes.
  std::vector<ProcessSelector> protected_processes;
  // The target group's containers: resolved here, one fault in each container picked.
  std::optional<ContainerSelector> containers;
  int64_t max_containers = 0;  // the scenario's blast_radius.max_containers; 0: not given
  // The scenario's blast_radius.protected_containers, in addition to the agent's
  // policy.protected_containers.
  std::vector<ContainerSelector> protected_containers;
  // The scenario's blast_radius.max_memory as written ("" for none) and protected_paths; checked
  // in fault_request.cpp.
  std::string max_memory;
  std::vector<std::string> protected_paths;
};

inline ServiceError invalid(std::string message) {
  return {ServiceCode::Invalid, std::move(message)};
}
inline ServiceError refused(std::string message) {
  return {ServiceCode::Refused, std::move(message)};
}

// A fault's name in the agent: its owner's and its own id, which valid_id keeps free of '/'.
inline std::string fault_key(const std::string& owner, const std::string& fault_id) {
  return owner + "/" + fault_id;
}

}  // namespace faultline
