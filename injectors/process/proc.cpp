#include "injectors/process/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

namespace faultline {
namespace {

// A /proc file, whole, with plain read(2) into `out` (its capacity is kept between calls). procfs
// reports a size of 0, so it reads until end of file. A scan reads one to three of these for
// each of hundreds of processes: no stream objects or locales on the way.
bool read_file(const char* path, std::string& out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buffer[4096];
  bool ok = true;
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ok = got == 0;
      break;
    }
    out.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return ok;
}

// "/proc/PID/NAME" in a stack buffer; a scan makes hundreds.
struct ProcPath {
  char text[64];
  ProcPath(pid_t pid, std::string_view name) {
    std::memcpy(text, "/proc/", 6);
    char* at = std::to_chars(text + 6, text + 32, pid).ptr;
    *at++ = '/';
    const size_t n = std::min(name.size(), sizeof text - 1 - static_cast<size_t>(at - text));
    std::memcpy(at, name.data(), n);
    at[n] = '\0';
  }
};

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
  // Fields from 3 (state) on, separated by single spaces; starttime is field 22, flags (9)
  // tells kernel threads apart.
  const char* at = stat.c_str() + close + 2;
  for (int index = 3; index <= 22 && *at != '\0'; ++index) {
    const char* end = std::strchr(at, ' ');
    if (end == nullptr) end = at + std::strlen(at);
    if (index == 3) p.state = end == at ? '?' : *at;
    if (index == 4) p.ppid = static_cast<pid_t>(std::strtol(at, nullptr, 10));
    if (index == 9) p.kernel_thread = (std::strtoull(at, nullptr, 10) & 0x00200000) != 0;
    if (index == 22) p.start_ticks = std::strtoull(at, nullptr, 10);
    at = *end == '\0' ? end : end + 1;
  }
  return p;
}

}  // namespace

std::optional<ProcessInfo> read_process_stat(pid_t pid) {
  thread_local std::string stat;
  if (!read_file(ProcPath(pid, "stat").text, stat)) return std::nullopt;
  return parse_stat(pid, stat);
}

void read_process_details(ProcessInfo& p, bool cmdline, bool cgroup) {
  std::string text;
  if (cmdline && read_file(ProcPath(p.pid, "cmdline").text, text)) {
    while (!text.empty() && text.back() == '\0') text.pop_back();
    for (char& c : text)
      if (c == '\0') c = ' ';
    p.cmdline = std::move(text);
  }
  if (cgroup && read_file(ProcPath(p.pid, "cgroup").text, text)) {
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t eol = rest.find('\n');
      const std::string_view line = rest.substr(0, eol);
      if (line.starts_with("0::")) p.cgroup = std::string(line.substr(3));
      rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    }
  }
}

std::optional<pid_t> pid_in_own_namespace(pid_t pid) {
  std::string status;
  if (!read_file(ProcPath(pid, "status").text, status)) return std::nullopt;
  const size_t at = status.find("\nNSpid:");
  if (at == std::string::npos) return pid;  // a kernel before 4.1: no pid namespaces shown
  const size_t end = status.find('\n', at + 1);
  const std::string line = status.substr(at + 7, end - at - 7);
  const size_t last = line.find_last_of(" \t");
  try {
    return static_cast<pid_t>(std::stol(line.substr(last == std::string::npos ? 0 : last + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<ProcessInfo> read_process(pid_t pid, bool with_cgroup) {
  auto p = read_process_stat(pid);
  if (p) read_process_details(*p, true, with_cgroup);
  return p;
}

std::vector<pid_t> list_pids() {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    out.push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  return out;
}

std::vector<ProcessInfo> scan_processes(bool with_cgroup) {
  std::vector<ProcessInfo> out;
  for (pid_t pid : list_pids())
    if (auto p = read_process(pid, with_cgroup)) out.push_back(std::move(*p));
  return out;
}

std::optional<Duration> read_cpu_time(pid_t pid) {
  std::string text;
  if (!read_file(ProcPath(pid, "schedstat").text, text)) return std::nullopt;
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
