#pragma once
// The faults of one run on other hosts, through their agents: applied on every chosen host at
// once, kept alive by renewing their leases, reverted on every host at once. If this process
// dies, the renewals stop and every agent reverts by itself when the lease runs out; if an agent
// stops answering, the run goes on elsewhere and says so.
//
// No thread per host: every call is started at once on the host's warm channel (AgentPool) and
// answered on gRPC's threads. Each host's renewal is its own call; a host that does not answer
// holds up only its own next renewal, never another host's.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/fleet/agent_client.h"
#include "controller/fleet/agent_pool.h"
#include "controller/inventory/inventory.h"

namespace faultline {

// Something that happened to a host's agent during the run, for the verdict.
struct HostEvent {
  std::string host;
  Duration at{};  // since the run started
  std::string what;
};

class RemoteFaults {
 public:
  RemoteFaults(std::shared_ptr<AgentPool> pool, std::string owner, Duration lease,
               TimePoint run_start, std::function<void(const std::string&)> log);
  // Stops renewing and waits for the renewals still out (their deadline bounds the wait); does
  // not revert (revert_all does).
  ~RemoteFaults();
  RemoteFaults(const RemoteFaults&) = delete;
  RemoteFaults& operator=(const RemoteFaults&) = delete;

  // The host's client from the pool, shared by faults and probes.
  std::shared_ptr<AgentClient> client(const Agent& agent);

  // Connects to every host now (a List each, at once), so that the first fault does not
  // pay for TLS handshakes; what fails here shows again, in context, when a fault needs it.
  void connect(const std::vector<Agent>& hosts);

  struct HostResult {
    std::string host;
    std::optional<FaultReport> report;  // set when applied
    std::optional<Error> error;
  };
  // Applies `fault` on every host at once and waits for all; one result per host, in order.
  std::vector<HostResult> apply(const std::vector<Agent>& hosts, const RemoteFault& fault);
  // Reverts a fault on every host it was applied on; one result per host.
  std::vector<HostResult> revert(const std::string& fault_id);
  // Reverts everything of this run on every host; what failed, one line each.
  std::vector<std::string> revert_all();

  // The last known state of a fault on a host.
  std::optional<FaultReport> report(const std::string& host, const std::string& fault_id) const;
  size_t active_count() const;
  std::vector<HostEvent> events() const;

 private:
  struct Placed {
    std::string host;
    std::string fault_id;
    FaultReport report;
  };
  void renew_loop();
  // Starts a renewal on every host with active faults whose last renewal has answered.
  void renew_once();
  void renewed(const std::string& host, const Result<RenewResult>& r);
  void note(const std::string& host, std::string what);
  std::vector<std::string> hosts_with_active_faults() const;

  const std::shared_ptr<AgentPool> pool_;
  const std::string owner_;
  const Duration lease_;
  const TimePoint run_start_;
  std::function<void(const std::string&)> log_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<AgentClient>> clients_;  // the hosts of this run
  std::vector<Placed> placed_;
  std::set<std::string> renewing_;  // hosts whose renewal has not answered yet
  std::map<std::string, TimePoint> unreachable_since_;  // hosts whose renewal failed
  std::vector<HostEvent> events_;
  bool stop_ = false;
  std::condition_variable wake_;     // the renewer: stop
  std::condition_variable answered_;  // the destructor: a renewal answered
  std::thread renewer_;
};

}  // namespace faultline
