#pragma once
// netem's parameters, validated and converted to kernel units in one place: probabilities as
// u32 fractions of 2^32-1, times as 64-bit nanoseconds (TCA_NETEM_LATENCY64/JITTER64).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/percent.h"
#include "core/result.h"
#include "injectors/params/params.h"

struct nl_msg;

namespace faultline {

struct NetemOptions {
  Duration delay{};
  Duration jitter{};
  Percent delay_correlation{};
  std::string distribution = "uniform";  // uniform, normal, pareto, paretonormal
  Percent loss{};
  Percent loss_correlation{};
  bool gilbert_elliott = false;  // loss_model gilbert_elliott: p, r, 1-h, 1-k
  Percent ge_p{}, ge_r{}, ge_h{}, ge_k{};
  Percent duplicate{};
  Percent corrupt{};
  Percent reorder{};
  uint32_t reorder_gap = 0;
  uint64_t rate_bits = 0;  // 0: no rate limit
  uint32_t limit = 1000;   // packets

  static Result<NetemOptions> from_params(const Params& params);
  std::string describe() const;
};

// The parameter specs of the `network` kind (without interface and scope).
std::vector<ParamSpec> netem_param_specs();
// Cross checks: "reorder needs a delay", "jitter needs a delay", nothing requested at all, ...
std::vector<std::string> check_netem(const Params& params);

// 0% -> 0, 100% -> 0xffffffff, exact in between (rounded to nearest).
uint32_t percent_to_probability(Percent p);

// Appends TCA_OPTIONS for netem to `msg`; reads the distribution table when one is used.
Result<void> put_netem_options(nl_msg* msg, const NetemOptions& o);

// The kernel's delay distribution table from iproute2's .dist files.
Result<std::vector<int16_t>> read_distribution(const std::string& name);

}  // namespace faultline
