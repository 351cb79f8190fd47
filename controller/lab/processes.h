#pragma once
// The processes of a lab: agents started by `lab up`, and anything else running inside a lab
// namespace. Found through /proc (a process's /proc/PID/ns/net is the same namespace file as
// /run/netns/fl-lab-i), so they are found after a crash and without the lab's directory.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline::lab {

struct LabProcess {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  std::string comm;
  std::string netns;  // fl-lab-i, or empty when found through a pid file only
};

// Every process inside one of the named namespaces (names under /run/netns).
std::vector<LabProcess> processes_in_netns(const std::vector<std::string>& netns_names);

// The agent a pid file names, if that process is still the faultline-agent started with
// `config` (a pid file left behind by a crash may name a reused pid: that one is left alone).
std::vector<LabProcess> agent_from_pid_file(const std::string& pid_file, const std::string& config);

struct StopReport {
  std::vector<LabProcess> terminated;  // ended after SIGTERM
  std::vector<LabProcess> killed;      // needed SIGKILL
  std::vector<std::string> problems;   // could not be signalled, or would not die
};

// SIGTERM to all, up to `grace` for them to exit, then SIGKILL. Never pid 1, faultline itself
// or its ancestors (a shell started inside a lab namespace).
StopReport stop_processes(std::vector<LabProcess> processes,
                          std::chrono::milliseconds grace = std::chrono::seconds(5));

}  // namespace faultline::lab
