#include "controller/run/remote_faults.h"

#include <set>
#include <string_view>
#include <unordered_map>

namespace faultline {
namespace {

// Renewals come this many times per lease, so that one lost renewal costs nothing.
constexpr int kRenewalsPerLease = 4;
constexpr Duration kApplyTimeout = std::chrono::seconds(10);
constexpr Duration kRevertTimeout = std::chrono::seconds(10);

// The same on every build, unlike std::hash: a journal's seed must replay the same choices.
uint64_t stable_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

RemoteFaults::RemoteFaults(std::shared_ptr<AgentPool> pool, std::string owner, Duration lease,
                           TimePoint run_start, std::function<void(const std::string&)> log)
    : pool_(std::move(pool)),
      owner_(std::move(owner)),
      lease_(lease),
      run_start_(run_start),
      log_(std::move(log)) {
  renewer_ = std::thread([this] { renew_loop(); });
}

RemoteFaults::~RemoteFaults() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  renewer_.join();
  std::unique_lock lock(mutex_);
  answered_.wait(lock, [this] { return renewing_.empty(); });
}

std::shared_ptr<AgentClient> RemoteFaults::client(const Agent& agent) {
  std::shared_ptr<AgentClient> c = pool_->client(agent);
  std::lock_guard lock(mutex_);
  clients_[agent.name] = c;
  return c;
}

void RemoteFaults::connect(const std::vector<Agent>& hosts) {
  std::vector<std::shared_ptr<AgentClient>> clients;
  for (const Agent& a : hosts) clients.push_back(client(a));
  // List is the cheapest call: Describe would probe the host's qdisc kinds again, which the
  // preflight has just done.
  all_at_once(clients.size(), [&](size_t i, auto answered) {
    clients[i]->list_async(owner_, kApplyTimeout,
                           [answered](const Result<std::vector<FaultReport>>&) { answered(); });
  });
}

std::vector<RemoteFaults::HostResult> RemoteFaults::apply(const std::vector<Agent>& hosts,
                                                          const RemoteFault& fault) {
  std::vector<std::shared_ptr<AgentClient>> clients;
  for (const Agent& a : hosts) clients.push_back(client(a));
  std::vector<HostResult> results(hosts.size());
  all_at_once(hosts.size(), [&](size_t i, auto answered) {
    results[i].host = hosts[i].name;
    RemoteFault f = fault;
    f.seed = fault.seed ^ stable_hash(hosts[i].name);
    clients[i]->apply_async(f, kApplyTimeout, [&, i, answered](Result<FaultReport> r) {
      if (r)
        results[i].report = std::move(*r);
      else
        results[i].error = r.error();
      // Placed as soon as this host answers, so its lease is renewed while slower hosts are
      // still applying. A failed apply is placed too: the agent may have applied it after all
      // (a timeout), and revert_all must ask it.
      {
        std::lock_guard lock(mutex_);
        placed_.push_back(
            {results[i].host, fault.fault_id, results[i].report.value_or(FaultReport{})});
      }
      answered();
    });
  });
  return results;
}

std::vector<RemoteFaults::HostResult> RemoteFaults::revert(const std::string& fault_id) {
  std::vector<std::pair<std::string, std::shared_ptr<AgentClient>>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const Placed& p : placed_)
      if (p.fault_id == fault_id) targets.emplace_back(p.host, clients_.at(p.host));
  }
  std::vector<HostResult> results(targets.size());
  all_at_once(targets.size(), [&](size_t i, auto answered) {
    results[i].host = targets[i].first;
    targets[i].second->revert_async(
        owner_, fault_id, kRevertTimeout,
        [&results, i, answered](Result<std::vector<FaultReport>> r) {
          if (!r)
            results[i].error = r.error();
          else if (!r->empty())
            results[i].report = r->front();
          answered();
        });
  });
  // One pass over what was placed: a run on a thousand hosts has placed thousands of faults.
  std::unordered_map<std::string_view, const FaultReport*> reported;
  for (const HostResult& r : results)
    if (r.report) reported.emplace(r.host, &*r.report);
  std::lock_guard lock(mutex_);
  for (Placed& p : placed_)
    if (p.fault_id == fault_id)
      if (auto it = reported.find(p.host); it != reported.end()) p.report = *it->second;
  return results;
}

