#include "injectors/network/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "injectors/process/proc.h"

namespace faultline {
namespace {
std::shared_ptr<int> own_fd(int fd) {
  return std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
}
}  // namespace

Result<NetnsHandle> NetnsHandle::open_path(const std::string& path_or_name) {
  const std::string path =
      path_or_name.starts_with('/') ? path_or_name : "/run/netns/" + path_or_name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open network namespace '{}': {}", path_or_name, std::strerror(errno));
  NetnsHandle h;
  h.fd_ = own_fd(fd);
  h.description_ = "network namespace " + path;
  return h;
}

Result<NetnsHandle> NetnsHandle::of_process(pid_t pid, uint64_t start_ticks) {
  const std::string path = fmt::format("/proc/{}/ns/net", pid);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open the network namespace of pid {}: {}", pid, std::strerror(errno));
  auto now = read_process_stat(pid);
  if (!now || now->start_ticks != start_ticks) {
    ::close(fd);
    return fail("pid {} exited before its network namespace could be opened", pid);
  }
  NetnsHandle h;
  h.fd_ = own_fd(fd);
  h.description_ = fmt::format("the network namespace of pid {} ({})", pid, now->comm);
  return h;
}

Result<void> NetnsHandle::run(const std::function<Result<void>()>& work) const {
  if (!fd_) return work();
  Result<void> result;
  std::thread([&] {
    if (setns(*fd_, CLONE_NEWNET) != 0) {
      result = fail("cannot enter {}: {}", description_, std::strerror(errno));
      return;
    }
    result = work();
  }).join();
  return result;
}

}  // namespace faultline
