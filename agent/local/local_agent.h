#pragma once
// The host side of faultline: it owns every fault applied on this host, each with an owner and a
// deadline, and reverts it when the fault ends, when its deadline passes, or when the owner goes
// away (revert_all). The local engine calls it in-process; faultline-agent serves the same calls
// over the network.
//
// With an UndoKeeper, every fault's undo plan is on disk (and so with the guardian) before the
// fault touches the host, refined after apply, and dropped once reverted: whatever kind it is,
// a SIGKILL of this process leaves nothing applied.
//
// Two locks: `act_` serialises what changes the host (apply, revert) and the durable writes that
// go with them; `mutex_` guards the table and is only held for moments, so deadlines, leases
// and reports never wait for an fsync or an injector.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/local/undo_keeper.h"
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
  // `keeper`, when given, must outlive the agent.
  explicit LocalAgent(UndoKeeper* keeper = nullptr) : keeper_(keeper) {}

  // Creates the fault and finds its targets; nothing on the host changes yet. `label` names the
  // fault in the undo state (default: the request's id).
  Result<void> prepare(FaultRequest request, const std::string& owner, TimePoint deadline,
                       std::string label = "");
  // Applies a prepared fault, after its undo is kept. If applying fails half-way, what was done
  // is reverted at once.
  Result<void> apply(const std::string& id, TimePoint scheduled);
  // Reverts one fault; idempotent. One whose revert failed stays active, to be tried again.
  Result<void> revert(const std::string& id);
  // Reverts every fault of `owner` still active ("" for every owner); returns what failed.
  std::vector<Error> revert_all(const std::string& owner = "");
  // Reverts faults whose deadline has passed; returns what failed.
  std::vector<Error> expire(TimePoint now);

  // The fault's undo plan (Fault::undo_plan): what to do to put the host back without it.
  nlohmann::json undo_plan(const std::string& id) const;
  // Drops a fault that is not active (prepared and never applied, or ended).
  void forget(const std::string& id);
  // The deadline of an active fault; nullopt when it is not active. Cheaper than state().
  std::optional<TimePoint> active_deadline(const std::string& id) const;

  std::optional<FaultState> state(const std::string& id) const;
  std::vector<FaultState> states() const;
  size_t active_count() const;
  size_t size() const;

 private:
  struct Entry {
    FaultState state;
    std::string label;
    std::unique_ptr<Fault> fault;
    bool active() const { return state.applied_at && !state.reverted_at; }
  };
  Entry* find(const std::string& id);
  // act_ held for each of these.
  Result<void> revert_acting(Entry& entry);
  Result<void> keep_undo(const Entry& entry, const std::string& error);
  void snapshot(Entry& entry);

  UndoKeeper* keeper_ = nullptr;
  mutable std::mutex act_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> faults_;  // nodes are stable: an Entry& outlives mutex_
};

// A test-only way to make reverts fail: FAULTLINE_TEST_FAIL_REVERTS=N in the environment makes
// the next N reverts of this process fail without touching the host (the fault stays applied, as
// after a real failure), so that what follows a failed revert can be tested: exit 5, the undo
// kept on disk, retries, and the guardian or `faultline recover` putting the host back.
bool revert_fails_on_purpose();

}  // namespace faultline
