#pragma once
// A `network` fault on the userspace backend: QueueRules send the scoped packets of one
// interface to an NFQUEUE, and PacketQueue holds, drops, duplicates, corrupts or reorders them as
// PacketModel decides, the way netem would. Loss alone on ingress (random, uncorrelated) needs no
// queue: a numgen rule drops exactly that share in the kernel.
//
// The undo plan, complete after prepare(), names the nftables table; the table is owned by the
// socket that made it, so the kernel removes it when this process dies, and the step finds it
// gone. The queue's packets are released at revert, or dropped by the kernel if we die.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "injectors/injector.h"
#include "injectors/network/netem_options.h"
#include "injectors/network/netns.h"
#include "injectors/network/scope.h"
#include "injectors/network/userspace/packet_queue.h"
#include "injectors/network/userspace/queue_rules.h"
#include "injectors/network/userspace/queue_sizing.h"

namespace faultline {

class UserspaceNetworkFault : public Fault {
 public:
  // `why` says why this backend was chosen; it goes into the journal.
  UserspaceNetworkFault(FaultRequest request, NetemOptions options, std::string why);
  ~UserspaceNetworkFault() override;

  Result<void> prepare() override;
  Result<void> apply(TimePoint scheduled) override;
  Result<void> revert() override;
  nlohmann::json observed() const override;
  std::string summary() const override;
  bool confirmed() const override;
  nlohmann::json undo_plan() const override;

 private:
  Result<void> apply_here();
  // Loss alone on ingress, at random without correlation: exact in the kernel.
  bool kernel_loss_only() const;

  const FaultRequest request_;
  const NetemOptions options_;
  const std::string why_;
  const NetworkScope scope_;
  const std::string interface_;
  const std::string direction_;  // egress, ingress or both
  NetnsHandle netns_;
  NetnsLocation netns_location_;
  std::string table_;
  uint64_t seed_ = 0;
  std::vector<int16_t> distribution_;
  uint32_t link_header_bytes_ = 0;
  QueueSize queue_size_;
  std::optional<uint16_t> queue_number_;
  std::unique_ptr<PacketQueue> queue_;
  std::unique_ptr<QueueRules> rules_;
  std::optional<PacketQueueStats> final_stats_;
  std::optional<QueueRuleCounters> final_counters_;
  std::string listing_;
  bool prepared_ = false;
  bool applied_ = false;
  bool reverted_ = false;
};

}  // namespace faultline
