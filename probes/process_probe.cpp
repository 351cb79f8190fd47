// Process checks: how many processes match a selector right now.
#include "probes/probe.h"
#include "injectors/process/selector.h"

namespace faultline {
namespace {

class ProcessProbeImpl final : public Probe {
 public:
  explicit ProcessProbeImpl(const ProbeSpec& spec) : spec_(spec) {}
  CheckResult check() override {
    auto matcher = ProcessMatcher::compile(spec_.process.selector);
    if (!matcher) return {false, matcher.error().message, std::nullopt};
    int64_t count = 0;
    for (const ProcessInfo& p : scan_processes())
      count += p.state != 'Z' && p.state != 'X' && matcher->matches(p) ? 1 : 0;
    CheckResult r;
    r.observed = fmt::format("{} process{}", count, count == 1 ? "" : "es");
    r.ok = (!spec_.expect.min_count || count >= *spec_.expect.min_count) &&
           (!spec_.expect.max_count || count <= *spec_.expect.max_count);
    return r;
  }

 private:
  const ProbeSpec spec_;
};

}  // namespace

std::unique_ptr<Probe> make_process_probe(const ProbeSpec& spec) {
  return std::make_unique<ProcessProbeImpl>(spec);
}

}  // namespace faultline
