#pragma once
// `faultline lab`: many hosts on one machine (docs/agent.md, "The lab"). `up` is a list of
// steps; when one fails, `down` runs and removes whatever the earlier ones made.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/lab/processes.h"
#include "core/result.h"

namespace faultline::lab {

using Say = std::function<void(const std::string&)>;

struct UpOptions {
  int hosts = 0;
  std::string dir;
  bool start_agents = true;
  std::optional<std::string> agent_binary;
};

// An error with `refused` set changed nothing (bad input, no root, a lab already up).
Result<void> lab_up(const UpOptions& options, const Say& say);

struct DownReport {
  StopReport stopped;
  std::vector<std::string> removed_netns;
  std::vector<std::string> removed_links;
  std::vector<std::string> removed_files;
  std::vector<std::string> problems;
  bool removed_anything() const;
};

// Stops the lab's processes (pid files in `dir`, then anything in a lab namespace), removes the
// host-side veths, the namespaces and the bridge, all found by name. Idempotent.
DownReport lab_down(const std::string& dir);

struct HostStatus {
  int index = 0;
  bool has_link = false;            // fl-lab-i-h exists
  std::optional<LabProcess> agent;  // a faultline-agent in its namespace
  std::vector<LabProcess> others;   // anything else in it
};

struct LabStatus {
  bool bridge = false;
  std::vector<HostStatus> hosts;         // one per fl-lab-i namespace, by index
  std::vector<std::string> stray_links;  // fl-lab-i-h without its namespace
  bool empty() const { return !bridge && hosts.empty() && stray_links.empty(); }
};

LabStatus lab_status();

}  // namespace faultline::lab
