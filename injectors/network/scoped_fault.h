#pragma once
// The Fault that both network kinds are: a qdisc of the kind's choosing, installed under a scoped
// tree on one interface (see tc_tree.h); they differ only in that qdisc and its summary.
#include <memory>
#include <string>
#include <vector>

#include "injectors/injector.h"
#include "injectors/network/ingress_redirect.h"
#include "injectors/network/netns.h"
#include "injectors/network/tc_tree.h"

namespace faultline {

class ScopedNetworkFault : public Fault {
 public:
  // `notes` go into observed() as they are (the network kind's backend and why).
  ScopedNetworkFault(FaultRequest request, FaultQdisc qdisc, std::string requested,
                     nlohmann::json notes = nlohmann::json::object());
  ~ScopedNetworkFault() override;

  Result<void> prepare() override;
  Result<void> apply(TimePoint scheduled) override;
  Result<void> revert() override;
  nlohmann::json observed() const override;
  std::string summary() const override;
  bool confirmed() const override;
  nlohmann::json undo_plan() const override;

 private:
  Result<void> apply_here();
  Result<void> revert_here();
  const FaultRequest request_;
  NetnsHandle netns_;  // where the interface lives: ours, a named one, or a target process's
  NetnsLocation netns_location_;  // the same, as another process can find it (undo plans)
  const FaultQdisc qdisc_;
  const std::string requested_;  // "delay 100ms loss 1%"
  const nlohmann::json notes_;
  const NetworkScope scope_;
  const std::string direction_;               // egress, ingress or both
  std::unique_ptr<ScopedQdiscTree> egress_;   // on the interface itself
  std::unique_ptr<IngressRedirect> ingress_;  // through an IFB device
  nlohmann::json tree_after_apply_;
  bool prepared_ = false;
  bool applied_ = false;
  bool reverted_ = false;
};

// The parameters every network kind has: the interface, then the scope.
std::vector<ParamSpec> network_common_specs();
// The interface exists here.
Result<void> network_host_check(const Params& params);

}  // namespace faultline
