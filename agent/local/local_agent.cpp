#include "agent/local/local_agent.h"

#include <atomic>
#include <cstdlib>

#include "containers/container_faults.h"
#include "containers/resolve.h"

namespace faultline {

bool revert_fails_on_purpose() {
  static std::atomic<long> remaining = [] {
    const char* n = std::getenv("FAULTLINE_TEST_FAIL_REVERTS");
    return n == nullptr ? 0L : std::strtol(n, nullptr, 10);
  }();
  long now = remaining.load();
  while (now > 0)
    if (remaining.compare_exchange_weak(now, now - 1)) return true;
  return false;
}

LocalAgent::Entry* LocalAgent::find(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  return it == faults_.end() ? nullptr : &it->second;
}

Result<void> LocalAgent::prepare(FaultRequest request, const std::string& owner, TimePoint deadline,
                                 std::string label) {
  const std::string id = request.id;
  const std::string kind = request.kind;
  // Finding targets reads all of /proc: not under a lock that deadlines and reverts need.
  // A fault aimed at the host's processes spares those of protected containers too.
  if (!request.containers)
    if (const InjectorDescriptor* d = find_injector(request.kind); d && d->targets_processes)
      request.protection.container_cgroups =
          protected_container_cgroups(request.container_protection);
  // A container target becomes one fault per chosen container, resolved on this host.
  std::unique_ptr<Fault> fault = FL_TRY(request.containers
                                            ? create_container_faults(std::move(request))
                                            : create_fault(std::move(request)));
  FL_TRY_VOID(fault->prepare());
  std::lock_guard lock(mutex_);
  if (faults_.contains(id)) return fail("fault '{}' is already known", id);
  Entry entry;
  entry.state.id = id;
  entry.state.kind = kind;
  entry.state.owner = owner;
  entry.state.deadline = deadline;
  entry.label = label.empty() ? id : std::move(label);
  entry.fault = std::move(fault);
  faults_.emplace(id, std::move(entry));
  return {};
}

Result<void> LocalAgent::keep_undo(const Entry& entry, const std::string& error) {
  if (keeper_ == nullptr) return {};
  StateEntry kept{entry.state.owner, entry.label, entry.state.kind, entry.fault->undo_plan()};
  if (!error.empty()) kept.undo_errors.push_back(error);
  return keeper_->keep(std::move(kept));
}

Result<void> LocalAgent::apply(const std::string& id, TimePoint scheduled) {
  std::lock_guard act(act_);
  Entry* entry = find(id);
  if (entry == nullptr) return fail("no prepared fault '{}'", id);
  {
    std::lock_guard lock(mutex_);
    if (entry->state.applied_at) return {};  // idempotent
  }
  // The undo goes to disk (and so to the guardian) before the host is touched; without it,
  // nothing is applied.
  const nlohmann::json planned = entry->fault->undo_plan();
  if (auto kept = keep_undo(*entry, ""); !kept)
    return fail("not applied: its undo could not be saved: {}", kept.error().message);
  {
    // Marked applied before acting: a half-done apply still gets its revert.
    std::lock_guard lock(mutex_);
    entry->state.applied_at = Clock::now();
  }
  auto applied = entry->fault->apply(scheduled);
  if (!applied) {
    {
      std::lock_guard lock(mutex_);
      entry->state.apply_error = applied.error().message;
    }
    (void)revert_acting(*entry);
    return applied;
  }
  // The plan may now name what apply created (an IFB device, a cgroup); keep the precise one.
  // A plan that did not change is on disk already: no second durable write.
  if (entry->fault->undo_plan() != planned) (void)keep_undo(*entry, "");
  return {};
}

Result<void> LocalAgent::revert(const std::string& id) {
  std::lock_guard act(act_);
  Entry* entry = find(id);
  if (entry == nullptr) return fail("no fault '{}'", id);
  return revert_acting(*entry);
}

Result<void> LocalAgent::revert_acting(Entry& entry) {
  {
    std::lock_guard lock(mutex_);
    if (!entry.active()) return {};
  }
  auto reverted = revert_fails_on_purpose()
                      ? fail("the revert failed on purpose (FAULTLINE_TEST_FAIL_REVERTS)")
                      : entry.fault->revert();
  {
    // The state first: who asks (List, a renewal) sees the fault ended as soon as it is.
    std::lock_guard lock(mutex_);
    if (reverted) {
      entry.state.reverted_at = Clock::now();
      entry.state.revert_error.clear();
    } else {
      entry.state.revert_error = reverted.error().message;
    }
    snapshot(entry);
  }
  if (reverted) {
    // Once the host is back the undo is no longer needed. Dying before this line only means a
    // later recovery repeats steps that find nothing to do.
    if (keeper_ != nullptr) (void)keeper_->release(entry.state.owner, entry.label);
  } else {
    // A failed revert leaves the fault active and its undo (what is left of it) on disk: the
    // next revert, expire or revert_all tries again, and so does the guardian if we die.
    (void)keep_undo(entry, reverted.error().message);
  }
  return reverted;
}

void LocalAgent::snapshot(Entry& entry) {
  entry.state.observed = entry.fault->observed();
  entry.state.summary = entry.fault->summary();
  entry.state.confirmed = entry.fault->confirmed();
}

std::vector<Error> LocalAgent::revert_all(const std::string& owner) {
  std::lock_guard act(act_);
  std::vector<Entry*> mine;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : faults_)
      if (owner.empty() || entry.state.owner == owner) mine.push_back(&entry);
  }
  std::vector<Error> errors;
  for (Entry* entry : mine)
    if (auto r = revert_acting(*entry); !r)
      errors.push_back({fmt::format("{}: {}", entry->state.id, r.error().message)});
  return errors;
}

std::vector<Error> LocalAgent::expire(TimePoint now) {
  std::lock_guard act(act_);
  std::vector<Entry*> due;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : faults_)
      if (entry.active() && now >= entry.state.deadline) {
        entry.state.reverted_by_deadline = true;
        due.push_back(&entry);
      }
  }
  std::vector<Error> errors;
  for (Entry* entry : due)
    if (auto r = revert_acting(*entry); !r)
      errors.push_back({fmt::format("{}: {}", entry->state.id, r.error().message)});
  return errors;
}

nlohmann::json LocalAgent::undo_plan(const std::string& id) const {
  std::lock_guard act(act_);
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  return it == faults_.end() ? nlohmann::json::array() : it->second.fault->undo_plan();
}

void LocalAgent::forget(const std::string& id) {
  std::lock_guard act(act_);
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
  // A live observation of an active fault reads the injector, which apply and revert change:
  // it needs act_. While they run, the last snapshot answers instead of waiting for them.
  std::unique_lock act(act_, std::try_to_lock);
  std::lock_guard lock(mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return std::nullopt;
  FaultState s = it->second.state;
  if (it->second.active() && act.owns_lock()) {
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

size_t LocalAgent::size() const {
  std::lock_guard lock(mutex_);
  return faults_.size();
}

}  // namespace faultline
