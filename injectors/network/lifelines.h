#pragma once
// TCP ports that no network fault ever slows, drops or cuts, both ways: SSH, so the operator
// keeps their session, and the agent's own control port, so a fault can never cut an agent off
// from the controller that renews its leases (which would end the fault early, by lease).
#include <cstdint>
#include <vector>

namespace faultline {

inline constexpr uint16_t kSshPort = 22;

// SSH, then every port registered, in that order, without duplicates.
std::vector<uint16_t> lifeline_ports();

// Keeps `port` a lifeline for as long as it lives: faultline-agent holds one for the port it
// serves on.
class LifelinePort {
 public:
  explicit LifelinePort(uint16_t port);
  ~LifelinePort();
  LifelinePort(const LifelinePort&) = delete;
  LifelinePort& operator=(const LifelinePort&) = delete;

 private:
  uint16_t port_;
};

}  // namespace faultline
