#include "controller/run/agent_site.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace faultline {

AgentSite::AgentSite(std::shared_ptr<AgentPool> pool, std::string owner, const Scenario& scenario,
                     const HostPlan& plan, Duration lease, TimePoint run_start,
                     std::chrono::system_clock::time_point run_start_wall, RunLog log)
    : owner_(std::move(owner)),
      scenario_(scenario),
      plan_(plan),
      lease_(lease),
      run_start_wall_(run_start_wall),
      log_(log),
      remote_(std::move(pool), owner_, lease, run_start, log) {}

AgentSite::~AgentSite() {
  if (connector_.joinable()) connector_.join();
}

void AgentSite::start() {
  connector_ = std::thread([this] { remote_.connect(agents_of_run()); });
}

std::vector<Agent> AgentSite::agents_of_run() const {
  std::vector<Agent> out;
  auto add = [&](const Agent& a) {
    if (std::none_of(out.begin(), out.end(), [&](const Agent& b) { return b.name == a.name; }))
      out.push_back(a);
  };
  for (const FaultHosts& f : plan_.faults)
    for (const Agent& a : f.agents) add(a);
  for (const ProbeHost& p : plan_.probes)
    if (p.agent) add(*p.agent);
  return out;
}

std::vector<std::string> AgentSite::hosts(const RunFault& fault) const {
  std::vector<std::string> out;
  for (const Agent& a : plan_.faults[fault.index].agents) out.push_back(a.name);
  return out;
}

SiteApply AgentSite::apply(const RunFault& fault, const RunWait& wait) {
  const FaultSpec& f = *fault.spec;
  RemoteFault rf;
  rf.owner = owner_;
  rf.fault_id = f.name;
  rf.kind = f.kind;
  const nlohmann::json written = f.params.to_json();  // as the user wrote them
  for (const auto& [k, v] : written.items())
    rf.params[k] = v.is_string() ? v.get<std::string>() : v.dump();
  rf.selector = fault.selector;
  rf.duration = f.duration;
  rf.lease = lease_;
  rf.seed = fault.seed;
  rf.max_processes = scenario_.blast_radius.max_processes;
  rf.protected_processes = scenario_.blast_radius.protection.selectors;
  rf.containers = fault.containers;
  rf.max_containers = scenario_.blast_radius.max_containers;
  rf.protected_containers = scenario_.blast_radius.container_protection.selectors;
  if (const auto& m = scenario_.blast_radius.resources.max_memory) rf.max_memory = m->text();
  for (const ProtectedPath& p : scenario_.blast_radius.resources.protected_paths)
    rf.protected_paths.push_back(p.path);
  if (!wait(fault.scheduled)) return {.stopped = true};
  const auto results = remote_.apply(plan_.faults[fault.index].agents, rf);
  SiteApply out;
  std::vector<std::string> failed;
  for (const RemoteFaults::HostResult& r : results) {
    if (r.error) failed.push_back(r.error->message);
    out.errors.push_back(r.error ? std::optional(r.error->message) : std::nullopt);
  }
  log_(fmt::format("applied {} ({}) on {} of {} hosts{}", f.name, f.kind,
                   results.size() - failed.size(), results.size(),
                   f.duration ? " for " + format_duration(*f.duration) : ""));
  for (const std::string& m : failed) log_(fmt::format("apply FAILED: {}", m));
  if (!failed.empty() && scenario_.on_host_failure == HostFailurePolicy::Abort)
    out.run_error = fmt::format(
        "fault '{}' could not be applied on {} of {} hosts ({}); "
        "on_host_failure is abort: reverting everywhere",
        f.name, failed.size(), results.size(), fmt::join(failed, "; "));
  return out;
}

void AgentSite::revert(const RunFault& fault) {
  const std::string& name = fault.spec->name;
  const auto results = remote_.revert(name);
  std::vector<std::string> failed;
  for (const auto& r : results) {
    if (r.error) failed.push_back(r.error->message);
    if (r.report && !r.report->revert_error.empty())
      failed.push_back(fmt::format("agent {}: {}", r.host, r.report->revert_error));
  }
  log_(fmt::format(
      "reverted {} on {} hosts{}", name, results.size() - failed.size(),
      failed.empty() ? "" : ": NOT CONFIRMED: " + fmt::format("{}", fmt::join(failed, "; "))));
}

void AgentSite::revert_all() {
  for (const std::string& e : remote_.revert_all()) log_(fmt::format("REVERT NOT CONFIRMED: {}", e));
  // After the reverts: a slow connection attempt must not delay them.
  if (connector_.joinable()) connector_.join();
}

size_t AgentSite::active_count() const { return remote_.active_count(); }

void AgentSite::update(const RunFault& fault, size_t host_index, FaultRecord& r) const {
  const std::optional<FaultReport> report =
      remote_.report(plan_.faults[fault.index].agents[host_index].name, fault.spec->name);
  if (!report) return;
  const auto since_start = [&](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<Duration>(t - run_start_wall_);
  };
  if (report->applied_at) r.applied_at = since_start(*report->applied_at);
  if (report->reverted_at) r.reverted_at = since_start(*report->reverted_at);
  r.ended_by = report->ended_by;
  r.reverted_by_deadline = report->ended_by == "deadline" || report->ended_by == "lease";
  // An apply error seen in the reply stays when the agent's later report has none.
  if (!report->apply_error.empty()) r.apply_error = report->apply_error;
  r.revert_error = report->revert_error;
  r.observed = report->observed;
  r.summary = report->summary;
  r.confirmed = report->confirmed;
}

std::vector<RunRecord::HostEvent> AgentSite::events() const {
  std::vector<RunRecord::HostEvent> out;
  for (const HostEvent& e : remote_.events()) out.push_back({e.host, e.at, e.what});
  return out;
}

}  // namespace faultline
