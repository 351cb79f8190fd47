#pragma once
// What faultline-agent does for its controllers, apart from the wire: it takes each request
// once it is checked (fault_request.h) and within the agent's own policy (policy.h), applies
// faults through the LocalAgent with a lease, reverts them when the lease or the deadline
// passes, and keeps the undo of every active fault on disk (state_file, through UndoKeeper) so
// that an agent killed mid-fault puts the host back when it starts again.
// The gRPC layer (grpc_service.cpp) only translates messages to and from these calls.
#include <expected>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/daemon/actuator.h"
#include "agent/daemon/agent_config.h"
#include "agent/daemon/metrics/agent_metrics.h"
#include "agent/daemon/policy.h"
#include "agent/daemon/service_types.h"
#include "agent/local/fault_report.h"
#include "agent/local/local_agent.h"
#include "agent/local/undo_keeper.h"

namespace faultline {

struct RenewOutcome {
  size_t renewed = 0;
  std::vector<FaultReport> ended;
};

class FaultService {
 public:
  // `keeper` is where undos are kept; the service does not apply a fault it could not record.
  // `metrics` counts what it applies and reverts, and why.
  FaultService(const AgentConfig& config, UndoKeeper& keeper, AgentMetrics& metrics);

  // What this host can do, as Describe says it. Asking the kernel (an nftables listing each
  // time; the qdisc kinds are probed once per process) is kept for kKindsFresh, so a controller
  // that asks again before a run, or a monitor that polls, does not pay it each time; a change
  // on the host shows within seconds.
  std::vector<KindSupport> kinds() const;
  static constexpr Duration kKindsFresh = std::chrono::seconds(5);
  ServiceResult<FaultReport> apply(const ApplyInput& input);
  ServiceResult<RenewOutcome> renew(const std::string& owner, std::optional<Duration> lease);
  // Every fault of `owner`, or one of them.
  ServiceResult<std::vector<FaultReport>> revert(const std::string& owner,
                                                 const std::string& fault_id);
  std::vector<FaultReport> list(const std::string& owner) const;
  size_t active_count() const;
  // Active faults by kind (a fault whose revert failed is still active).
  std::map<std::string, size_t> active_by_kind() const;

  // Reverts what outlived its lease or its deadline; called a few times a second.
  void tick(TimePoint now);
  // Reverts everything (SIGTERM); returns what failed.
  std::vector<std::string> revert_everything(const std::string& why);

 private:
  struct Lease {
    std::string owner;
    std::string fault_id;
    std::string kind;
    TimePoint until{};
    std::string ended_by;
    bool one_shot = false;      // no duration (a kill): its end is not a cut-short fault
    int failed_reverts = 0;     // tried again every tick; logged on the first and every 50th
    bool applying = false;      // apply() is at work on it, outside the lock
    bool revert_asked = false;  // a revert came meanwhile: apply() reverts it when done
    TimePoint ended_at{};       // when it ended (reverted, or its apply failed); for prune()
  };
  Duration lease_for(std::optional<Duration> asked) const;
  FaultReport report(const std::string& k) const;
  // Reverts one fault; takes mutex_ only around the bookkeeping, never across the revert.
  Result<void> revert_one(const std::string& k, const std::string& ended_by);
  // Forgets ended faults older than kEndedKeptFor, and the oldest beyond kEndedKeptCount.
  void prune(TimePoint now);

  const AgentConfig& config_;
  AgentMetrics& metrics_;
  LocalAgent agent_;
  Actuator actuator_;  // applies faults on a thread that outlives every RPC
  mutable std::mutex mutex_;
  std::map<std::string, Lease> leases_;  // by key(); every fault ever applied this run
  std::set<std::string> preparing_;      // keys whose targets are being found
  std::set<std::string> cancelled_;      // reverted while still being prepared: not applied
  bool stopping_ = false;                // revert_everything ran: no new fault
  mutable std::mutex kinds_mutex_;  // held while the answers are made: one caller makes them
  mutable std::vector<KindSupport> kinds_;
  mutable std::optional<TimePoint> kinds_at_;
};

}  // namespace faultline
