#include "injectors/network/userspace/userspace_fault.h"

#include <random>

#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/network/fault_netns.h"
#include "injectors/network/userspace/interface_facts.h"

namespace faultline {
namespace {

// How many queue numbers to try when another program holds the first.
constexpr int kQueueNumberAttempts = 8;

nlohmann::json lateness_json(const Lateness& l) {
  return {{"samples", l.samples}, {"p50_us", l.p50_us}, {"p99_us", l.p99_us},
          {"max_us", l.max_us}};
}

nlohmann::json stats_json(const PacketQueueStats& s) {
  return {{"received", s.received},
          {"egress", s.egress},
          {"ingress", s.ingress},
          {"released", s.released},
          {"dropped", s.dropped},
          {"duplicated", s.duplicated},
          {"duplicate_errors", s.duplicate_errors},
          {"corrupted", s.corrupted},
          {"reordered", s.reordered},
          {"queue_full", s.queue_full},
          {"netlink_lost", s.netlink_lost},
          {"flushed_by_kernel", s.flushed_by_kernel},
          {"held_max", s.held_max},
          {"held", lateness_json(s.held)},
          {"lateness", lateness_json(s.lateness)}};
}

nlohmann::json counters_json(const QueueRuleCounters& c) {
  return {{"egress_packets", c.egress_packets},
          {"egress_bytes", c.egress_bytes},
          {"ingress_packets", c.ingress_packets},
          {"ingress_bytes", c.ingress_bytes},
          {"dropped_packets", c.dropped_packets}};
}

}  // namespace

UserspaceNetworkFault::UserspaceNetworkFault(FaultRequest request, NetemOptions options,
                                             std::string why)
    : request_(std::move(request)),
      options_(std::move(options)),
      why_(std::move(why)),
      scope_(NetworkScope::from_params(request_.params)),
      interface_(request_.params.text("interface")),
      direction_(request_.params.text("direction")) {}

UserspaceNetworkFault::~UserspaceNetworkFault() {
  (void)revert();
}

bool UserspaceNetworkFault::kernel_loss_only() const {
  const NetemOptions& o = options_;
  // Only on ingress: a packet dropped in this host's own output path fails the sender's call
  // (sendto and connect get EPERM), where netem's loss is silent. Dropped by a verdict from the
  // queue, a packet is lost silently, so egress loss goes through the queue.
  return direction_ == "ingress" && o.loss.basis_points > 0 && o.loss_correlation.basis_points == 0 && !o.gilbert_elliott &&
         o.delay == Duration::zero() && o.jitter == Duration::zero() &&
         o.duplicate.basis_points == 0 && o.corrupt.basis_points == 0 &&
         o.reorder.basis_points == 0 && o.rate_bits == 0;
}

Result<void> UserspaceNetworkFault::prepare() {
  netns_ = FL_TRY(fault_netns(request_));
  netns_location_ = FL_TRY(netns_.location());
  Result<InterfaceFacts> read = fail("not read");
  FL_TRY_VOID(netns_.run([&]() -> Result<void> {
    read = read_interface_facts(interface_);
    return {};
  }));
  const InterfaceFacts facts = FL_TRY(std::move(read));
  link_header_bytes_ = facts.link_header_bytes;
  if (options_.distribution != "uniform")
    distribution_ = FL_TRY(read_distribution(options_.distribution));
  std::optional<uint32_t> limit;
  if (request_.params.has("limit")) limit = static_cast<uint32_t>(request_.params.integer("limit"));
  queue_size_ = size_queue(options_, limit, facts.speed_bits, interface_);
  // The seed makes the fault's random choices reproducible: the request's, else a fresh one,
  // recorded in the journal either way.
  seed_ = request_.seed != 0 ? request_.seed : std::random_device{}() * 0x100000000ULL +
                                                    std::random_device{}();
  // Named now, so that the undo plan holds it before apply touches anything.
  if (table_.empty()) table_ = next_nft_table_name("nfq");
  prepared_ = true;
  return {};
}

nlohmann::json UserspaceNetworkFault::undo_plan() const {
  nlohmann::json plan = nlohmann::json::array();
  if (!prepared_ || reverted_) return plan;
  // Before apply: the table apply is about to make. After a refused apply: nothing of ours.
  if (!applied_ || rules_) plan.push_back(delete_nft_table_step(netns_location_, table_));
  return plan;
}

Result<void> UserspaceNetworkFault::apply(TimePoint) {
  if (!prepared_) FL_TRY_VOID(prepare());
  return netns_.run([&] { return apply_here(); });
}

Result<void> UserspaceNetworkFault::apply_here() {
  applied_ = true;
  QueueRuleSpec spec{.table = table_,
                     .interface = interface_,
                     .egress = direction_ != "ingress",
                     .ingress = direction_ != "egress",
                     .scope = scope_};
  if (kernel_loss_only()) {
    spec.drop_share = options_.loss;
  } else {
    // The queue listens before any rule sends it a packet.
    std::string taken;
    for (int attempt = 0; attempt < kQueueNumberAttempts && !queue_; ++attempt) {
      const uint16_t number = next_queue_number();
      PacketQueueConfig config{.queue_number = number,
                               .max_packets = queue_size_.packets,
                               .options = options_,
                               .table = distribution_,
                               .link_header_bytes = link_header_bytes_,
                               .seed = seed_};
      auto started = PacketQueue::start(std::move(config));
      if (started) {
        queue_ = std::move(*started);
        queue_number_ = number;
      } else {
        taken = started.error().message;
      }
    }
    if (!queue_) return fail("could not start the packet queue: {}", taken);
    spec.queue_number = queue_number_;
  }
  auto installed = QueueRules::install(spec);
  if (!installed) {
    if (queue_) (void)queue_->stop();
    return fail("could not install the rules of the userspace backend: {}",
                installed.error().message);
  }
  rules_ = std::move(*installed);
  if (auto listing = rules_->listing(); listing) listing_ = *listing;
  return {};
}

Result<void> UserspaceNetworkFault::revert() {
  if (!applied_ || reverted_) return {};
  return netns_.run([&]() -> Result<void> {
    std::string errors;
    // The queue first: it lets new packets through (fail-open, length 0) and releases what it
    // holds. Removing the rules first would make the kernel drop every held packet: it empties
    // the namespace's queues whenever a netfilter hook there goes away.
    if (queue_) {
      if (auto stopped = queue_->stop(); !stopped) errors = stopped.error().message;
      final_stats_ = queue_->stats();
    }
    if (rules_) {
      if (auto removed = rules_->remove(); !removed)
        errors += (errors.empty() ? "" : "; ") + removed.error().message;
      if (auto counters = rules_->counters(); counters) final_counters_ = *counters;
    }
    if (!errors.empty()) return fail("{}", errors);
    rules_.reset();
    queue_.reset();
    reverted_ = true;
    return {};
  });
}

nlohmann::json UserspaceNetworkFault::observed() const {
  nlohmann::json out = {{"backend", "userspace"},
                        {"backend_reason", why_},
                        {"interface", interface_},
                        {"network_namespace", netns_.description()},
                        {"direction", direction_},
                        {"scope", scope_.describe()},
                        {"seed", seed_},
                        {"nftables_table", "inet " + table_}};
  if (kernel_loss_only()) {
    out["method"] = "numgen drop in the kernel (loss alone is exact there)";
  } else {
    out["method"] = "NFQUEUE (xtables target through nft_compat), verdicts from userspace";
    if (queue_number_) out["queue_number"] = *queue_number_;
    out["queue_packets"] = queue_size_.packets;
    out["queue_sizing"] = queue_size_.reason;
  }
  if (!listing_.empty()) out["rules"] = listing_;
  std::optional<QueueRuleCounters> counters = final_counters_;
  if (!counters && rules_)
    (void)netns_.run([&]() -> Result<void> {
      if (auto c = rules_->counters(); c) counters = *c;
      return {};
    });
  if (counters) out["rule_counters"] = counters_json(*counters);
  std::optional<PacketQueueStats> stats = final_stats_;
  if (!stats && queue_) stats = queue_->stats();
  if (stats) out["queue"] = stats_json(*stats);
  return out;
}

std::string UserspaceNetworkFault::summary() const {
  std::string out = fmt::format("{} on {} ({}) for {}, userspace backend", options_.describe(),
                                interface_, direction_, scope_.describe());
  std::optional<PacketQueueStats> stats = final_stats_;
  if (!stats && queue_) stats = queue_->stats();
  if (stats) {
    out += fmt::format(": {} packets held, {} dropped, {} duplicated, {} corrupted", stats->received,
                       stats->dropped, stats->duplicated, stats->corrupted);
    if (stats->queue_full + stats->netlink_lost > 0)
      out += fmt::format(", {} lost because the queue was full", stats->queue_full +
                                                                     stats->netlink_lost);
    if (stats->flushed_by_kernel > 0)
      out += fmt::format(", {} dropped by the kernel while held (a netfilter hook in the "
                         "namespace was removed)",
                         stats->flushed_by_kernel);
    if (stats->held.samples > 0)
      out += fmt::format("; held {:.1f} ms at p50 and {:.1f} ms at p99 (asked: {})",
                         stats->held.p50_us / 1000, stats->held.p99_us / 1000,
                         format_duration(options_.delay));
    if (stats->lateness.samples > 0)
      out += fmt::format("; released {:.0f} us late at p50, {:.0f} us at p99",
                         stats->lateness.p50_us, stats->lateness.p99_us);
    return out;
  }
  std::optional<QueueRuleCounters> counters = final_counters_;
  if (counters)
    out += fmt::format(": {} packets matched, {} dropped in the kernel",
                       counters->egress_packets + counters->ingress_packets,
                       counters->dropped_packets);
  return out;
}

bool UserspaceNetworkFault::confirmed() const {
  // The kernel accepted the rules and they were read back; the queue, when one is needed, was
  // bound before them.
  return !listing_.empty();
}

}  // namespace faultline
