#pragma once
// Faults on inventory hosts, through their agents (RemoteFaults): applied on every host of a
// fault at once, kept alive by leases, reverted on every host at once. Whether a run goes on
// when some hosts failed is the scenario's on_host_failure.
#include <memory>
#include <string>
#include <thread>

#include "controller/plan/host_plan.h"
#include "controller/run/fault_site.h"
#include "controller/run/remote_faults.h"

namespace faultline {

class AgentSite : public FaultSite {
 public:
  AgentSite(std::shared_ptr<AgentPool> pool, std::string owner, const Scenario& scenario,
            const HostPlan& plan, Duration lease, TimePoint run_start,
            std::chrono::system_clock::time_point run_start_wall, RunLog log);
  ~AgentSite() override;

  // The agent of an `on: HOST` probe, shared with the faults on that host.
  std::shared_ptr<AgentClient> client(const Agent& agent) { return remote_.client(agent); }

  // Connects to every host of the run in the background: TLS handshakes happen during the
  // before phase, not at the first fault.
  void start() override;
  std::vector<std::string> hosts(const RunFault& fault) const override;
  SiteApply apply(const RunFault& fault, const RunWait& wait) override;
  void revert(const RunFault& fault) override;
  void revert_all() override;
  size_t active_count() const override;
  void update(const RunFault& fault, size_t host_index, FaultRecord& record) const override;
  std::vector<RunRecord::HostEvent> events() const override;

 private:
  // Every inventory host a fault or a probe of this run acts on, once each.
  std::vector<Agent> agents_of_run() const;

  const std::string owner_;
  const Scenario& scenario_;
  const HostPlan& plan_;
  const Duration lease_;
  const std::chrono::system_clock::time_point run_start_wall_;
  RunLog log_;
  RemoteFaults remote_;
  std::thread connector_;
};

}  // namespace faultline
