#include "injectors/bandwidth/bandwidth.h"

#include <linux/pkt_sched.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "injectors/network/kernel_support.h"
#include "injectors/network/rate.h"
#include "injectors/network/scoped_fault.h"

namespace faultline {
namespace {

const std::vector<ParamSpec>& specs() {
  static const std::vector<ParamSpec> all = [] {
    std::vector<ParamSpec> s = network_common_specs();
    s.push_back({.name = "rate",
                 .type = ParamType::Text,
                 .help = "the bandwidth, e.g. 1mbit, 500kbit or 2mbps (bytes)"});
    s.push_back({.name = "burst",
                 .type = ParamType::Text,
                 .default_value = "32kb",
                 .help = "bytes that may pass at full speed, e.g. 32kb"});
    s.push_back({.name = "limit",
                 .type = ParamType::Text,
                 .default_value = "128kb",
                 .help = "bytes that may wait in the queue before packets are dropped"});
    return s;
  }();
  return all;
}

// tbf's options: rates in bytes per second, the burst both in bytes (TCA_TBF_BURST) and as the
// time it takes at the rate, in psched ticks of 64 ns (kept for older kernels).
Result<void> put_tbf_options(nl_msg* msg, uint64_t rate_bits, uint64_t burst, uint64_t limit) {
  const uint64_t bytes_per_second = rate_bits / 8;
  tc_tbf_qopt q{};
  q.rate.rate = static_cast<uint32_t>(std::min<uint64_t>(bytes_per_second, UINT32_MAX));
  q.rate.linklayer = TC_LINKLAYER_ETHERNET;  // no rate table needed
  q.limit = static_cast<uint32_t>(limit);
  const uint64_t burst_ns = burst * 1'000'000'000ULL / std::max<uint64_t>(bytes_per_second, 1);
  q.buffer = static_cast<uint32_t>(std::min<uint64_t>(burst_ns >> 6, UINT32_MAX));
  nlattr* options = nla_nest_start(msg, TCA_OPTIONS);
  if (options == nullptr || nla_put(msg, TCA_TBF_PARMS, sizeof q, &q) < 0 ||
      nla_put_u32(msg, TCA_TBF_BURST, static_cast<uint32_t>(burst)) < 0)
    return fail("cannot build the tbf options");
  if (bytes_per_second >= UINT32_MAX && nla_put_u64(msg, TCA_TBF_RATE64, bytes_per_second) < 0)
    return fail("cannot build the tbf options");
  nla_nest_end(msg, options);
  return {};
}

Support supported() {
  for (const char* kind : {"htb", "tbf"})
    if (auto k = qdisc_kind_available(kind); !k) return {false, k.error().message};
  return {};
}

std::vector<std::string> cross_check(const Params& p, std::optional<Duration>,
                                     const ProcessSelector&) {
  std::vector<std::string> problems = check_scope(p);
  if (auto r = parse_rate_bits(p.text("rate")); !r)
    problems.push_back(r.error().message);
  else if (*r < 8000)
    problems.push_back("rate must be at least 8kbit");
  auto burst = parse_size_bytes(p.text("burst"));
  if (!burst)
    problems.push_back("burst: " + burst.error().message);
  else if (*burst < 1600)
    problems.push_back("burst must be at least 1600b, one full packet");
  auto limit = parse_size_bytes(p.text("limit"));
  if (!limit)
    problems.push_back("limit: " + limit.error().message);
  else if (burst && *limit < *burst)
    problems.push_back("limit must be at least the burst");
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  const uint64_t rate = FL_TRY(parse_rate_bits(request.params.text("rate")));
  const uint64_t burst = FL_TRY(parse_size_bytes(request.params.text("burst")));
  const uint64_t limit = FL_TRY(parse_size_bytes(request.params.text("limit")));
  FaultQdisc qdisc = make_tbf_qdisc({rate, burst, limit});
  const std::string requested =
      fmt::format("rate {} burst {}", format_rate_bits(rate), request.params.text("burst"));
  return std::make_unique<ScopedNetworkFault>(std::move(request), std::move(qdisc), requested);
}

}  // namespace

FaultQdisc make_tbf_qdisc(BandwidthQdisc o) {
  return {"tbf", [o](nl_msg* msg) { return put_tbf_options(msg, o.rate_bits, o.burst, o.limit); }};
}

InjectorDescriptor bandwidth_descriptor() {
  return {.kind = "bandwidth",
          .summary = "limit the bandwidth of the scoped traffic (tbf)",
          .params = specs(),
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .host_check = network_host_check};
}

}  // namespace faultline
