#pragma once
// Small helpers shared by the benchmarks: statistics and child processes.
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace faultline::bench {

struct Stats {
  double median = 0, p95 = 0, p99 = 0, min = 0, max = 0;
};

inline Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  s.median = at(0.5);
  s.p95 = at(0.95);
  s.p99 = at(0.99);
  s.min = v.front();
  s.max = v.back();
  return s;
}

// Starts argv (argv[0] is a path) in its own process group; stdout/stderr to /dev/null.
pid_t spawn(const std::vector<std::string>& argv);
// Waits for a child and returns the CPU time it used (user + system, in seconds, from its
// final /proc/PID/stat read while it is a zombie) and its wall time is not included.
double wait_cpu_seconds(pid_t pid);
// Kills the process group and reaps.
void kill_group(pid_t pid);
// CPU time of one process from /proc/PID/schedstat, in seconds (0 when gone).
double cpu_seconds(pid_t pid);
// The pids whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent);
// The pids whose comm is `comm`.
std::vector<pid_t> pids_named(const std::string& comm);

}  // namespace faultline::bench
