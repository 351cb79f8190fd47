#include "injectors/memory_pressure/memory_views.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace faultline {
namespace {

// v1 writes its "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages).
constexpr int64_t kNoLimit = int64_t{1} << 62;

}  // namespace

std::optional<int64_t> cgroup_memory_usage(const CgroupHierarchy& h, const std::string& dir) {
  return read_cgroup_number(dir + (h.v2() ? "/memory.current" : "/memory.usage_in_bytes"));
}

std::string cgroup_memory_limit_file(const CgroupHierarchy& h) {
  return h.v2() ? "memory.max" : "memory.limit_in_bytes";
}

std::optional<int64_t> cgroup_memory_limit(const CgroupHierarchy& h, const std::string& dir) {
  const auto limit = read_cgroup_number(dir + "/" + cgroup_memory_limit_file(h));
  if (!limit || *limit >= kNoLimit) return std::nullopt;
  return limit;
}

std::optional<int64_t> cgroup_oom_kills(const CgroupHierarchy& h, const std::string& dir) {
  return read_cgroup_key(dir + (h.v2() ? "/memory.events" : "/memory.oom_control"), "oom_kill");
}

std::optional<int64_t> cgroup_limit_hits(const CgroupHierarchy& h, const std::string& dir) {
  if (h.v2()) return read_cgroup_key(dir + "/memory.events", "oom");
  return read_cgroup_number(dir + "/memory.failcnt");
}

std::optional<Pressure> read_pressure(const std::string& file) {
  const auto text = read_cgroup_file(file);
  if (!text) return std::nullopt;
  Pressure p;
  bool some = false;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    char kind[8] = {};
    double avg10 = 0, avg60 = 0, avg300 = 0;
    long long total = 0;
    if (std::sscanf(line.c_str(), "%7s avg10=%lf avg60=%lf avg300=%lf total=%lld", kind, &avg10,
                    &avg60, &avg300, &total) != 5)
      continue;
    PressureLine& l = std::string_view(kind) == "full" ? p.full : p.some;
    l = {avg10, total};
    some = some || std::string_view(kind) == "some";
  }
  if (!some) return std::nullopt;
  return p;
}

std::optional<int64_t> mapping_resident_bytes(pid_t pid, uint64_t address) {
  std::ifstream in(fmt::format("/proc/{}/smaps", pid));
  if (!in) return std::nullopt;
  const std::string start = fmt::format("{:x}-", address);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    // A mapping's header starts with its address in lowercase hex; its fields ("Rss:") with a
    // capital letter.
    const char c = line.empty() ? ' ' : line[0];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
      inside = line.starts_with(start);
      continue;
    }
    long long kib = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %lld kB", &kib) == 1) return kib * 1024;
  }
  return std::nullopt;
}

std::optional<int64_t> process_vm_rss(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lld kB", &kib) == 1) return kib * 1024;
  }
  return std::nullopt;
}

std::optional<int64_t> process_cpu_ticks(pid_t pid) {
  const auto text = read_cgroup_file(fmt::format("/proc/{}/stat", pid));
  if (!text) return std::nullopt;
  // After the command name, which may hold spaces: fields 3.. ; utime is 14, stime 15.
  const size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

}  // namespace faultline
