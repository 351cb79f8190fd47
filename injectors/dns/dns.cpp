#include "injectors/dns/dns.h"

#include <unistd.h>

#include <atomic>

#include "injectors/dns/dns_message.h"
#include "injectors/dns/dns_spec.h"
#include "injectors/dns/redirect_script.h"
#include "injectors/dns/responder.h"
#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/network/fault_netns.h"
#include "injectors/network_partition/partition_script.h"

namespace faultline {
namespace {

constexpr std::string_view kActions[] = {"nxdomain", "servfail", "refused",
                                         "drop",     "delay",    "spoof"};

const std::vector<ParamSpec>& specs() {
  static const std::vector<ParamSpec> all = {
      {.name = "names",
       .type = ParamType::Text,
       .help = "the names to fault, comma-separated: exact names or wildcards such as "
               "*.example.com (any name below example.com); case and a trailing dot do not "
               "matter"},
      {.name = "types",
       .type = ParamType::Text,
       .default_value = "any",
       .help = "the record types to fault, comma-separated among A, AAAA, SRV, or any"},
      {.name = "action",
       .type = ParamType::Choice,
       .choices = kActions,
       .help = "nxdomain, servfail or refused (answered at once with that code), drop (never "
               "answered: clients time out), delay (answered by the resolver after `delay`) or "
               "spoof (answered with `address`)"},
      {.name = "delay",
       .type = ParamType::TimeSpan,
       .optional = true,
       .min = 1,
       .max = 10 * 60 * 1000,
       .help = "with action delay: how long each matching query waits before it is forwarded"},
      {.name = "address",
       .type = ParamType::Text,
       .optional = true,
       .help = "with action spoof: the address to answer with; IPv4 answers A queries, IPv6 "
               "AAAA (other types get an empty answer)"},
      {.name = "probability",
       .type = ParamType::Percent,
       .default_value = "100",
       .min = 1,
       .max = 10000,
       .help = "the share of matching queries that get the fault, 0.01% to 100%"},
      netns_param_spec()};
  return all;
}

class DnsFault final : public Fault {
 public:
  DnsFault(FaultRequest request, DnsSpec spec)
      : request_(std::move(request)), spec_(std::move(spec)), responder_(spec_, request_.seed) {}
  ~DnsFault() override { (void)revert(); }

  // Where the fault will act and the name of its table: the undo plan holds both before apply.
  Result<void> prepare() override {
    if (created_) return {};
    netns_ = FL_TRY(fault_netns(request_));
    netns_location_ = FL_TRY(netns_.location());
    if (table_.empty()) table_ = next_nft_table_name("dns");
    prepared_ = true;
    return {};
  }

  Result<void> apply(TimePoint scheduled) override {
    if (created_) return fail("dns '{}' is already applied", request_.id);
    if (!prepared_) FL_TRY_VOID(prepare());
    // Our own namespace is the calling thread's: this one, whatever prepare() saw.
    if (netns_.is_own()) netns_location_ = FL_TRY(netns_.location());
    FL_TRY_VOID(netns_.run([&]() -> Result<void> {
      // Never act on a table that someone else made: the name must be free.
      if (auto existing = nft_run(fmt::format("list table inet {}", table_)); existing)
        return fail("an nftables table inet {} already exists; faultline leaves it alone", table_);
      return {};
    }));
    // The responder first: from the moment the table exists, queries go to it.
    ports_ = FL_TRY(responder_.start(netns_));
    started_ = true;
    script_ = dns_redirect_script(table_, ports_);
    // The undo is recorded before acting: the name was free and the transaction is atomic, so
    // whatever exists under it from here on is ours to delete.
    created_ = true;
    auto applied = netns_.run([&]() -> Result<void> {
      if (auto done = nft_run(script_); !done)
        return fail("nftables refused the DNS redirect: {}", done.error().message);
      applied_after_ = Clock::now() - scheduled;
      auto listing = nft_run(fmt::format("list table inet {}", table_));
      if (!listing)
        return fail("the DNS table inet {} could not be read back: {}", table_,
                    listing.error().message);
      ruleset_ = *listing;
      counters_ = read_counters(ruleset_);
      return {};
    });
    if (!applied) {
      (void)revert();
      return applied;
    }
    return {};
  }

  // The table first, so that no query is redirected to a responder that is gone; then the
  // responder, which waits for the queries in flight.
  Result<void> revert() override {
    if (created_ && !deleted_) {
      auto deleted = netns_.run([&]() -> Result<void> {
        if (auto listing = nft_run(fmt::format("list table inet {}", table_)); listing) {
          counters_ = read_counters(*listing);
          counters_final_ = true;
        }
        if (auto gone = nft_run(fmt::format("delete table inet {}", table_)); !gone) {
          if (!nft_object_missing(gone.error()))
            return fail("could not delete the nftables table inet {}: {}", table_,
                        gone.error().message);
          gone_before_revert_ = !ruleset_.empty();
        }
        return {};
      });
      if (!deleted) return deleted;
      deleted_ = true;
    }
    if (started_) {
      responder_.stop();
      started_ = false;
      stopped_ = true;
    }
    return {};
  }

  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (prepared_ && !deleted_) plan.push_back(delete_nft_table_step(netns_location_, table_));
    return plan;
  }

