#pragma once
// Reading processes from /proc. The start time makes a (pid, start_time) pair name one process
// for its whole life, so a pid that the kernel reuses is never mistaken for the one we chose.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"

namespace faultline {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint64_t start_ticks = 0;  // field 22 of /proc/PID/stat: clock ticks after boot
  char state = '?';          // R, S, D, T, t, Z, ...
  std::string comm;          // the kernel's name (at most 15 characters)
  std::string cmdline;       // argv joined with spaces; empty for kernel threads
  std::string cgroup;        // the cgroup v2 path ("0::" line), e.g. "/system.slice/x.service"
  bool kernel_thread = false;
};

// Every process visible now; processes that exit while being read are skipped. Without
// `with_cgroup`, ProcessInfo::cgroup stays empty: a third fewer reads, for callers that do not
// select by cgroup.
std::vector<ProcessInfo> scan_processes(bool with_cgroup = true);

// One process; nullopt when it is gone.
std::optional<ProcessInfo> read_process(pid_t pid, bool with_cgroup = true);

// The pids in /proc now, in its order.
std::vector<pid_t> list_pids();

// What read_process_stat leaves out, read into `p`: the command line and the cgroup, each when
// asked, so that a scan reads only the files its selector needs (resolve_processes).
void read_process_details(ProcessInfo& p, bool cmdline, bool cgroup);

// Only the fields of /proc/PID/stat (no cmdline or cgroup): cheap enough for tight polling.
std::optional<ProcessInfo> read_process_stat(pid_t pid);

// Time on CPU from /proc/PID/schedstat, in nanoseconds; nullopt when the process is gone.
std::optional<Duration> read_cpu_time(pid_t pid);

// The process's pid inside its own (innermost) pid namespace, from NSpid in /proc/PID/status:
// what `ps` inside a container shows. nullopt when it is gone.
std::optional<pid_t> pid_in_own_namespace(pid_t pid);

// The pid written in a pid file.
std::optional<pid_t> read_pid_file(const std::string& path);

// This process and all its ancestors up to (not including) pid 1.
std::vector<pid_t> self_and_ancestors();

}  // namespace faultline
