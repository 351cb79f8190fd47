#include "injectors/linux/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "injectors/process/pidfd.h"
#include "injectors/process/proc.h"

namespace faultline {
namespace {

std::vector<pid_t> listed_processes(const std::string& dir) {
  std::vector<pid_t> pids;
  std::ifstream procs(dir + "/cgroup.procs");
  for (pid_t pid = 0; procs >> pid;) pids.push_back(pid);
  return pids;
}

// SIGKILL to each process listed in the cgroup, where cgroup.kill cannot do it. A pid is only
// signalled through a pidfd opened while it is still listed, so a pid that was reused by then
// (and is elsewhere) is never signalled.
void kill_listed_processes(const std::string& dir) {
  for (const pid_t pid : listed_processes(dir)) {
    const auto stat = read_process_stat(pid);
    if (!stat) continue;
    auto fd = PidFd::open(pid, stat->start_ticks);
    if (!fd) continue;
    const auto now = listed_processes(dir);
    if (std::find(now.begin(), now.end(), pid) != now.end()) (void)fd->send_signal(SIGKILL);
  }
}

}  // namespace

std::optional<std::string> cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, rest;
  while (mounts >> device >> dir >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return dir;
  return std::nullopt;
}

std::vector<std::string> cgroup_mounts() {
  std::vector<std::string> v2, v1;
  std::vector<dev_t> seen;
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, rest;
  while (mounts >> device >> dir >> type && std::getline(mounts, rest)) {
    if (type != "cgroup2" && type != "cgroup") continue;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) continue;
    // The same hierarchy mounted twice (a bind mount, a container's view) has one device.
    if (std::find(seen.begin(), seen.end(), st.st_dev) != seen.end()) continue;
    seen.push_back(st.st_dev);
    (type == "cgroup2" ? v2 : v1).push_back(dir);
  }
  v2.insert(v2.end(), v1.begin(), v1.end());
  return v2;
}

Result<std::string> cgroup2_directory(const std::string& cgroup_path) {
  auto mount = cgroup2_mount();
  if (!mount) return fail("cgroup v2 is not mounted on this host");
  return *mount + (cgroup_path == "/" ? "" : cgroup_path);
}

Result<void> write_cgroup_file(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open {}: {}", path, std::strerror(errno));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return fail("cannot write '{}' to {}: {}", value, path, std::strerror(saved));
  return {};
}

Result<std::string> OwnedCgroup::reserve_path(const std::string& purpose) {
  auto mount = cgroup2_mount();
  if (!mount) return fail("cgroup v2 is not mounted on this host");
  // Beside our own cgroup, so that a container's delegated subtree works as well as the root.
  std::string own = "/";
  {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with("0::")) own = line.substr(3);
  }
  std::string parent = *mount + (own == "/" ? "" : own);
  // Our own cgroup may hold processes with controllers on; its parent is the safe place then.
  if (own != "/") parent = parent.substr(0, parent.rfind('/'));
  return reserve_path_under(parent, purpose);
}

std::string OwnedCgroup::reserve_path_under(const std::string& parent, const std::string& purpose) {
  static std::atomic<int> sequence{0};
  return fmt::format("{}/faultline-{}-{}-{}", parent, getpid(), purpose, sequence.fetch_add(1));
}

std::optional<std::string> cgroup1_cpu_mount() {
  for (const std::string& mount : cgroup_mounts())
    if (::access((mount + "/cpu.cfs_quota_us").c_str(), F_OK) == 0) return mount;
  return std::nullopt;
}

Result<OwnedCgroup> OwnedCgroup::create_at(std::string path) {
  if (::mkdir(path.c_str(), 0755) != 0)
    return fail("cannot create cgroup {}: {}", path, std::strerror(errno));
  return OwnedCgroup(std::move(path));
}

Result<OwnedCgroup> OwnedCgroup::create(const std::string& purpose) {
  return create_at(FL_TRY(reserve_path(purpose)));
}

OwnedCgroup::~OwnedCgroup() {
  (void)destroy();
}

Result<void> OwnedCgroup::add(pid_t pid) const {
  return write_cgroup_file(path_ + "/cgroup.procs", std::to_string(pid));
}

Result<void> OwnedCgroup::destroy() {
  if (path_.empty()) return {};
  FL_TRY_VOID(kill_and_remove_cgroup(path_));
  path_.clear();
  return {};
}

Result<void> kill_and_remove_cgroup(const std::string& dir) {
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
  const bool kill_file = write_cgroup_file(dir + "/cgroup.kill", "1").has_value();
  // A v1 freezer cgroup's frozen tasks take a SIGKILL only once thawed.
  if (!kill_file && ::access((dir + "/freezer.state").c_str(), F_OK) == 0)
    (void)write_cgroup_file(dir + "/freezer.state", "THAWED");
  // rmdir fails with EBUSY until the killed processes are reaped; give them a moment.
  for (int attempt = 0; attempt < 200; ++attempt) {
    // Without cgroup.kill, a process that forked meanwhile is only caught by a new pass.
    if (!kill_file && attempt % 20 == 0) kill_listed_processes(dir);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return fail("cannot remove cgroup {}: {}", dir, std::strerror(errno));
}

std::optional<pid_t> faultline_cgroup_creator(std::string_view name) {
  int pid = 0;
  int consumed = 0;
  const std::string text(name);
  if (std::sscanf(text.c_str(), "faultline-%d-%n", &pid, &consumed) != 1 || consumed == 0 ||
      pid <= 0 || text.find('/') != std::string::npos)
    return std::nullopt;
  return static_cast<pid_t>(pid);
}

void remove_stale_cgroups() {
  auto mount = cgroup2_mount();
  if (!mount) return;
  // Look in the root and one level down, where create() puts them.
  std::vector<std::string> parents = {*mount};
  // Where create() puts them: beside our own cgroup.
  {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with("0::") && line.size() > 4) {
        const std::string own = line.substr(3);
        parents.push_back(*mount + own.substr(0, own.rfind('/')));
      }
  }
  if (DIR* d = opendir(mount->c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') parents.push_back(*mount + "/" + e->d_name);
    closedir(d);
  }
  for (const std::string& parent : parents) {
    DIR* d = opendir(parent.c_str());
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_type != DT_DIR) continue;
      const auto pid = faultline_cgroup_creator(e->d_name);
      if (!pid || (::kill(*pid, 0) == 0 || errno == EPERM)) continue;
      const std::string path = parent + "/" + e->d_name;
      (void)write_cgroup_file(path + "/cgroup.kill", "1");
      ::rmdir(path.c_str());
    }
    closedir(d);
  }
}

}  // namespace faultline
