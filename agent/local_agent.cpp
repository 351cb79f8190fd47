#include "agent/local_agent.h"

namespace faultline {

Result<void> LocalAgent::prepare(FaultRequest request, const std::string& owner,
                                 TimePoint deadline) {
  const std::string id = request.id;
  const std::string kind = request.kind;
  // Finding targets reads all of /proc: not under the lock that deadlines and reverts need.
  std::unique_ptr<Fault> fault = FL_TRY(create_fault(std::move(request)));
  FL_TRY_VOID(fault->prepare());
  std::lock_guard lock(mutex_);
  if (faults_.contains(id)) return fail("fault '{}' is already known", id);
  Entry entry;
  entry.state.id = id;
  entry.state.kind = kind;
  entry.state.owner = owner;
  entry.state.deadline = deadline;
  entry.fault = std::move(fault);
  faults_.emplace(id, std::move(entry));
  return {};
}

Result<void> LocalAgent::apply(const std::string& id, TimePoint scheduled) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return fail("no prepared fault '{}'", id);
  Entry& entry = it->second;
  if (entry.state.applied_at) return {};  // idempotent
  // Marked applied before acting: a half-done apply still gets its revert.
  entry.state.applied_at = Clock::now();
  auto applied = entry.fault->apply(scheduled);
  if (!applied) {
    entry.state.apply_error = applied.error().message;
    (void)revert_locked(entry);
    return applied;
  }
  return {};
}

Result<void> LocalAgent::revert(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return fail("no fault '{}'", id);
  return revert_locked(it->second);
}

Result<void> LocalAgent::revert_locked(Entry& entry) {
  if (!entry.active()) return {};
  auto reverted = entry.fault->revert();
  // A failed revert leaves the fault active: the next revert, expire or revert_all tries again.
  if (reverted) {
    entry.state.reverted_at = Clock::now();
    entry.state.revert_error.clear();
  } else {
    entry.state.revert_error = reverted.error().message;
  }
  snapshot(entry);
  return reverted;
}

void LocalAgent::snapshot(Entry& entry) {
  entry.state.observed = entry.fault->observed();
  entry.state.summary = entry.fault->summary();
  entry.state.confirmed = entry.fault->confirmed();
}

std::vector<Error> LocalAgent::revert_all(const std::string& owner) {
  std::lock_guard lock(mutex_);
  std::vector<Error> errors;
  for (auto& [id, entry] : faults_) {
    if (!owner.empty() && entry.state.owner != owner) continue;
    if (auto r = revert_locked(entry); !r)
      errors.push_back({fmt::format("{}: {}", id, r.error().message)});
  }
  return errors;
}

std::vector<Error> LocalAgent::expire(TimePoint now) {
  std::lock_guard lock(mutex_);
  std::vector<Error> errors;
  for (auto& [id, entry] : faults_) {
    if (!entry.active() || now < entry.state.deadline) continue;
    entry.state.reverted_by_deadline = true;
    if (auto r = revert_locked(entry); !r)
      errors.push_back({fmt::format("{}: {}", id, r.error().message)});
  }
  return errors;
}

nlohmann::json LocalAgent::undo_plan(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  return it == faults_.end() ? nlohmann::json::array() : it->second.fault->undo_plan();
}

void LocalAgent::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it != faults_.end() && !it->second.active()) faults_.erase(it);
}

std::optional<TimePoint> LocalAgent::active_deadline(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end() || !it->second.active()) return std::nullopt;
  return it->second.state.deadline;
}

std::optional<FaultState> LocalAgent::state(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return std::nullopt;
  FaultState s = it->second.state;
  if (it->second.active()) {
    s.observed = it->second.fault->observed();
    s.summary = it->second.fault->summary();
    s.confirmed = it->second.fault->confirmed();
  }
  return s;
}

std::vector<FaultState> LocalAgent::states() const {
  std::vector<FaultState> out;
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : faults_) ids.push_back(id);
  }
  for (const std::string& id : ids)
    if (auto s = state(id)) out.push_back(std::move(*s));
  return out;
}

size_t LocalAgent::active_count() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [id, entry] : faults_) n += entry.active() ? 1 : 0;
  return n;
}

}  // namespace faultline
