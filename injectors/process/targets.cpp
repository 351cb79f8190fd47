#include "injectors/process/targets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace faultline {

std::optional<uint64_t> netns_inode(pid_t pid) {
  struct stat st {};
  if (stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

std::string protection_reason(const ProcessInfo& p, const Protection& protection,
                              const std::vector<ProcessMatcher>& protected_matchers,
                              const std::vector<pid_t>& ancestors) {
  if (p.pid == getpid()) return "faultline itself is always protected";
  if (p.pid <= 1) return "pid 1 (init) is always protected";
  if (p.kernel_thread) return "kernel threads are always protected";
  // faultline's own helpers: its CPU workers and its guardian.
  if (p.ppid == getpid() && p.comm.starts_with("faultline-"))
    return "faultline's own helper processes are always protected";
  if (std::find(ancestors.begin(), ancestors.end(), p.pid) != ancestors.end())
    return "an ancestor of faultline (such as the shell that started it) is always protected";
  if (p.comm == "sshd") return "sshd is always protected";
  for (size_t i = 0; i < protection.selectors.size(); ++i)
    if (protected_matchers[i].matches(p))
      return fmt::format("protected by blast_radius.protected: {}",
                         protection.selectors[i].describe());
  for (size_t i = 0; i < protection.agent_policy.size(); ++i)
    if (protected_matchers[protection.selectors.size() + i].matches(p))
      return fmt::format("protected by the agent's policy.protected_processes: {}",
                         protection.agent_policy[i].describe());
  for (const Protection::ContainerCgroup& c : protection.container_cgroups)
    if (p.cgroup == c.cgroup || p.cgroup.starts_with(c.cgroup + "/")) return c.why;
  if (protection.only_netns && netns_inode(p.pid) != protection.only_netns)
    return "outside the agent's network namespace (its config says scope.netns: own)";
  return "";
}

Result<Resolution> resolve_processes(const ProcessSelector& selector,
                                     const Protection& protection) {
  ProcessMatcher matcher = FL_TRY(ProcessMatcher::compile(selector));
  std::vector<ProcessMatcher> protected_matchers;
  for (const ProcessSelector& s : protection.selectors)
    protected_matchers.push_back(FL_TRY(ProcessMatcher::compile(s)));
  for (const ProcessSelector& s : protection.agent_policy)
    protected_matchers.push_back(FL_TRY(ProcessMatcher::compile(s)));
  const std::vector<pid_t> ancestors = self_and_ancestors();
  Resolution out;
  bool by_cgroup = selector.cgroup.has_value() || !protection.container_cgroups.empty();
  for (const auto* list : {&protection.selectors, &protection.agent_policy})
    for (const ProcessSelector& s : *list) by_cgroup |= s.cgroup.has_value();
  // Lazily, cheapest test first: a pid file decides without reading anything; a cmdline
  // pattern is tried on the command line alone (most processes fail there, at one read each);
  // then /proc/PID/stat, and the command line only where the selector still needs it. A process
  // that matched is read whole: what it reports, and what protects it.
  for (pid_t pid : list_pids()) {
    if (!matcher.may_match_pid(pid)) continue;
    std::optional<std::string> cmdline;
    if (matcher.has_cmdline_pattern()) {
      ProcessInfo only;
      only.pid = pid;
      read_process_details(only, true, false);
      if (!matcher.cmdline_pattern_matches(only.cmdline)) continue;
      cmdline = std::move(only.cmdline);
    }
    std::optional<ProcessInfo> p = read_process_stat(pid);
    // A zombie has exited already: nothing to kill, pause or count.
    if (!p || p->state == 'Z' || p->state == 'X' || !matcher.may_match(*p)) continue;
    const bool read_before = cmdline.has_value();
    if (read_before) p->cmdline = std::move(*cmdline);
    const bool cmdline_read = read_before || matcher.needs_cmdline(*p);
    read_process_details(*p, cmdline_read && !read_before, by_cgroup);
    if (!matcher.matches(*p)) continue;
    if (!cmdline_read) read_process_details(*p, true, false);
    std::string reason = protection_reason(*p, protection, protected_matchers, ancestors);
    if (reason.empty())
      out.matched.push_back(std::move(*p));
    else
      out.excluded.push_back({std::move(*p), std::move(reason)});
  }
  return out;
}

Result<std::vector<ProcessInfo>> choose_targets(const Resolution& resolution, const Count& count,
                                                int64_t max_processes, std::mt19937_64& rng,
                                                const ProcessSelector& selector) {
  const auto available = static_cast<int64_t>(resolution.matched.size());
  if (available == 0) {
    if (!resolution.excluded.empty())
      return fail("{} matches only protected processes (pid {}: {})", selector.describe(),
                  resolution.excluded.front().process.pid, resolution.excluded.front().reason);
    return fail("{} matches no running process", selector.describe());
  }
  const int64_t wanted = count.of(available);
  if (max_processes > 0 && wanted > max_processes)
    return refuse(
        "refused by the blast radius: count {} selects {} processes ({}), more than "
        "max_processes {}; lower the count or raise blast_radius.max_processes",
        count.text(), wanted, selector.describe(), max_processes);
  std::vector<ProcessInfo> chosen;
  std::sample(resolution.matched.begin(), resolution.matched.end(), std::back_inserter(chosen),
              wanted, rng);
  return chosen;
}

}  // namespace faultline
