#include "agent/fault_service.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "injectors/process/targets.h"

namespace faultline {
namespace {

// Past a fault's own end, the agent waits this long for the controller's revert before it
// reverts by itself (the controller normally reverts on time; this covers a slow one).
constexpr Duration kDeadlineGrace = std::chrono::seconds(2);

std::optional<std::chrono::system_clock::time_point> wall(std::optional<TimePoint> t) {
  if (!t) return std::nullopt;
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(*t - Clock::now());
}

ServiceError invalid(std::string message) { return {ServiceCode::Invalid, std::move(message)}; }

ServiceError refused(std::string message) { return {ServiceCode::Refused, std::move(message)}; }

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

FaultService::FaultService(const AgentConfig& config, StateFile& state)
    : config_(config), state_(state) {}

std::vector<KindSupport> FaultService::kinds() const {
  std::vector<KindSupport> out;
  for (const InjectorDescriptor& d : all_injectors()) {
    KindSupport k{std::string(d.kind), true, ""};
    const auto& allowed = config_.policy.allowed_kinds;
    if (!allowed.empty() && !allowed.contains(k.kind)) {
      k.supported = false;
      k.reason = fmt::format("not allowed by this agent's policy.allowed_kinds ({})",
                             config_.file);
    } else if (const Support s = d.supported(); !s.ok) {
      k.supported = false;
      k.reason = s.reason;
    }
    out.push_back(std::move(k));
  }
  return out;
}

ServiceResult<FaultRequest> FaultService::build_request(const ApplyInput& in) const {
  if (!valid_id(in.owner))
    return std::unexpected(invalid("owner must be 1 to 128 letters, digits, '.', '_', ':' or '-'"));
  if (!valid_id(in.fault_id))
    return std::unexpected(
        invalid("fault_id must be 1 to 128 letters, digits, '.', '_', ':' or '-'"));
  // Selector fields come from the network; the limits are the scenario parser's.
  if (auto too_long = oversized_selector_field(in.selector, "selector"))
    return std::unexpected(invalid(*too_long));
  const InjectorDescriptor* d = find_injector(in.kind);
  if (d == nullptr)
    return std::unexpected(invalid(fmt::format("unknown fault kind '{:.64}'; known kinds: {}",
                                               in.kind, fmt::join(injector_kinds(), ", "))));
  FaultRequest request;
  request.id = key(in.owner, in.fault_id);
  request.kind = in.kind;
  request.selector = in.selector;
  request.duration = in.duration;
  request.seed = in.seed;
  request.max_processes = in.max_processes;
  // The same parser as a scenario file: the agent trusts no value the controller checked.
  std::vector<RawParam> raw;
  const SourceLocation at{fmt::format("fault '{}'", in.fault_id)};
  for (const auto& [k, v] : in.params) raw.push_back({k, v, at, at});
  ParsedParams parsed = parse_params(d->params, raw, at, in.kind);
  if (!parsed.errors.empty()) {
    std::vector<std::string> messages;
    for (const Diagnostic& e : parsed.errors) messages.push_back(e.message);
    return std::unexpected(invalid(fmt::format("{}", fmt::join(messages, "; "))));
  }
  request.params = std::move(parsed.params);
  if (in.selector.cmdline)
    if (auto m = ProcessMatcher::compile(in.selector); !m)
      return std::unexpected(invalid(m.error().message));
  // Both hold: the scenario's blast_radius.protected (wire.cpp checked it) adds to what the
  // agent's own policy protects, which stays as configured whatever the controller sends.
  request.protection.selectors = in.protected_processes;
  request.protection.agent_policy = config_.policy.protected_processes;
  if (config_.scope_own_netns) {
    // Without its own namespace to compare against, the scope cannot be kept: refuse.
    request.protection.only_netns = netns_inode(getpid());
    if (!request.protection.only_netns)
      return std::unexpected(ServiceError{
          ServiceCode::Unavailable,
          "scope.netns is 'own' but the agent cannot read its own network namespace"});
  }
  return request;
}

ServiceResult<void> FaultService::check_policy(const ApplyInput& in,
                                               const FaultRequest& request) const {
  const AgentPolicy& p = config_.policy;
  if (!p.allowed_kinds.empty() && !p.allowed_kinds.contains(in.kind))
    return std::unexpected(refused(
        fmt::format("refused by this agent's policy: {} is not in policy.allowed_kinds ({})",
                    in.kind, fmt::join(p.allowed_kinds, ", "))));
  if (in.duration && *in.duration > p.max_duration)
    return std::unexpected(refused(fmt::format(
        "refused by this agent's policy: duration {} is longer than policy.max_duration {}",
        format_duration(*in.duration), format_duration(p.max_duration))));
  if (request.params.has("interface")) {
    const std::string& itf = request.params.text("interface");
    if (std::find(p.protected_interfaces.begin(), p.protected_interfaces.end(), itf) !=
        p.protected_interfaces.end())
      return std::unexpected(refused(fmt::format(
          "refused by this agent's policy: interface {} is in policy.protected_interfaces", itf)));
  }
  // A lab agent acts in its own network namespace only; a named one would be another host's.
  if (config_.scope_own_netns && request.params.has("netns"))
    return std::unexpected(refused(
        "refused by this agent's scope: netns is not allowed when scope.netns is 'own'"));
  if (active_count() + preparing_.size() >= static_cast<size_t>(p.max_faults))
    return std::unexpected(refused(fmt::format(
        "refused by this agent's policy: {} faults are active, the policy.max_faults", p.max_faults)));
  return {};
}

Duration FaultService::lease_for(std::optional<Duration> asked) const {
  if (!asked || *asked <= Duration::zero()) return config_.lease_default;
  return std::min(*asked, config_.lease_max);
}

ServiceResult<FaultReport> FaultService::apply(const ApplyInput& in) {
  auto built = build_request(in);
  if (!built) return std::unexpected(built.error());
  FaultRequest request = std::move(*built);
  const std::string k = key(in.owner, in.fault_id);
  {
    std::lock_guard lock(mutex_);
    if (auto it = leases_.find(k); it != leases_.end()) {
      // Idempotent: the same fault again gets its state. One that has ended is not applied
      // again under the same id: an owner that reuses ids must not be told "applied".
      const Lease& l = it->second;
      if (agent_.active_deadline(k) || l.ended_by == "completed") return report(k);
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
    if (auto ok = check_policy(in, request); !ok) return std::unexpected(ok.error());
    preparing_.insert(k);
  }
  // Targets are found without the service's lock: leases keep expiring meanwhile.
  const TimePoint deadline_base = Clock::now();
  auto prepared = agent_.prepare(std::move(request), in.owner,
                                 (in.duration ? deadline_base + *in.duration : deadline_base) +
                                     kDeadlineGrace);
  std::lock_guard lock(mutex_);
  preparing_.erase(k);
  // Reverted (or the agent stopped) while its targets were being found: never applied.
  if (prepared && (cancelled_.erase(k) > 0 || stopping_)) {
    agent_.forget(k);
    return std::unexpected(ServiceError{
        ServiceCode::Failed,
        fmt::format("fault '{}' was reverted while it was being applied; not applied",
                    in.fault_id)});
  }
  cancelled_.erase(k);
  if (!prepared)
    return std::unexpected(ServiceError{
        prepared.error().refused ? ServiceCode::Refused : ServiceCode::Failed,
        prepared.error().message});
  const TimePoint now = Clock::now();
  // The undo goes to disk before the host is touched; without it, nothing is applied.
  StateEntry entry{in.owner, in.fault_id, in.kind, agent_.undo_plan(k)};
  if (auto r = state_.record(entry); !r) {
    agent_.forget(k);
    return std::unexpected(ServiceError{
        ServiceCode::Failed,
        fmt::format("not applied: its undo could not be saved: {}", r.error().message)});
  }
  leases_[k] = {in.owner, in.fault_id, Clock::now() + lease_for(in.lease), "", !in.duration};
  auto applied = actuator_.run([&] { return agent_.apply(k, now); });
  if (!applied) {
    // LocalAgent reverted what was done; once that worked the undo is no longer needed.
    leases_[k].ended_by = "error";
    if (agent_.state(k) && agent_.state(k)->revert_error.empty())
      (void)state_.forget(in.owner, in.fault_id);
    return std::unexpected(ServiceError{ServiceCode::Failed, applied.error().message});
  }
  // The plan may name what apply created (an IFB device, a cgroup); keep the precise one. A
  // plan that did not change is on disk already: no second durable write.
  if (nlohmann::json after = agent_.undo_plan(k); after != entry.undo) {
    entry.undo = std::move(after);
    (void)state_.record(entry);
  }
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
    if (agent_.active_deadline(k)) {
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
  std::lock_guard lock(mutex_);
  std::vector<FaultReport> out;
  bool found = false;
  for (const std::string& k : preparing_)
    if (k.starts_with(owner + "/") && (fault_id.empty() || k == key(owner, fault_id))) {
      cancelled_.insert(k);
      found = true;
    }
  for (auto& [k, l] : leases_) {
    if (l.owner != owner || (!fault_id.empty() && l.fault_id != fault_id)) continue;
    found = true;
    (void)revert_locked(k, "controller");
    out.push_back(report(k));
  }
  if (!found && !fault_id.empty())
    return std::unexpected(ServiceError{
        ServiceCode::NotFound, fmt::format("no fault '{}' of owner '{}'", fault_id, owner)});
  return out;
}

Result<void> FaultService::revert_locked(const std::string& k, const std::string& ended_by) {
  Lease& l = leases_.at(k);
  if (!agent_.active_deadline(k)) return {};
  auto r = agent_.revert(k);
  if (l.ended_by.empty()) l.ended_by = ended_by;
  if (r)
    spdlog::info("event=reverted owner={} fault={} ended_by={}", l.owner, l.fault_id, l.ended_by);
  else if (l.failed_reverts++ % 50 == 0)
    spdlog::critical("event=revert_failed owner={} fault={} ended_by={} attempts={} "
                     "error=\"{}\" (tried again every tick)",
                     l.owner, l.fault_id, l.ended_by, l.failed_reverts, r.error().message);
  // A failed revert keeps its undo on disk: the next start of the agent tries again.
  if (r) (void)state_.forget(l.owner, l.fault_id);
  return r;
}

std::vector<FaultReport> FaultService::list(const std::string& owner) const {
  std::lock_guard lock(mutex_);
  std::vector<FaultReport> out;
  for (const auto& [k, l] : leases_)
    if (owner.empty() || l.owner == owner) out.push_back(report(k));
  return out;
}

size_t FaultService::active_count() const { return agent_.active_count(); }

void FaultService::tick(TimePoint now) {
  std::lock_guard lock(mutex_);
  for (auto& [k, l] : leases_) {
    const std::optional<TimePoint> deadline = agent_.active_deadline(k);
    if (!deadline) continue;
    if (l.failed_reverts > 0)
      (void)revert_locked(k, l.ended_by);  // a revert that failed: again, until it works
    else if (now >= l.until)
      (void)revert_locked(k, "lease");
    else if (now >= *deadline)
      (void)revert_locked(k, l.one_shot ? "completed" : "deadline");
  }
}

std::vector<std::string> FaultService::revert_everything(const std::string& why) {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  std::vector<std::string> errors;
  for (auto& [k, l] : leases_)
    if (auto r = revert_locked(k, why); !r) errors.push_back(fmt::format("{}: {}", k, r.error().message));
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