  nlohmann::json observed() const override {
    const ResponderCounts c = responder_.counts();
    nlohmann::json out = {{"table", fmt::format("inet {}", table_)},
                          {"network_namespace", netns_.description()},
                          {"applied", !ruleset_.empty()},
                          {"removed", deleted_}};
    if (!created_) return out;
    out["responder_ports"] = {
        {"udp4", ports_.udp4}, {"tcp4", ports_.tcp4}, {"udp6", ports_.udp6}, {"tcp6", ports_.tcp6}};
    out["script"] = script_;
    out["ruleset"] = ruleset_;
    if (applied_after_) out["applied_after_ms"] = to_ms(*applied_after_);
    const std::vector<RuleCounter> now = counters();
    nlohmann::json rules = nlohmann::json::array();
    for (const RuleCounter& r : now)
      rules.push_back({{"rule", r.rule}, {"packets", r.packets}, {"bytes", r.bytes}});
    out["rules"] = rules;
    out["packets_redirected"] = redirected(now);
    out["counters_read"] = deleted_ ? (counters_final_ ? "at_revert" : "at_apply") : "now";
    out["queries"] = c.queries;
    out["answered_with_fault"] = c.faulted;
    out["forwarded"] = c.forwarded;
    out["failed"] = c.failed;
    out["dropped_overloaded"] = c.overloaded;
    if (gone_before_revert_) out["table_gone_before_revert"] = true;
    return out;
  }

  std::string summary() const override {
    const std::string requested = describe_dns(spec_);
    if (ruleset_.empty()) return requested + ": not applied";
    const ResponderCounts c = responder_.counts();
    const uint64_t packets = redirected(counters());
    std::string line = fmt::format("{}: ", requested);
    if (c.queries == 0)
      line += fmt::format("no DNS query was seen ({} packets redirected)", packets);
    else
      line += fmt::format(
          "{} queries ({} packets redirected): {} got the fault, {} forwarded, "
          "{} failed",
          c.queries, packets, c.faulted, c.forwarded, c.failed + c.overloaded);
    if (gone_before_revert_) line += " (table removed by someone else, counters lost)";
    if (created_ && !deleted_) line += "; table NOT removed";
    return line;
  }

  bool confirmed() const override {
    // Every redirect of the script came back from the kernel with its counter.
    return !ruleset_.empty() && read_counters(ruleset_).size() == counted_rules(script_);
  }

 private:
  // The counters as they are now while the table is in place; else as last read.
  std::vector<RuleCounter> counters() const {
    if (ruleset_.empty() || deleted_) return counters_;
    std::vector<RuleCounter> now = counters_;
    (void)netns_.run([&]() -> Result<void> {
      if (auto listing = nft_run(fmt::format("list table inet {}", table_)))
        now = read_counters(*listing);
      return {};
    });
    return now;
  }
  static uint64_t redirected(const std::vector<RuleCounter>& counters) {
    uint64_t n = 0;
    for (const RuleCounter& r : counters) n += r.packets;
    return n;
  }

  const FaultRequest request_;
  const DnsSpec spec_;
  DnsResponder responder_;
  NetnsHandle netns_;
  NetnsLocation netns_location_;
  std::string table_;
  ResponderPorts ports_;
  std::string script_;
  std::string ruleset_;  // as read back right after the apply
  std::vector<RuleCounter> counters_;
  std::optional<Duration> applied_after_;
  bool prepared_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool created_ = false;
  bool deleted_ = false;
  bool counters_final_ = false;
  bool gone_before_revert_ = false;
};

Support supported() {
  if (auto usable = nftables_usable(); !usable) return {false, usable.error().message};
  // nat and redirect are modules of their own (nft_chain_nat, nft_redirect): a transaction that
  // needs them, checked and aborted by the kernel, says whether they are there.
  if (auto checked = nft_check(dns_redirect_script("faultline_dns_check", {53, 53, 53, 53}));
      !checked)
    return {false, fmt::format("the kernel refused an nftables nat redirect ({}); it needs "
                               "nf_tables with nat and redirect (modprobe nft_chain_nat "
                               "nft_redirect, or CONFIG_NFT_NAT and CONFIG_NFT_REDIR)",
                               checked.error().message)};
  if (auto ldns = ldns_usable(); !ldns) return {false, ldns.error().message};
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector&) {
  return dns_problems(params);
}

Result<void> host_check(const Params& params) {
  if (params.has("netns")) FL_TRY(NetnsHandle::open_path(params.text("netns")));
  return {};
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  DnsSpec spec = dns_spec(request.params);
  return std::make_unique<DnsFault>(std::move(request), std::move(spec));
}

}  // namespace

InjectorDescriptor dns_descriptor() {
  return {.kind = "dns",
          .summary =
              "answer chosen DNS names with NXDOMAIN, SERVFAIL, REFUSED, a spoofed "
              "address, silence or a delay (nftables redirect to an in-process responder)",
          .params = specs(),
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .host_check = host_check};
}

}  // namespace faultline
