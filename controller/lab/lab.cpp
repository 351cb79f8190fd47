#include "controller/lab/lab.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "controller/lab/agent_launch.h"
#include "controller/lab/lab_files.h"
#include "controller/lab/layout.h"
#include "controller/lab/links.h"
#include "controller/lab/named_netns.h"
#include "core/defer.h"
#include "injectors/network/netns.h"

namespace faultline::lab {
namespace {

std::unexpected<Error> refusal(Error error) {
  error.refused = true;
  return std::unexpected(std::move(error));
}

// The lab's namespaces and host-side links present now, by index.
std::vector<std::string> lab_netns_names() {
  std::vector<std::string> names;
  for (const std::string& n : named_netns_list())
    if (index_of_netns(n)) names.push_back(n);
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return *index_of_netns(a) < *index_of_netns(b); });
  return names;
}

std::vector<std::string> lab_link_names() {
  std::vector<std::string> names;
  for (const std::string& n : link_names())
    if (n == kBridge || index_of_veth(n)) names.push_back(n);
  return names;
}

Result<void> make_bridge() {
  const int bridge = FL_TRY(create_bridge(kBridge));
  FL_TRY_VOID(add_ipv4_address(bridge, kBridgeAddress, kPrefixLength));
  return set_link_up(bridge, kBridge);
}

Result<void> make_host(int index, int bridge) {
  const std::string netns = netns_name(index);
  FL_TRY_VOID(create_named_netns(netns));
  const std::string path = std::string(kNetnsDir) + "/" + netns;
  const int netns_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns_fd < 0) return fail("cannot open {}: {}", path, std::strerror(errno));
  Defer close_fd([netns_fd] { close(netns_fd); });
  const int veth = FL_TRY(create_veth_into(host_veth(index), bridge, netns_fd, kLabInterface));
  FL_TRY_VOID(set_link_up(veth, host_veth(index)));
  const NetnsHandle inside = FL_TRY(NetnsHandle::open_path(netns));
  return inside.run([&]() -> Result<void> {
    const int lo = FL_TRY(link_index("lo"));
    FL_TRY_VOID(set_link_up(lo, "lo"));
    const int eth0 = FL_TRY(link_index(kLabInterface));
    FL_TRY_VOID(add_ipv4_address(eth0, host_address(index), kPrefixLength));
    FL_TRY_VOID(set_link_up(eth0, kLabInterface));
    return add_default_route(kBridgeAddress, eth0);
  });
}

}  // namespace

bool DownReport::removed_anything() const {
  return !stopped.terminated.empty() || !stopped.killed.empty() || !removed_netns.empty() ||
         !removed_links.empty();
}

Result<void> lab_up(const UpOptions& options, const Say& say) {
  // Checks first: nothing is touched until they pass.
  if (options.hosts < 1 || options.hosts > kMaxHosts)
    return refuse("--hosts must be between 1 and {} (got {})", kMaxHosts, options.hosts);
  if (geteuid() != 0)
    return refuse(
        "faultline lab up needs root: it creates network namespaces, links and a "
        "bridge");
  std::vector<std::string> present = lab_link_names();
  for (const std::string& n : lab_netns_names()) present.push_back(n);
  if (!present.empty())
    return refuse("a lab is already up ({}); `faultline lab down` removes it",
                  fmt::join(present, ", "));
  std::string agent_binary;
  if (options.start_agents) {
    auto found = find_agent_binary(options.agent_binary);
    if (!found) return refusal(found.error());
    agent_binary = *found;
  }
  std::error_code ec;
  const LabPaths paths{std::filesystem::absolute(options.dir, ec).lexically_normal().string()};

  FL_TRY_VOID(write_lab_files(paths, options.hosts));
  say(fmt::format("wrote certificates, agent configs and {}", paths.inventory()));

  bool done = false;
  Defer undo([&] {
    if (done) return;
    say("lab up failed: removing what it made");
    const DownReport report = lab_down(paths.dir);
    for (const std::string& p : report.problems) say("warning: " + p);
  });
  FL_TRY_VOID(make_bridge());
  const int bridge = FL_TRY(link_index(kBridge));
  for (int i = 1; i <= options.hosts; ++i) FL_TRY_VOID(make_host(i, bridge));
  say(fmt::format("network: bridge {} {}/{}, namespaces {}..{} at {}..{}", kBridge, kBridgeAddress,
                  kPrefixLength, netns_name(1), netns_name(options.hosts), host_address(1),
                  host_address(options.hosts)));

  if (options.start_agents) {
    for (int i = 1; i <= options.hosts; ++i) {
      AgentLaunch launch{agent_binary,      paths.agent_config(i), netns_name(i), paths.log_file(i),
                         paths.pid_file(i), host_address(i),       kAgentPort};
      const pid_t pid = FL_TRY(start_agent(launch));
      say(fmt::format("{}: agent pid {} listening on {}:{}", host_name(i), pid, host_address(i),
                      kAgentPort));
    }
  } else {
    say("agents not started (--no-agents)");
  }
  done = true;
  return {};
}

