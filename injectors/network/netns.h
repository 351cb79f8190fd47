#pragma once
// Running netlink work inside another network namespace (a container's, a lab host's): a thread
// of our own enters it with setns and does the work there, so faultline's own namespace never
// changes. The namespace is held open by descriptor, so it outlives the process that named it.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"

namespace faultline {

// Where a network namespace is, written down so that another process (the agent after a
// restart) can find the same namespace again. `inode` names the namespace itself (its nsfs inode,
// as in "net:[4026532000]"); `path` is where it was found ("" for the caller's own namespace),
// and `start_ticks` checks a /proc/PID/ns/net path against pid reuse.
struct NetnsLocation {
  std::string path;
  uint64_t start_ticks = 0;
  uint64_t inode = 0;
};

class NetnsHandle {
 public:
  NetnsHandle() = default;  // the caller's own namespace
  // "/proc/1234/ns/net", "/run/netns/lab1", or a name under /run/netns.
  static Result<NetnsHandle> open_path(const std::string& path_or_name);
  // The namespace of a process, checked against its start time (pid reuse).
  static Result<NetnsHandle> of_process(pid_t pid, uint64_t start_ticks);

  // Finds the namespace at `location` again: at its path if that still holds it, else through
  // any process or /run/netns entry that holds a namespace with its inode. nullopt when no such
  // namespace is left (with it went everything that was done inside it).
  static Result<std::optional<NetnsHandle>> find(const NetnsLocation& location);

  bool is_own() const { return !fd_; }
  // Where this namespace is; for our own, the calling thread's namespace.
  Result<NetnsLocation> location() const;
  const std::string& description() const { return description_; }
  // Runs `work` in the namespace (directly when it is our own).
  Result<void> run(const std::function<Result<void>()>& work) const;

 private:
  std::shared_ptr<int> fd_;
  std::string path_;          // as opened; "" for our own
  uint64_t start_ticks_ = 0;  // of the process whose namespace it is
  std::string description_ = "faultline's own network namespace";
};

}  // namespace faultline
