#pragma once
// Running netlink work inside another network namespace (a container's, a lab host's): a thread
// of our own enters it with setns and does the work there, so faultline's own namespace never
// changes. The namespace is held open by descriptor, so it outlives the process that named it.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace faultline {

class NetnsHandle {
 public:
  NetnsHandle() = default;  // the caller's own namespace
  // "/proc/1234/ns/net", "/run/netns/lab1", or a name under /run/netns.
  static Result<NetnsHandle> open_path(const std::string& path_or_name);
  // The namespace of a process, checked against its start time (pid reuse).
  static Result<NetnsHandle> of_process(pid_t pid, uint64_t start_ticks);

  bool is_own() const { return !fd_; }
  const std::string& description() const { return description_; }
  // Runs `work` in the namespace (directly when it is our own).
  Result<void> run(const std::function<Result<void>()>& work) const;

 private:
  std::shared_ptr<int> fd_;
  std::string description_ = "faultline's own network namespace";
};

}  // namespace faultline
