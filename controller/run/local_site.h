#pragma once
// Faults on this host, through the in-process LocalAgent: its undo is kept (UndoKeeper) before
// it acts, and a fault that outlives its deadline is reverted by tick().
#include <string>

#include "agent/local/local_agent.h"
#include "agent/local/undo_keeper.h"
#include "controller/run/fault_site.h"

namespace faultline {

class LocalSite : public FaultSite {
 public:
  // `keeper`: where undos are kept; nullptr keeps them in memory only (tests of the engine).
  LocalSite(std::string owner, const BlastRadius& blast_radius, TimePoint run_start,
            UndoKeeper* keeper, RunLog log);

  std::vector<std::string> hosts(const RunFault& fault) const override;
  SiteApply apply(const RunFault& fault, const RunWait& wait) override;
  void revert(const RunFault& fault) override;
  void revert_all() override;
  void tick(TimePoint now) override;
  size_t active_count() const override;
  void update(const RunFault& fault, size_t host_index, FaultRecord& record) const override;

 private:
  const std::string owner_;
  const BlastRadius& blast_radius_;
  const TimePoint run_start_;
  RunLog log_;
  LocalAgent agent_;
};

}  // namespace faultline
