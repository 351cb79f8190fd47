#include "agent/daemon/fault_service.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "agent/daemon/fault_request.h"
#include "agent/daemon/policy.h"

namespace faultline {
namespace {

// Past a fault's own end, the agent waits this long for the controller's revert before it
// reverts by itself (the controller normally reverts on time; this covers a slow one).
constexpr Duration kDeadlineGrace = std::chrono::seconds(2);

// How long, and how many, ended faults are remembered (FaultService::prune).
constexpr Duration kEndedKeptFor = std::chrono::minutes(10);
constexpr size_t kEndedKeptCount = 1000;

std::optional<std::chrono::system_clock::time_point> wall(std::optional<TimePoint> t) {
  if (!t) return std::nullopt;
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(*t - Clock::now());
}

// A fault's ended_by (as List reports it) as the reason its revert is counted under.
RevertReason revert_reason(const std::string& ended_by) {
  if (ended_by == "lease") return RevertReason::Lease;
  if (ended_by == "deadline") return RevertReason::Deadline;
  if (ended_by == "completed") return RevertReason::End;
  if (ended_by == "shutdown") return RevertReason::Shutdown;
  return RevertReason::Revert;  // "controller"
}

}  // namespace

FaultService::FaultService(const AgentConfig& config, UndoKeeper& keeper, AgentMetrics& metrics)
    : config_(config), metrics_(metrics), agent_(&keeper) {}

std::vector<KindSupport> FaultService::kinds() const {
  std::lock_guard lock(kinds_mutex_);
  const TimePoint now = Clock::now();
  if (!kinds_at_ || now - *kinds_at_ >= kKindsFresh) {
    kinds_ = kinds_offered(config_);
    kinds_at_ = now;
  }
  return kinds_;
}

Duration FaultService::lease_for(std::optional<Duration> asked) const {
  if (!asked || *asked <= Duration::zero()) return config_.lease_default;
  return std::min(*asked, config_.lease_max);
}

ServiceResult<FaultReport> FaultService::apply(const ApplyInput& in) {
  const TimePoint started = Clock::now();
  auto built = build_fault_request(in, config_);
  if (!built) return std::unexpected(built.error());
  FaultRequest request = std::move(*built);
  const std::string k = fault_key(in.owner, in.fault_id);
  {
    std::lock_guard lock(mutex_);
    if (auto it = leases_.find(k); it != leases_.end()) {
      // Idempotent: the same fault again gets its state. One that has ended is not applied
      // again under the same id: an owner that reuses ids must not be told "applied".
      const Lease& l = it->second;
      if (l.applying || agent_.active_deadline(k) || l.ended_by == "completed") return report(k);
      return std::unexpected(ServiceError{
          ServiceCode::Unavailable,
          fmt::format("fault '{}' of owner '{}' has ended already (by {}); apply it under a new "
                      "fault id or owner",
                      in.fault_id, in.owner, l.ended_by.empty() ? "error" : l.ended_by)});
    }
    if (stopping_)
      return std::unexpected(ServiceError{ServiceCode::Unavailable,
                                          "the agent is shutting down and reverting its faults"});
    if (preparing_.contains(k))
      return std::unexpected(ServiceError{
          ServiceCode::Unavailable,
          fmt::format("fault '{}' is being applied by another call; ask again", in.fault_id)});
    // Active, being applied, or having its targets found: each counts against the limit.
    size_t busy = preparing_.size();
    for (const auto& [other, l] : leases_)
      busy += (l.applying || agent_.active_deadline(other)) ? 1 : 0;
    if (auto ok = check_policy(config_, in, request, busy); !ok) return std::unexpected(ok.error());
    preparing_.insert(k);
  }
  // Targets are found without the service's lock: leases keep expiring meanwhile.
  const TimePoint deadline_base = Clock::now();
  auto prepared = agent_.prepare(
      std::move(request), in.owner,
      (in.duration ? deadline_base + *in.duration : deadline_base) + kDeadlineGrace, in.fault_id);
  bool forget_later = false;
  {
    std::lock_guard lock(mutex_);
    preparing_.erase(k);
    // Reverted (or the agent stopped) while its targets were being found: never applied.
    if (prepared && (cancelled_.erase(k) > 0 || stopping_)) {
      forget_later = true;
    } else if (!prepared) {
      cancelled_.erase(k);
      return std::unexpected(
          ServiceError{prepared.error().refused ? ServiceCode::Refused : ServiceCode::Failed,
                       prepared.error().message});
    } else {
      Lease& l = leases_[k];
      l = {in.owner, in.fault_id, in.kind, Clock::now() + lease_for(in.lease), "", !in.duration};
      l.applying = true;
    }
  }
  if (forget_later) {
    agent_.forget(k);
    return std::unexpected(
        ServiceError{ServiceCode::Failed,
                     fmt::format("fault '{}' was reverted while it was being applied; not applied",
                                 in.fault_id)});
  }
  // Applied without the service's lock: the undo's durable writes (fsync) and the injector run
  // inside LocalAgent, which keeps the undo on disk before it touches the host.
  const TimePoint now = Clock::now();
  auto applied = actuator_.run([&] { return agent_.apply(k, now); });
  bool revert_now = false;
  {
    std::lock_guard lock(mutex_);
    Lease& l = leases_.at(k);
    l.applying = false;
    if (!applied) {
      l.ended_by = "error";
      l.ended_at = Clock::now();
      return std::unexpected(ServiceError{ServiceCode::Failed, applied.error().message});
    }
    // A revert (or shutdown) came while it was being applied: it ends now.
    revert_now = l.revert_asked || stopping_;
  }
  metrics_.fault_applied(in.kind, Clock::now() - started);
  if (revert_now) (void)revert_one(k, "controller");
  std::lock_guard lock(mutex_);
  return report(k);
}

ServiceResult<RenewOutcome> FaultService::renew(const std::string& owner,
                                                std::optional<Duration> lease) {
  if (!valid_id(owner)) return std::unexpected(invalid("owner must be a valid id"));
  std::lock_guard lock(mutex_);
  RenewOutcome out;
  const TimePoint until = Clock::now() + lease_for(lease);
  for (auto& [k, l] : leases_) {
    if (l.owner != owner) continue;
    // One still being applied has not ended: it is renewed like an active one.
    if (l.applying || agent_.active_deadline(k)) {
      l.until = until;
      ++out.renewed;
    } else {
      out.ended.push_back(report(k));
    }
  }
  return out;
}

ServiceResult<std::vector<FaultReport>> FaultService::revert(const std::string& owner,
                                                             const std::string& fault_id) {
  if (!valid_id(owner)) return std::unexpected(invalid("owner must be a valid id"));
  if (!fault_id.empty() && !valid_id(fault_id))
    return std::unexpected(invalid("fault_id must be a valid id"));
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    bool found = false;
    for (const std::string& k : preparing_)
      if (k.starts_with(owner + "/") && (fault_id.empty() || k == fault_key(owner, fault_id))) {
        cancelled_.insert(k);
        found = true;
      }
    for (auto& [k, l] : leases_) {
      if (l.owner != owner || (!fault_id.empty() && l.fault_id != fault_id)) continue;
      found = true;
      if (l.applying) l.revert_asked = true;  // apply() reverts it as soon as it is done
      keys.push_back(k);
    }
    if (!found && !fault_id.empty())
      return std::unexpected(ServiceError{
          ServiceCode::NotFound, fmt::format("no fault '{}' of owner '{}'", fault_id, owner)});
  }
  for (const std::string& k : keys) (void)revert_one(k, "controller");
  std::lock_guard lock(mutex_);
  std::vector<FaultReport> out;
  for (const std::string& k : keys)
    if (leases_.contains(k)) out.push_back(report(k));
  return out;
}

