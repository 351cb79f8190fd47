#include "injectors/network_partition/network_partition.h"

#include <unistd.h>

#include <atomic>

#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/network/netns.h"
#include "injectors/network_partition/partition_script.h"

namespace faultline {
namespace {

constexpr std::string_view kProtocols[] = {"tcp", "udp", "icmp", "all"};
constexpr std::string_view kDirections[] = {"both", "outgoing", "incoming"};
constexpr std::string_view kActions[] = {"drop", "reject"};

constexpr ParamSpec kParams[] = {
    {.name = "destination",
     .type = ParamType::CidrList,
     .optional = true,
     .help = "the remote addresses, IPv4 and/or IPv6 CIDRs such as 10.0.0.0/24,fd00::/64"},
    {.name = "ports",
     .type = ParamType::PortList,
     .optional = true,
     .help = "the remote ports, e.g. 5432 or 8000-8080 (needs protocol tcp or udp)"},
    {.name = "local_ports",
     .type = ParamType::PortList,
     .optional = true,
     .help = "this host's ports, e.g. 8080 (needs protocol tcp or udp)"},
    {.name = "protocol",
     .type = ParamType::Choice,
     .default_value = "all",
     .choices = kProtocols,
     .help = "tcp, udp, icmp (ICMP and ICMPv6) or all"},
    {.name = "direction",
     .type = ParamType::Choice,
     .default_value = "both",
     .choices = kDirections,
     .help = "which packets: both, outgoing (sent to the scope) or incoming (received from it)"},
    {.name = "action",
     .type = ParamType::Choice,
     .default_value = "drop",
     .choices = kActions,
     .help = "drop (silently: peers time out) or reject (TCP reset or ICMP unreachable)"},
};

class NetworkPartition final : public Fault {
 public:
  NetworkPartition(FaultRequest request, PartitionSpec spec)
      : request_(std::move(request)), spec_(std::move(spec)) {}
  ~NetworkPartition() override { (void)revert(); }

  // Names the table and where it will be, so the undo plan holds both before apply.
  Result<void> prepare() override {
    if (created_) return {};
    if (table_.empty()) table_ = next_nft_table_name();
    // A container's rules go into its own network namespace; else into this one.
    if (request_.container)
      handle_ = FL_TRY(NetnsHandle::of_process(request_.container->init_pid,
                                               request_.container->init_start_ticks));
    netns_ = FL_TRY(handle_.location());
    return {};
  }

  Result<void> apply(TimePoint scheduled) override {
    if (created_) return fail("network_partition '{}' is already applied", request_.id);
    if (request_.container && handle_.is_own()) FL_TRY_VOID(prepare());
    return handle_.run([&] { return apply_here(scheduled); });
  }

  Result<void> revert() override {
    if (!created_ || deleted_) return {};
    return handle_.run([&] { return revert_here(); });
  }

 private:
  Result<void> apply_here(TimePoint scheduled) {
    if (table_.empty()) table_ = next_nft_table_name();
    // nft acts in the calling thread's namespace: the container's, or this one.
    netns_ = FL_TRY(NetnsHandle().location());
    script_ = partition_script(spec_, table_);
    // Never act on a table that someone else made: the name must be free. (`create table` in
    // the script would refuse too, but then revert could not tell whose table it is.)
    if (auto existing = nft_run(fmt::format("list table inet {}", table_)); existing)
      return fail("an nftables table inet {} already exists; faultline leaves it alone", table_);
    // Record the undo before acting: the transaction is atomic, and the name was free, so
    // whatever exists under it from here on is ours to delete.
    created_ = true;
    if (auto applied = nft_run(script_); !applied)
      return fail("nftables refused the partition rules: {}", applied.error().message);
    applied_after_ = Clock::now() - scheduled;
    auto listing = nft_run(fmt::format("list table inet {}", table_));
    if (!listing)
      return fail("the partition table inet {} could not be read back: {}", table_,
                  listing.error().message);
    ruleset_ = *listing;
    counters_ = read_counters(ruleset_);
    return {};
  }

