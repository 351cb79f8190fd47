#include "injectors/network/netem_options.h"

#include <linux/pkt_sched.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <algorithm>
#include <fstream>

#include "injectors/network/rate.h"

namespace faultline {
namespace {

constexpr std::string_view kDistributions[] = {"uniform", "normal", "pareto", "paretonormal"};
constexpr std::string_view kLossModels[] = {"random", "gilbert_elliott"};

Percent percent_or_zero(const Params& p, std::string_view name) {
  return p.has(name) ? p.percent(name) : Percent{};
}

}  // namespace

std::vector<ParamSpec> netem_param_specs() {
  const int64_t hour_ms = 3600LL * 1000;
  return {
      {.name = "delay",
       .type = ParamType::TimeSpan,
       .optional = true,
       .min = 0,
       .max = hour_ms,
       .help = "added latency, e.g. 100ms"},
      {.name = "jitter",
       .type = ParamType::TimeSpan,
       .optional = true,
       .min = 0,
       .max = hour_ms,
       .help = "random variation of the delay, e.g. 10ms"},
      {.name = "delay_correlation",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "how much each delay depends on the previous one"},
      {.name = "distribution",
       .type = ParamType::Choice,
       .default_value = "uniform",
       .choices = kDistributions,
       .help = "how the jitter is distributed"},
      {.name = "loss",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "share of packets dropped"},
      {.name = "loss_correlation",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "how much each loss depends on the previous one"},
      {.name = "loss_model",
       .type = ParamType::Choice,
       .default_value = "random",
       .choices = kLossModels,
       .help = "random, or gilbert_elliott with ge_p, ge_r, ge_h, ge_k"},
      {.name = "ge_p",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "Gilbert-Elliott: chance to move to the bad state"},
      {.name = "ge_r",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "Gilbert-Elliott: chance to move back to the good state"},
      {.name = "ge_h",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "Gilbert-Elliott: chance a packet gets through in the bad state"},
      {.name = "ge_k",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "Gilbert-Elliott: chance a packet gets through in the good state"},
      {.name = "duplicate",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "share of packets sent twice"},
      {.name = "corrupt",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "share of packets with a flipped bit"},
      {.name = "reorder",
       .type = ParamType::Percent,
       .optional = true,
       .min = 0,
       .max = 10000,
       .help = "share of packets sent at once, ahead of delayed ones (needs a delay)"},
      {.name = "reorder_gap",
       .type = ParamType::Integer,
       .optional = true,
       .min = 1,
       .max = 1000000,
       .help = "reorder every Nth packet"},
      {.name = "rate",
       .type = ParamType::Text,
       .optional = true,
       .help = "a bandwidth cap, e.g. 1mbit"},
      {.name = "limit",
       .type = ParamType::Integer,
       .optional = true,
       .min = 1,
       .max = 10000000,
       .help = "packets the queue may hold (netem: 1000; userspace: sized for rate x delay)"},
  };
}

std::vector<std::string> check_netem(const Params& p) {
  std::vector<std::string> problems;
  const bool delay = p.has("delay") && p.duration("delay") > Duration::zero();
  if (p.has("reorder") && !delay)
    problems.push_back("reorder needs a delay: only delayed packets can be overtaken");
  if (p.has("jitter") && !delay) problems.push_back("jitter needs a delay");
  if (p.has("jitter") && delay && p.duration("jitter") > p.duration("delay") &&
      p.text("distribution") == "uniform")
    problems.push_back(
        "jitter is larger than the delay; packets cannot be sent before they "
        "were sent (the kernel would clamp it)");
  if (p.text("distribution") != "uniform" && !p.has("jitter"))
    problems.push_back("a distribution shapes the jitter: give a jitter too");
  if (p.has("delay_correlation") && !delay) problems.push_back("delay_correlation needs a delay");
  if (p.has("reorder_gap") && (!p.has("reorder") || p.percent("reorder").basis_points == 0))
    problems.push_back("reorder_gap needs reorder");
  const bool ge = p.text("loss_model") == "gilbert_elliott";
  if (ge && p.has("loss"))
    problems.push_back("loss_model gilbert_elliott takes ge_p, ge_r, ge_h and ge_k, not loss");
  if (ge && (!p.has("ge_p") || !p.has("ge_r")))
    problems.push_back("loss_model gilbert_elliott needs at least ge_p and ge_r");
  if (!ge && (p.has("ge_p") || p.has("ge_r") || p.has("ge_h") || p.has("ge_k")))
    problems.push_back("ge_p, ge_r, ge_h and ge_k need loss_model: gilbert_elliott");
  if (p.has("rate")) {
    if (auto r = parse_rate_bits(p.text("rate")); !r) problems.push_back(r.error().message);
  }
  if (!delay && !p.has("loss") && !ge && !p.has("duplicate") && !p.has("corrupt") && !p.has("rate"))
    problems.push_back(
        "nothing to do: give at least one of delay, loss, duplicate, corrupt or "
        "rate");
  return problems;
}

Result<NetemOptions> NetemOptions::from_params(const Params& p) {
  NetemOptions o;
  if (p.has("delay")) o.delay = p.duration("delay");
  if (p.has("jitter")) o.jitter = p.duration("jitter");
  o.delay_correlation = percent_or_zero(p, "delay_correlation");
  o.distribution = p.text("distribution");
  o.loss = percent_or_zero(p, "loss");
  o.loss_correlation = percent_or_zero(p, "loss_correlation");
  o.gilbert_elliott = p.text("loss_model") == "gilbert_elliott";
  o.ge_p = percent_or_zero(p, "ge_p");
  o.ge_r = percent_or_zero(p, "ge_r");
  // h and k are "chance to get through"; unset they mean the classic model (bad: all lost,
  // good: none lost).
  o.ge_h = p.has("ge_h") ? p.percent("ge_h") : Percent{0};
  o.ge_k = p.has("ge_k") ? p.percent("ge_k") : Percent{10000};
  o.duplicate = percent_or_zero(p, "duplicate");
  o.corrupt = percent_or_zero(p, "corrupt");
  o.reorder = percent_or_zero(p, "reorder");
  if (p.has("reorder_gap")) o.reorder_gap = static_cast<uint32_t>(p.integer("reorder_gap"));
  if (p.has("rate")) o.rate_bits = FL_TRY(parse_rate_bits(p.text("rate")));
  if (p.has("limit")) o.limit = static_cast<uint32_t>(p.integer("limit"));
  return o;
}

std::string NetemOptions::describe() const {
  std::vector<std::string> parts;
  if (delay > Duration::zero()) {
    std::string d = "delay " + format_duration(delay);
    if (jitter > Duration::zero()) d += " ±" + format_duration(jitter) + " " + distribution;
    parts.push_back(d);
  }
  if (loss.basis_points > 0) parts.push_back("loss " + format_percent(loss));
  if (gilbert_elliott)
    parts.push_back(
        fmt::format("loss gilbert_elliott p {} r {}", format_percent(ge_p), format_percent(ge_r)));
  if (duplicate.basis_points > 0) parts.push_back("duplicate " + format_percent(duplicate));
  if (corrupt.basis_points > 0) parts.push_back("corrupt " + format_percent(corrupt));
  if (reorder.basis_points > 0) parts.push_back("reorder " + format_percent(reorder));
  if (rate_bits > 0) parts.push_back("rate " + format_rate_bits(rate_bits));
  return fmt::format("{}", fmt::join(parts, " "));
}

uint32_t percent_to_probability(Percent p) {
  const uint64_t bp = static_cast<uint64_t>(std::clamp<int64_t>(p.basis_points, 0, 10000));
  return static_cast<uint32_t>((bp * 0xffffffffULL + 5000) / 10000);
}

Result<std::vector<int16_t>> read_distribution(const std::string& name) {
  for (const char* dir :
       {"/usr/lib/x86_64-linux-gnu/tc", "/usr/lib/tc", "/usr/lib64/tc", "/usr/share/tc"}) {
    std::ifstream in(fmt::format("{}/{}.dist", dir, name));
    if (!in) continue;
    std::vector<int16_t> table;
    std::string token;
    while (in >> token) {
      if (token.starts_with('#')) {
        std::getline(in, token);
        continue;
      }
      table.push_back(static_cast<int16_t>(std::stol(token)));
    }
    if (table.empty()) return fail("the distribution table {}.dist in {} is empty", name, dir);
    return table;
  }
  return fail(
      "the {} distribution table ({}.dist) was not found; it comes with iproute2 "
      "(apt-get install iproute2)",
      name, name);
}

Result<void> put_netem_options(nl_msg* msg, const NetemOptions& o) {
  std::vector<int16_t> table;
  if (o.distribution != "uniform") table = FL_TRY(read_distribution(o.distribution));
  tc_netem_qopt q{};
  // The 32-bit fields are in psched ticks (64 ns); the 64-bit attributes below are exact.
  q.latency = static_cast<uint32_t>(std::min<int64_t>(o.delay.count() >> 6, UINT32_MAX));
  q.jitter = static_cast<uint32_t>(std::min<int64_t>(o.jitter.count() >> 6, UINT32_MAX));
  q.limit = o.limit;
  q.loss = percent_to_probability(o.loss);
  // The kernel reorders only with a gap: 0 means "no reordering" to it, so a reorder without a
  // gap is sent as gap 1 (every packet may be picked), as tc does.
  q.gap = o.reorder.basis_points > 0 ? std::max<uint32_t>(1, o.reorder_gap) : 0;
  q.duplicate = percent_to_probability(o.duplicate);
  // netem's TCA_OPTIONS is the struct followed by attributes, not a plain nest.
  nlattr* options = nla_nest_start(msg, TCA_OPTIONS);
  if (options == nullptr || nlmsg_append(msg, &q, sizeof q, NLMSG_ALIGNTO) < 0)
    return fail("cannot build the netem options");
  auto put = [&](int type, const auto& value) {
    return nla_put(msg, type, sizeof value, &value) == 0;
  };
  bool ok = true;
  tc_netem_corr corr{percent_to_probability(o.delay_correlation),
                     percent_to_probability(o.loss_correlation), 0};
  ok &= put(TCA_NETEM_CORR, corr);
  if (o.reorder.basis_points > 0) {
    tc_netem_reorder reorder{percent_to_probability(o.reorder), 0};
    ok &= put(TCA_NETEM_REORDER, reorder);
  }
  if (o.corrupt.basis_points > 0) {
    tc_netem_corrupt corrupt{percent_to_probability(o.corrupt), 0};
    ok &= put(TCA_NETEM_CORRUPT, corrupt);
  }
  if (o.gilbert_elliott) {
    nlattr* loss = nla_nest_start(msg, TCA_NETEM_LOSS);
    // The kernel's h is the chance to get through in the bad state (loss_gilb_ell loses a packet
    // there when a random number is above it), and its k1 the chance to be lost in the good
    // state: 1 - "gets through". iproute2 sends the same (it turns tc's "1-h" back into h).
    tc_netem_gemodel ge{percent_to_probability(o.ge_p), percent_to_probability(o.ge_r),
                        percent_to_probability(o.ge_h),
                        percent_to_probability(Percent{10000 - o.ge_k.basis_points})};
    ok &= loss != nullptr && put(NETEM_LOSS_GE, ge);
    if (loss) nla_nest_end(msg, loss);
  }
  if (o.rate_bits > 0) {
    const uint64_t bytes = o.rate_bits / 8;
    tc_netem_rate rate{static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX)), 0, 0, 0};
    ok &= put(TCA_NETEM_RATE, rate);
    if (bytes >= UINT32_MAX) ok &= nla_put_u64(msg, TCA_NETEM_RATE64, bytes) == 0;
  }
  const int64_t latency = o.delay.count(), jitter = o.jitter.count();
  ok &= put(TCA_NETEM_LATENCY64, latency);
  ok &= put(TCA_NETEM_JITTER64, jitter);
  if (!table.empty())
    ok &= nla_put(msg, TCA_NETEM_DELAY_DIST, static_cast<int>(table.size() * sizeof(int16_t)),
                  table.data()) == 0;
  if (!ok) return fail("cannot build the netem options (the message is too large?)");
  nla_nest_end(msg, options);
  return {};
}

}  // namespace faultline
