#include "injectors/process/pidfd.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include "injectors/process/proc.h"

namespace faultline {
namespace {
int sys_pidfd_open(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}
int sys_pidfd_send_signal(int fd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0));
}
}  // namespace

bool PidFd::supported() {
  const int fd = sys_pidfd_open(getpid());
  if (fd < 0) return false;
  close(fd);
  return true;
}

Result<PidFd> PidFd::open(pid_t pid, uint64_t start_ticks) {
  if (pid <= 1) return fail("refusing to open pid {}", pid);
  const int fd = sys_pidfd_open(pid);
  if (fd < 0) return fail("cannot open pid {}: {}", pid, std::strerror(errno));
  PidFd handle(fd, pid);
  // The pidfd names whatever process holds `pid` now; if that is not the one we read from /proc
  // (it exited and the pid was reused), refuse it.
  auto now = read_process_stat(pid);
  if (!now || now->start_ticks != start_ticks)
    return fail("pid {} exited before it could be targeted", pid);
  return handle;
}

PidFd::PidFd(PidFd&& other) noexcept : fd_(other.fd_), pid_(other.pid_) {
  other.fd_ = -1;
}
PidFd& PidFd::operator=(PidFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    pid_ = other.pid_;
    other.fd_ = -1;
  }
  return *this;
}
PidFd::~PidFd() {
  if (fd_ >= 0) close(fd_);
}

Result<void> PidFd::send_signal(int signal) const {
  if (sys_pidfd_send_signal(fd_, signal) != 0)
    return fail("cannot send {} to pid {}: {}", signal, pid_, std::strerror(errno));
  return {};
}

bool PidFd::wait_exit(Duration timeout) const {
  pollfd p{fd_, POLLIN, 0};
  const auto ms = std::min<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), INT32_MAX);
  int rc;
  do {
    rc = poll(&p, 1, static_cast<int>(ms));
  } while (rc < 0 && errno == EINTR);
  return rc > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace faultline
