#include "controller/lab/processes.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <thread>

#include "controller/lab/named_netns.h"
#include "injectors/process/pidfd.h"
#include "injectors/process/proc.h"

namespace faultline::lab {
namespace {

struct NamespaceId {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const NamespaceId&) const = default;
};

std::optional<NamespaceId> namespace_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return NamespaceId{st.st_dev, st.st_ino};
}

}  // namespace

std::vector<LabProcess> processes_in_netns(const std::vector<std::string>& netns_names) {
  std::map<NamespaceId, std::string> wanted;
  for (const std::string& name : netns_names)
    if (auto id = namespace_of(std::string(kNetnsDir) + "/" + name)) wanted[*id] = name;
  std::vector<LabProcess> found;
  if (wanted.empty()) return found;
  for (const ProcessInfo& p : scan_processes()) {
    if (p.kernel_thread) continue;
    const auto id = namespace_of(fmt::format("/proc/{}/ns/net", p.pid));
    if (!id) continue;  // exited, or a zombie
    if (auto it = wanted.find(*id); it != wanted.end())
      found.push_back({p.pid, p.start_ticks, p.comm, it->second});
  }
  return found;
}

std::vector<LabProcess> agent_from_pid_file(const std::string& pid_file,
                                            const std::string& config) {
  const std::optional<pid_t> pid = read_pid_file(pid_file);
  if (!pid) return {};
  const std::optional<ProcessInfo> p = read_process(*pid);
  if (!p) return {};
  // argv joined with spaces: ".../faultline-agent --config DIR/agents/lab-i.yaml"
  const std::string& cmd = p->cmdline;
  const size_t program_end = cmd.find(' ');
  const std::string program = cmd.substr(0, program_end);
  if (!program.ends_with("faultline-agent") || !cmd.ends_with(" --config " + config)) return {};
  return {{p->pid, p->start_ticks, p->comm, {}}};
}

StopReport stop_processes(std::vector<LabProcess> processes, std::chrono::milliseconds grace) {
  StopReport report;
  const std::vector<pid_t> protected_pids = self_and_ancestors();
  std::vector<std::pair<LabProcess, PidFd>> running;
  for (LabProcess& p : processes) {
    if (std::any_of(running.begin(), running.end(),
                    [&](const auto& r) { return r.first.pid == p.pid; }))
      continue;  // found twice: by pid file and by namespace
    if (p.pid <= 1 ||
        std::find(protected_pids.begin(), protected_pids.end(), p.pid) != protected_pids.end()) {
      report.problems.push_back(fmt::format(
          "not stopping pid {} ({}) in {}: it is faultline itself or one of its ancestors", p.pid,
          p.comm, p.netns));
      continue;
    }
    auto fd = PidFd::open(p.pid, p.start_ticks);
    if (!fd) continue;  // already gone
    if (auto sent = fd->send_signal(SIGTERM); !sent) {
      if (!fd->exited())
        report.problems.push_back(
            fmt::format("cannot stop pid {} ({}): {}", p.pid, p.comm, sent.error().message));
      continue;
    }
    running.emplace_back(std::move(p), std::move(*fd));
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& [p, fd] : running) {
    const auto left = std::max(deadline - std::chrono::steady_clock::now(),
                               std::chrono::steady_clock::duration::zero());
    if (fd.wait_exit(std::chrono::duration_cast<Duration>(left))) {
      report.terminated.push_back(p);
      continue;
    }
    (void)fd.send_signal(SIGKILL);
    if (fd.wait_exit(std::chrono::seconds(2)))
      report.killed.push_back(p);
    else
      report.problems.push_back(fmt::format(
          "pid {} ({}) did not die after SIGKILL (stuck in the kernel?)", p.pid, p.comm));
  }
  return report;
}

}  // namespace faultline::lab
