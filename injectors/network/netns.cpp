#include "injectors/network/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>
#include <vector>

#include "injectors/process/proc.h"

namespace faultline {
namespace {
std::shared_ptr<int> own_fd(int fd) {
  return std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
}

std::optional<uint64_t> inode_of(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

std::optional<uint64_t> inode_at(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

// A /proc/PID/ns/net path's pid, or 0.
pid_t proc_path_pid(std::string_view path) {
  constexpr std::string_view kPrefix = "/proc/", kSuffix = "/ns/net";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix)) return 0;
  const std::string_view digits =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return ec == std::errc() && end == digits.data() + digits.size() ? pid : 0;
}

// Opens `path` if it holds the namespace `inode` (and, for a process, the same process).
std::optional<NetnsHandle> open_if_same(const std::string& path, uint64_t start_ticks,
                                        uint64_t inode) {
  if (path.empty() || inode_at(path) != inode) return std::nullopt;
  auto handle = start_ticks != 0 && proc_path_pid(path) > 0
                    ? NetnsHandle::of_process(proc_path_pid(path), start_ticks)
                    : NetnsHandle::open_path(path);
  if (!handle) return std::nullopt;
  // The inode again, through the descriptor now held: the path could have changed in between.
  if (auto held = handle->location(); !held || held->inode != inode) return std::nullopt;
  return std::move(*handle);
}
}  // namespace

Result<NetnsHandle> NetnsHandle::open_path(const std::string& path_or_name) {
  if (!path_or_name.starts_with('/') && path_or_name.find('/') != std::string::npos)
    return fail("network namespace '{}': a name has no '/'; give a name from `ip netns list` or "
                "an absolute path",
                path_or_name);
  const std::string path =
      path_or_name.starts_with('/') ? path_or_name : "/run/netns/" + path_or_name;
  // Non-blocking and no symlink at the end: the path comes from a request, and a FIFO or a
  // device must not hang or wake anything. Only a network namespace is accepted.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0)
    return fail("cannot open network namespace '{}': {}", path_or_name, std::strerror(errno));
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0 || fs.f_type != NSFS_MAGIC) {
    ::close(fd);
    return fail("'{}' is not a network namespace (expected a file of nsfs, such as "
                "/run/netns/NAME or /proc/PID/ns/net)",
                path_or_name);
  }
  NetnsHandle h;
  h.fd_ = own_fd(fd);
  h.path_ = path;
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
  h.path_ = path;
  h.start_ticks_ = start_ticks;
  h.description_ = fmt::format("the network namespace of pid {} ({})", pid, now->comm);
  return h;
}

Result<NetnsLocation> NetnsHandle::location() const {
  NetnsLocation where{path_, start_ticks_, 0};
  const auto inode = fd_ ? inode_of(*fd_) : inode_at("/proc/thread-self/ns/net");
  if (!inode) return fail("cannot read the identity of {}: {}", description_, std::strerror(errno));
  where.inode = *inode;
  return where;
}

Result<std::optional<NetnsHandle>> NetnsHandle::find(const NetnsLocation& location) {
  if (location.inode == 0) return fail("a network namespace location needs its inode");
  if (location.path.empty() && inode_at("/proc/thread-self/ns/net") == location.inode)
    return std::optional<NetnsHandle>(NetnsHandle());
  if (auto at = open_if_same(location.path, location.start_ticks, location.inode)) return at;
  // Moved, or its process is gone while others still hold it: look wherever it may be held.
  std::vector<std::string> candidates = {"/proc/self/ns/net"};
  for (const char* folder : {"/run/netns", "/proc"}) {
    DIR* d = opendir(folder);
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (std::string_view(folder) == "/run/netns")
        candidates.push_back(fmt::format("/run/netns/{}", e->d_name));
      else if (std::isdigit(static_cast<unsigned char>(e->d_name[0])))
        candidates.push_back(fmt::format("/proc/{}/ns/net", e->d_name));
    }
    closedir(d);
  }
  for (const std::string& path : candidates) {
    if (inode_at(path) != location.inode) continue;
    if (path == "/proc/self/ns/net") {
      if (auto own = NetnsHandle::open_path(path))
        return std::optional<NetnsHandle>(std::move(*own));
      continue;
    }
    uint64_t ticks = 0;
    if (const pid_t pid = proc_path_pid(path); pid > 0) {
      auto p = read_process_stat(pid);
      if (!p) continue;
      ticks = p->start_ticks;
    }
    if (auto found = open_if_same(path, ticks, location.inode)) return found;
  }
  return std::optional<NetnsHandle>();
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