Result<void> FaultService::revert_one(const std::string& k, const std::string& ended_by) {
  {
    std::lock_guard lock(mutex_);
    auto it = leases_.find(k);
    if (it == leases_.end() || it->second.applying || !agent_.active_deadline(k)) return {};
  }
  // The revert and its durable write happen outside the service's lock. LocalAgent serialises
  // reverts: a second one of the same fault finds it ended and does nothing.
  auto r = agent_.revert(k);
  std::lock_guard lock(mutex_);
  auto it = leases_.find(k);
  if (it == leases_.end()) return r;
  Lease& l = it->second;
  if (l.ended_by.empty()) {
    l.ended_by = ended_by;
    if (ended_by == "lease") metrics_.lease_expired();
  }
  if (r) {
    if (l.ended_at == TimePoint{}) {
      l.ended_at = Clock::now();
      metrics_.fault_reverted(l.kind, revert_reason(l.ended_by));
      spdlog::info("event=reverted owner={} fault={} ended_by={}", l.owner, l.fault_id, l.ended_by);
    }
  } else {
    if (l.failed_reverts == 0) metrics_.revert_failed(l.kind);
    // A failed revert keeps its undo on disk: the next start of the agent tries again.
    if (l.failed_reverts++ % 50 == 0)
      spdlog::critical(
          "event=revert_failed owner={} fault={} ended_by={} attempts={} "
          "error=\"{}\" (tried again every tick)",
          l.owner, l.fault_id, l.ended_by, l.failed_reverts, r.error().message);
  }
  return r;
}

