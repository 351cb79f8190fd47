#pragma once
// The host side of faultline: it owns every fault applied on this host, each with an owner and a
// deadline, and reverts it when the fault ends, when its deadline passes, or when the owner goes
// away (revert_all). The local engine calls it in-process; faultline-agent serves the same calls
// over the network.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "injectors/injector.h"

namespace faultline {

struct FaultState {
  std::string id;
  std::string kind;
  std::string owner;
  TimePoint deadline{};
  std::optional<TimePoint> applied_at;
  std::optional<TimePoint> reverted_at;
  std::string apply_error;
  std::string revert_error;
  bool reverted_by_deadline = false;
  // Snapshot of what the injector observed, taken at revert (or on request while active).
  nlohmann::json observed;
  std::string summary;
  bool confirmed = false;
};

class LocalAgent {
 public:
  // Creates the fault and finds its targets; nothing on the host changes yet.
  Result<void> prepare(FaultRequest request, const std::string& owner, TimePoint deadline);
  // Applies a prepared fault. If applying fails half-way, what was done is reverted at once.
  Result<void> apply(const std::string& id, TimePoint scheduled);
  // Reverts one fault; idempotent. One whose revert failed stays active, to be tried again.
  Result<void> revert(const std::string& id);
  // Reverts every fault of `owner` still active ("" for every owner); returns what failed.
  std::vector<Error> revert_all(const std::string& owner = "");
  // Reverts faults whose deadline has passed; returns what failed.
  std::vector<Error> expire(TimePoint now);

  // The fault's undo plan (Fault::undo_plan): what to do to put the host back without it.
  nlohmann::json undo_plan(const std::string& id) const;
  // Drops a prepared fault that will not be applied.
  void forget(const std::string& id);
  // The deadline of an active fault; nullopt when it is not active. Cheaper than state().
  std::optional<TimePoint> active_deadline(const std::string& id) const;

  std::optional<FaultState> state(const std::string& id) const;
  std::vector<FaultState> states() const;
  size_t active_count() const;

 private:
  struct Entry {
    FaultState state;
    std::unique_ptr<Fault> fault;
    bool active() const { return state.applied_at && !state.reverted_at; }
  };
  Result<void> revert_locked(Entry& entry);
  void snapshot(Entry& entry);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> faults_;
};

}  // namespace faultline