  Result<void> revert_here() {
    // The counters first: once the table is gone, so are they.
    if (auto listing = nft_run(fmt::format("list table inet {}", table_)); listing) {
      counters_ = read_counters(*listing);
      counters_final_ = true;
    }
    if (auto deleted = nft_run(fmt::format("delete table inet {}", table_)); !deleted) {
      if (!nft_object_missing(deleted.error()))
        return fail("could not delete the nftables table inet {}: {}", table_,
                    deleted.error().message);
      gone_before_revert_ = !ruleset_.empty();  // else the failed apply created nothing
    }
    deleted_ = true;
    return {};
  }

 public:
  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (!table_.empty() && !deleted_) plan.push_back(delete_nft_table_step(netns_, table_));
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json out = {{"table", fmt::format("inet {}", table_)},
                          {"ssh_excluded", true},
                          {"applied", !ruleset_.empty()},
                          {"removed", deleted_}};
    if (!created_) return out;
    out["script"] = script_;
    out["ruleset"] = ruleset_;
    if (applied_after_) out["applied_after_ms"] = to_ms(*applied_after_);
    nlohmann::json rules = nlohmann::json::array();
    for (const RuleCounter& c : counters_)
      rules.push_back(
          {{"chain", c.chain}, {"rule", c.rule}, {"packets", c.packets}, {"bytes", c.bytes}});
    out["rules"] = rules;
    out["packets"] = packets();
    out["bytes"] = bytes();
    out["counters_read"] = counters_final_ ? "at_revert" : "at_apply";
    if (gone_before_revert_) out["table_gone_before_revert"] = true;
    return out;
  }

  std::string summary() const override {
    const std::string requested = describe_partition(spec_);
    if (ruleset_.empty()) return requested + ": not applied";
    std::string line =
        fmt::format("{}: {} packets {}", requested, packets(), partition_verb(spec_.action));
    if (!counters_final_)
      line += gone_before_revert_ ? " (table removed by someone else, counters lost)"
                                  : " (counters not read at the end)";
    if (created_ && !deleted_) line += "; table NOT removed";
    return line;
  }

  bool confirmed() const override {
    // Every rule of the script came back from the kernel with its counter.
    return !ruleset_.empty() && read_counters(ruleset_).size() == counted_rules(script_);
  }

 private:
  uint64_t packets() const {
    uint64_t n = 0;
    for (const RuleCounter& c : counters_) n += c.packets;
    return n;
  }
  uint64_t bytes() const {
    uint64_t n = 0;
    for (const RuleCounter& c : counters_) n += c.bytes;
    return n;
  }

  const FaultRequest request_;
  const PartitionSpec spec_;
  std::string table_;
  NetnsHandle handle_;  // where the table goes: our own namespace unless a container's
  NetnsLocation netns_;
  std::string script_;
  std::string ruleset_;  // as read back right after the apply
  std::vector<RuleCounter> counters_;
  std::optional<Duration> applied_after_;
  bool created_ = false;
  bool deleted_ = false;
  bool counters_final_ = false;
  bool gone_before_revert_ = false;
};

Support supported() {
  if (auto usable = nftables_usable(); !usable) return {false, usable.error().message};
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector& selector) {
  std::vector<std::string> problems = partition_problems(partition_spec(params));
  if (!selector.empty())
    problems.push_back(
        "network_partition cuts a host's or a container's traffic, not a process's: give it no "
        "process target");
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  PartitionSpec spec = partition_spec(request.params);
  return std::make_unique<NetworkPartition>(std::move(request), std::move(spec));
}

}  // namespace

InjectorDescriptor network_partition_descriptor() {
  return {.kind = "network_partition",
          .summary = "drop or reject traffic to and from given addresses and ports (nftables)",
          .params = kParams,
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create};
}

}  // namespace faultline
