#include "controller/fleet/agent_probe.h"

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
    // No check was made: the agent refused the probe (its policy), found it invalid, or was not
    // reached. That says nothing about the service, so it is never a failed check: the check
    // could not run, and the run ends as an error.
    CheckResult failed;
    failed.could_not_run = true;
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