std::vector<std::string> RemoteFaults::revert_all() {
  std::vector<std::pair<std::string, std::shared_ptr<AgentClient>>> hosts;
  {
    std::lock_guard lock(mutex_);
    std::set<std::string> seen;
    for (const Placed& p : placed_)
      if (seen.insert(p.host).second) hosts.emplace_back(p.host, clients_.at(p.host));
  }
  std::vector<std::string> failed(hosts.size());
  std::vector<std::vector<FaultReport>> reports(hosts.size());
  all_at_once(hosts.size(), [&](size_t i, auto answered) {
    hosts[i].second->revert_async(
        owner_, "", kRevertTimeout, [&, i, answered](Result<std::vector<FaultReport>> r) {
          if (!r)
            failed[i] = fmt::format("{} (its faults end by their lease, {})", r.error().message,
                                    format_duration(lease_));
          else
            reports[i] = std::move(*r);
          answered();
        });
  });
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (!failed[i].empty()) out.push_back(failed[i]);
    for (const FaultReport& fr : reports[i]) {
      for (Placed& p : placed_)
        if (p.host == hosts[i].first && p.fault_id == fr.fault_id) p.report = fr;
      if (!fr.revert_error.empty())
        out.push_back(fmt::format("agent {}: {}: {}", hosts[i].first, fr.fault_id, fr.revert_error));
    }
  }
  return out;
}

std::optional<FaultReport> RemoteFaults::report(const std::string& host,
                                                const std::string& fault_id) const {
  std::lock_guard lock(mutex_);
  for (const Placed& p : placed_)
    if (p.host == host && p.fault_id == fault_id) return p.report;
  return std::nullopt;
}

size_t RemoteFaults::active_count() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const Placed& p : placed_) n += p.report.active ? 1 : 0;
  return n;
}

std::vector<HostEvent> RemoteFaults::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

void RemoteFaults::note(const std::string& host, std::string what) {
  log_(fmt::format("agent {}: {}", host, what));
  std::lock_guard lock(mutex_);
  events_.push_back({host, Clock::now() - run_start_, std::move(what)});
}

std::vector<std::string> RemoteFaults::hosts_with_active_faults() const {
  std::lock_guard lock(mutex_);
  std::set<std::string> hosts;
  for (const Placed& p : placed_)
    if (p.report.active) hosts.insert(p.host);
  return {hosts.begin(), hosts.end()};
}

void RemoteFaults::renew_loop() {
  const Duration every = lease_ / kRenewalsPerLease;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, every, [this] { return stop_; })) return;
    }
    renew_once();
  }
}

void RemoteFaults::renew_once() {
  const std::vector<std::string> hosts = hosts_with_active_faults();
  // The answer comes within `timeout`, before the next round starts; a host that has not
  // answered by then is skipped in that round rather than asked twice.
  const Duration timeout = lease_ / kRenewalsPerLease;
  for (const std::string& host : hosts) {
    std::shared_ptr<AgentClient> client;
    {
      std::lock_guard lock(mutex_);
      if (stop_ || !renewing_.insert(host).second) continue;
      client = clients_.at(host);
    }
    client->renew_async(owner_, lease_, timeout, [this, host](Result<RenewResult> r) {
      renewed(host, r);
      std::lock_guard lock(mutex_);
      renewing_.erase(host);
      answered_.notify_all();
    });
  }
}

void RemoteFaults::renewed(const std::string& host, const Result<RenewResult>& r) {
  bool was_unreachable = false;
  {
    std::lock_guard lock(mutex_);
    was_unreachable = unreachable_since_.contains(host);
    if (r) unreachable_since_.erase(host);
    else if (!was_unreachable) unreachable_since_[host] = Clock::now();
  }
  if (!r) {
    if (!was_unreachable)
      note(host, fmt::format("UNREACHABLE, its faults end by their lease within {}: {}",
                             format_duration(lease_), r.error().message));
    return;
  }
  if (was_unreachable) note(host, "reachable again");
  for (const FaultReport& ended : r->ended) {
    std::lock_guard lock(mutex_);
    for (Placed& p : placed_)
      if (p.host == host && p.fault_id == ended.fault_id && p.report.active) {
        p.report = ended;
        if (ended.ended_by != "completed")
          log_(fmt::format("agent {}: fault {} ended by {}", host, ended.fault_id,
                           ended.ended_by.empty() ? "the agent" : ended.ended_by));
      }
  }
}

}  // namespace faultline
