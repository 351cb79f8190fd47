#pragma once
// A handle on one process that stays valid after it exits: signals sent through it can never
// reach a different process that was given the same pid.
#include <sys/types.h>

#include <cstdint>

#include "core/duration.h"
#include "core/result.h"

namespace faultline {

class PidFd {
 public:
  // Opens a pidfd for `pid` and checks that it is still the process that started at
  // `start_ticks` (the pid was not reused between reading /proc and opening).
  static Result<PidFd> open(pid_t pid, uint64_t start_ticks);
  // Whether pidfds work on this kernel (Linux 5.3 and later).
  static bool supported();

  PidFd(PidFd&& other) noexcept;
  PidFd& operator=(PidFd&& other) noexcept;
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  ~PidFd();

  pid_t pid() const { return pid_; }
  int fd() const { return fd_; }
  // ESRCH (the process is gone) is reported as an error like any other.
  Result<void> send_signal(int signal) const;
  // True once the process has exited; waits at most `timeout`.
  bool wait_exit(Duration timeout) const;
  bool exited() const { return wait_exit(Duration::zero()); }

 private:
  PidFd(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  int fd_ = -1;
  pid_t pid_ = 0;
};

}  // namespace faultline
