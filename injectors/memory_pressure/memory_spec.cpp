#include "injectors/memory_pressure/memory_spec.h"

#include <fmt/format.h>

#include "core/byte_size.h"

namespace faultline {
namespace {

constexpr std::string_view kOfChoices[] = {"memtotal", "memavailable", "target_limit"};
constexpr std::string_view kModeChoices[] = {"add", "fill_to"};
constexpr std::string_view kIntoChoices[] = {"own", "target"};

constexpr ParamSpec kParams[] = {
    {.name = "bytes",
     .type = ParamType::Bytes,
     .optional = true,
     .min = kMiB,
     .max = 4 * 1024 * kGiB,
     .help = "how much memory, e.g. 512MiB (or percent with of)"},
    {.name = "percent",
     .type = ParamType::Percent,
     .optional = true,
     .min = 10,
     .max = 10000,
     .help = "how much memory as a share of `of`, 0.1% to 100%"},
    {.name = "of",
     .type = ParamType::Choice,
     .optional = true,
     .choices = kOfChoices,
     .help = "what percent is a share of: the host's MemTotal or MemAvailable when the fault "
             "starts, or the target cgroup's memory limit"},
    {.name = "mode",
     .type = ParamType::Choice,
     .default_value = "add",
     .choices = kModeChoices,
     .help = "add: hold that much more; fill_to: fill the target's cgroup until its usage "
             "reaches it (with into: target)"},
    {.name = "ramp",
     .type = ParamType::TimeSpan,
     .optional = true,
     .min = 100,
     .max = 3'600'000,
     .help = "reach the level gradually over this time instead of at once"},
    {.name = "workers",
     .type = ParamType::Integer,
     .default_value = "1",
     .min = 1,
     .max = 64,
     .help = "how many worker processes share the memory"},
    {.name = "into",
     .type = ParamType::Choice,
     .default_value = "own",
     .choices = kIntoChoices,
     .help = "own: a cgroup of faultline's own with a limit just above the request; target: "
             "charged to the target's cgroup, so its own limit is what gets tested"},
};

}  // namespace

std::span<const ParamSpec> memory_pressure_params() {
  return kParams;
}

std::vector<std::string> memory_pressure_cross_check(const Params& params,
                                                     std::optional<Duration> duration,
                                                     const ProcessSelector&) {
  std::vector<std::string> problems;
  const bool bytes = params.has("bytes");
  const bool percent = params.has("percent");
  if (bytes && percent)
    problems.push_back("give bytes or percent, not both");
  else if (!bytes && !percent)
    problems.push_back(
        "memory_pressure needs bytes (e.g. bytes: 256MiB) or percent with of (e.g. percent: 20, "
        "of: memavailable)");
  if (percent && !params.has("of"))
    problems.push_back(
        "percent needs of: memtotal, memavailable or target_limit (a share of what)");
  if (!percent && params.has("of")) problems.push_back("of goes with percent, not with bytes");
  const bool into_target = params.text("into") == "target";
  if (params.text("mode") == "fill_to" && !into_target)
    problems.push_back(
        "mode fill_to fills the target's cgroup up to a level, so it needs into: target");
  if (bytes && params.bytes("bytes") / params.integer("workers") < kMiB)
    problems.push_back(fmt::format("{} workers would hold less than 1MiB each; use fewer workers",
                                   params.integer("workers")));
  if (params.has("ramp") && duration && params.duration("ramp") >= *duration)
    problems.push_back(fmt::format("ramp {} must be shorter than the duration {}",
                                   format_duration(params.duration("ramp")),
                                   format_duration(*duration)));
  return problems;
}

}  // namespace faultline
