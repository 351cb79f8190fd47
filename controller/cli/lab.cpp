// `faultline lab up|down|status`: many hosts on one machine (docs/agent.md, "The lab").
#include "controller/lab/lab.h"

#include <unistd.h>

#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/lab/layout.h"

namespace faultline {
namespace {

std::string describe(const lab::LabProcess& p) {
  return p.netns.empty() ? fmt::format("{} ({})", p.pid, p.comm)
                         : fmt::format("{} ({}, {})", p.pid, p.comm, p.netns);
}

std::string describe_all(const std::vector<lab::LabProcess>& processes) {
  std::vector<std::string> parts;
  for (const auto& p : processes) parts.push_back(describe(p));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

int lab_up_command(const LabOptions& options) {
  lab::UpOptions up;
  up.hosts = options.hosts;
  up.dir = options.dir;
  up.start_agents = !options.no_agents;
  up.agent_binary = options.agent_binary;
  auto result = lab::lab_up(up, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!result) {
    std::fprintf(stderr, "faultline lab up: error: %s\n", result.error().message.c_str());
    return result.error().refused ? kExitInvalid : kExitError;
  }
  std::printf("lab up: %d host(s); `faultline lab down` removes it\n", options.hosts);
  return 0;
}

int lab_down_command(const LabOptions& options) {
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "faultline lab down: error: needs root: it removes network namespaces and "
                 "links\n");
    return kExitInvalid;
  }
  const lab::DownReport report = lab::lab_down(options.dir);
  if (!report.stopped.terminated.empty())
    std::printf("stopped (SIGTERM): %s\n", describe_all(report.stopped.terminated).c_str());
  if (!report.stopped.killed.empty())
    std::printf("killed (SIGKILL after 5 s): %s\n", describe_all(report.stopped.killed).c_str());
  if (!report.removed_links.empty())
    std::printf("removed links: %s\n",
                fmt::format("{}", fmt::join(report.removed_links, ", ")).c_str());
  if (!report.removed_netns.empty())
    std::printf("removed network namespaces: %s\n",
                fmt::format("{}", fmt::join(report.removed_netns, ", ")).c_str());
  if (!report.removed_anything()) std::printf("no lab to remove\n");
  for (const std::string& p : report.problems)
    std::fprintf(stderr, "faultline lab down: error: %s\n", p.c_str());
  return report.problems.empty() ? 0 : kExitError;
}

int lab_status_command(const LabOptions& options) {
  const lab::LabStatus status = lab::lab_status();
  if (status.empty()) {
    std::printf("no lab is up\n");
    return 0;
  }
  std::printf("bridge %s: %s\n", lab::kBridge,
              status.bridge ? fmt::format("{}/{}", lab::kBridgeAddress, lab::kPrefixLength).c_str()
                            : "missing");
  for (const lab::HostStatus& h : status.hosts) {
    std::string line = fmt::format("{:<7} {:<10} {}:{:<6} role {:<4} ", lab::host_name(h.index),
                                   lab::netns_name(h.index), lab::host_address(h.index),
                                   lab::kAgentPort, lab::host_role(h.index));
    line += h.agent ? fmt::format("agent running (pid {})", h.agent->pid) : "agent not running";
    if (!h.others.empty()) line += fmt::format("; other processes: {}", describe_all(h.others));
    if (!h.has_link) line += fmt::format("; link {} missing", lab::host_veth(h.index));
    std::printf("%s\n", line.c_str());
  }
  for (const std::string& link : status.stray_links)
    std::printf("leftover link %s (no namespace)\n", link.c_str());
  if (const std::string inventory = options.dir + "/inventory.yaml";
      access(inventory.c_str(), F_OK) == 0)
    std::printf("inventory: %s\n", inventory.c_str());
  return 0;
}

}  // namespace faultline
