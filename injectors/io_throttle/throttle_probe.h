#pragma once
// The probe that shows a throttle at work: a short-lived child in a cgroup below the target's
// (the limit is hierarchical, and the child cgroup can be removed after) writes an unnamed
// O_DIRECT file in the throttled filesystem, then reads it back, and times both. Direct I/O
// because the page cache would absorb writes and serve reads, and because cgroup v1 charges
// only direct I/O to the writer's cgroup.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/result.h"

namespace faultline {

struct ProbePlan {
  std::string dir;         // where the unnamed file goes
  int64_t block = 0;       // bytes per write or read
  int64_t write_bytes = 0;
  int64_t read_bytes = 0;  // 0: no read part (read back over the written file, round robin)
};

struct ProbeResult {
  int error = 0;  // errno of the step that failed
  int stage = 0;  // 0 done, 1 open, 2 write, 3 read
  int64_t write_bytes = 0, write_ns = 0, write_ops = 0;
  int64_t read_bytes = 0, read_ns = 0, read_ops = 0;

  // The failure as a sentence; empty when the probe completed.
  std::string problem() const;
  double write_bytes_per_s() const;
  double read_bytes_per_s() const;
  double write_iops() const;
  double read_iops() const;
  nlohmann::json to_json() const;
};

// A forked probe (PR_SET_PDEATHSIG: it dies with faultline), waiting to be moved into its cgroup.
// wait() may block in one thread while kill() is called from another.
class ProbeChild {
 public:
  static Result<std::unique_ptr<ProbeChild>> spawn(const ProbePlan& plan);
  ProbeChild(const ProbeChild&) = delete;
  ProbeChild& operator=(const ProbeChild&) = delete;
  ~ProbeChild();

  pid_t pid() const { return pid_; }
  // Lets it run (after it joined its cgroup).
  void start();
  // Blocks until it reports and exits; nullopt when it was killed or died without a report.
  std::optional<ProbeResult> wait();
  // SIGKILL through a pidfd (never a reused pid); a wait() in another thread returns then.
  void kill() const;

 private:
  ProbeChild(pid_t pid, int pidfd, int go_fd, int result_fd)
      : pid_(pid), pidfd_(pidfd), go_fd_(go_fd), result_fd_(result_fd) {}
  const pid_t pid_;
  const int pidfd_;
  int go_fd_;
  int result_fd_;
  bool reaped_ = false;
};

}  // namespace faultline