DownReport lab_down(const std::string& dir) {
  DownReport report;
  std::error_code ec;
  const LabPaths paths{std::filesystem::absolute(dir, ec).lexically_normal().string()};
  const std::vector<std::string> netns = lab_netns_names();

  // 1. Processes: the agents named by pid files (even outside a namespace, after a crash), then
  //    everything inside a lab namespace.
  std::vector<LabProcess> processes;
  std::vector<std::string> pid_files;
  for (const auto& entry : std::filesystem::directory_iterator(paths.dir + "/run", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("lab-") || !name.ends_with(".pid")) continue;
    pid_files.push_back(entry.path().string());
    const std::optional<int> index = index_of_netns("fl-" + name.substr(0, name.size() - 4));
    if (!index) continue;
    for (LabProcess& p : agent_from_pid_file(entry.path().string(), paths.agent_config(*index)))
      processes.push_back(std::move(p));
  }
  for (LabProcess& p : processes_in_netns(netns)) processes.push_back(std::move(p));
  report.stopped = stop_processes(std::move(processes));
  report.problems = report.stopped.problems;

  // 2. Host-side veths (their peers inside go with them), 3. the namespaces, 4. the bridge.
  for (const std::string& link : lab_link_names()) {
    if (link == kBridge) continue;
    if (auto deleted = delete_link(link); !deleted)
      report.problems.push_back(deleted.error().message);
    else if (*deleted)
      report.removed_links.push_back(link);
  }
  for (const std::string& name : netns) {
    if (auto deleted = delete_named_netns(name); !deleted)
      report.problems.push_back(deleted.error().message);
    else if (*deleted)
      report.removed_netns.push_back(name);
  }
  if (auto deleted = delete_link(kBridge); !deleted)
    report.problems.push_back(deleted.error().message);
  else if (*deleted)
    report.removed_links.push_back(kBridge);

  for (const std::string& file : pid_files)
    if (std::filesystem::remove(file, ec)) report.removed_files.push_back(file);
  return report;
}

LabStatus lab_status() {
  LabStatus status;
  const std::vector<std::string> links = link_names();
  const auto has_link = [&](const std::string& name) {
    return std::find(links.begin(), links.end(), name) != links.end();
  };
  status.bridge = has_link(kBridge);
  const std::vector<std::string> netns = lab_netns_names();
  const std::vector<LabProcess> processes = processes_in_netns(netns);
  std::set<int> indexes;
  for (const std::string& name : netns) {
    HostStatus host;
    host.index = *index_of_netns(name);
    indexes.insert(host.index);
    host.has_link = has_link(host_veth(host.index));
    for (const LabProcess& p : processes) {
      if (p.netns != name) continue;
      if (p.comm == "faultline-agent" && !host.agent)
        host.agent = p;
      else
        host.others.push_back(p);
    }
    status.hosts.push_back(std::move(host));
  }
  for (const std::string& link : links)
    if (auto index = index_of_veth(link); index && !indexes.contains(*index))
      status.stray_links.push_back(link);
  return status;
}

}  // namespace faultline::lab