std::vector<FaultReport> FaultService::list(const std::string& owner) const {
  std::lock_guard lock(mutex_);
  std::vector<FaultReport> out;
  for (const auto& [k, l] : leases_)
    if (owner.empty() || l.owner == owner) out.push_back(report(k));
  return out;
}

size_t FaultService::active_count() const {
  return agent_.active_count();
}

std::map<std::string, size_t> FaultService::active_by_kind() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, size_t> out;
  for (const auto& [k, l] : leases_)
    if (!l.applying && agent_.active_deadline(k)) ++out[l.kind];
  return out;
}

void FaultService::tick(TimePoint now) {
  std::vector<std::pair<std::string, std::string>> due;  // key, why it ends
  {
    std::lock_guard lock(mutex_);
    for (auto& [k, l] : leases_) {
      if (l.applying) continue;
      const std::optional<TimePoint> deadline = agent_.active_deadline(k);
      if (!deadline) continue;
      if (l.failed_reverts > 0)
        due.emplace_back(k, l.ended_by);  // a revert that failed: again, until it works
      else if (now >= l.until)
        due.emplace_back(k, "lease");
      else if (now >= *deadline)
        due.emplace_back(k, l.one_shot ? "completed" : "deadline");
    }
  }
  for (const auto& [k, why] : due) (void)revert_one(k, why);
  prune(now);
}

void FaultService::prune(TimePoint now) {
  // Ended faults are remembered for a while (an apply that repeats an ended id is refused, and
  // List shows how they ended), not for ever: the table stays small and tick() fast.
  std::vector<std::string> forgotten;
  {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<TimePoint, std::string>> ended;
    for (const auto& [k, l] : leases_)
      if (!l.applying && l.ended_at != TimePoint{} && !agent_.active_deadline(k))
        ended.emplace_back(l.ended_at, k);
    std::sort(ended.begin(), ended.end());
    const size_t over = ended.size() > kEndedKeptCount ? ended.size() - kEndedKeptCount : 0;
    for (size_t i = 0; i < ended.size(); ++i) {
      if (i >= over && now - ended[i].first < kEndedKeptFor) break;
      leases_.erase(ended[i].second);
      forgotten.push_back(ended[i].second);
    }
  }
  for (const std::string& k : forgotten) agent_.forget(k);
}

std::vector<std::string> FaultService::revert_everything(const std::string& why) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [k, l] : leases_) {
      if (l.applying) l.revert_asked = true;
      keys.push_back(k);
    }
  }
  std::vector<std::string> errors;
  for (const std::string& k : keys)
    if (auto r = revert_one(k, why); !r)
      errors.push_back(fmt::format("{}: {}", k, r.error().message));
  return errors;
}

FaultReport FaultService::report(const std::string& k) const {
  const Lease& l = leases_.at(k);
  FaultReport r;
  r.owner = l.owner;
  r.fault_id = l.fault_id;
  r.ended_by = l.ended_by;
  if (auto st = agent_.state(k)) {
    r.kind = st->kind;
    r.active = st->applied_at && !st->reverted_at;
    r.applied_at = wall(st->applied_at);
    r.reverted_at = wall(st->reverted_at);
    r.apply_error = st->apply_error;
    r.revert_error = st->revert_error;
    r.observed = st->observed;
    r.summary = st->summary;
    r.confirmed = st->confirmed;
    if (r.active) r.lease_remaining = std::max(Duration::zero(), l.until - Clock::now());
  }
  return r;
}

}  // namespace faultline
