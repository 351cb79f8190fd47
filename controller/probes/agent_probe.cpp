#include "controller/probes/agent_probe.h"

namespace faultline {
namespace {

// The agent's own check has its timeout; this much more covers the round trip.
constexpr Duration kRoundTrip = std::chrono::seconds(2);

Duration check_timeout(const ProbeSpec& s) {
  switch (s.type) {
    case ProbeType::Http:
      return s.http.timeout;
    case ProbeType::Tcp:
      return s.tcp.timeout;
    case ProbeType::Command:
      return s.command.timeout;
    case ProbeType::Process:
      break;
  }
  return std::chrono::seconds(1);
}

class AgentProbe final : public Probe {
 public:
  AgentProbe(const ProbeSpec& spec, std::shared_ptr<AgentClient> agent)
      : spec_(spec), agent_(std::move(agent)) {}

  CheckResult check() override {
    auto r = agent_->run_probe(spec_, check_timeout(spec_) + kRoundTrip);
    if (r) return *r;
    CheckResult failed;
    // The agent refusing the probe (policy) is a broken scenario, not a failing system; an
    // agent that cannot be reached is a failed check: from there, the service is not seen.
    failed.could_not_run = r.error().refused;
    failed.observed = r.error().message;
    return failed;
  }

 private:
  const ProbeSpec spec_;
  std::shared_ptr<AgentClient> agent_;
};

}  // namespace

std::unique_ptr<Probe> make_agent_probe(const ProbeSpec& spec, std::shared_ptr<AgentClient> agent) {
  return std::make_unique<AgentProbe>(spec, std::move(agent));
}

}  // namespace faultline
