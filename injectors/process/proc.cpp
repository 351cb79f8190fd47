#include "injectors/process/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace faultline {
namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

// /proc/PID/stat: "pid (comm) state ppid ...". comm may hold spaces and parentheses, so the
// fields after it are found from the last ')'.
std::optional<ProcessInfo> parse_stat(pid_t pid, const std::string& stat) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
    return std::nullopt;
  ProcessInfo p;
  p.pid = pid;
  p.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  // Fields from 3 (state) on; starttime is field 22, flags (9) tells kernel threads apart.
  for (int index = 3; index <= 22 && rest >> field; ++index) {
    if (index == 3) p.state = field.empty() ? '?' : field[0];
    if (index == 4) p.ppid = static_cast<pid_t>(std::strtol(field.c_str(), nullptr, 10));
    if (index == 9) p.kernel_thread = (std::strtoull(field.c_str(), nullptr, 10) & 0x00200000) != 0;
    if (index == 22) p.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  return p;
}

}  // namespace

std::optional<ProcessInfo> read_process_stat(pid_t pid) {
  std::string stat;
  if (!read_file(fmt::format("/proc/{}/stat", pid), stat)) return std::nullopt;
  return parse_stat(pid, stat);
}

std::optional<ProcessInfo> read_process(pid_t pid, bool with_cgroup) {
  auto p = read_process_stat(pid);
  if (!p) return std::nullopt;
  std::string cmdline;
  if (read_file(fmt::format("/proc/{}/cmdline", pid), cmdline)) {
    while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    p->cmdline = std::move(cmdline);
  }
  std::string cgroups;
  if (with_cgroup && read_file(fmt::format("/proc/{}/cgroup", pid), cgroups)) {
    std::istringstream lines(cgroups);
    std::string line;
    while (std::getline(lines, line))
      if (line.starts_with("0::")) p->cgroup = line.substr(3);
  }
  return p;
}

std::vector<ProcessInfo> scan_processes(bool with_cgroup) {
  std::vector<ProcessInfo> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (auto p = read_process(static_cast<pid_t>(pid), with_cgroup)) out.push_back(std::move(*p));
  }
  closedir(dir);
  return out;
}

std::optional<Duration> read_cpu_time(pid_t pid) {
  std::string text;
  if (!read_file(fmt::format("/proc/{}/schedstat", pid), text)) return std::nullopt;
  return Duration(static_cast<int64_t>(std::strtoull(text.c_str(), nullptr, 10)));
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  // A pid file is a few bytes in a regular file. The path may come from a controller: anything
  // else holds no pid, and reading it whole could never end (/dev/zero) or never return (a FIFO
  // without a writer blocks in open()).
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  char text[32] = {};
  ssize_t got = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(text, &end, 10);
  if (end == text || pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::vector<pid_t> self_and_ancestors() {
  std::vector<pid_t> out = {getpid()};
  auto self = read_process_stat(getpid());
  pid_t pid = self ? self->ppid : 0;
  while (pid > 1 && out.size() < 4096) {
    out.push_back(pid);
    auto p = read_process_stat(pid);
    if (!p) break;
    pid = p->ppid;
  }
  return out;
}

}  // namespace faultline
