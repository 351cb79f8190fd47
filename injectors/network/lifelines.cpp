#include "injectors/network/lifelines.h"

#include <algorithm>
#include <mutex>

namespace faultline {
namespace {
std::mutex mutex;
std::vector<uint16_t>& registered() {
  static std::vector<uint16_t> ports;
  return ports;
}
}  // namespace

std::vector<uint16_t> lifeline_ports() {
  std::lock_guard lock(mutex);
  std::vector<uint16_t> out{kSshPort};
  for (uint16_t p : registered())
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

LifelinePort::LifelinePort(uint16_t port) : port_(port) {
  std::lock_guard lock(mutex);
  registered().push_back(port);
}

LifelinePort::~LifelinePort() {
  std::lock_guard lock(mutex);
  auto& ports = registered();
  if (auto it = std::find(ports.begin(), ports.end(), port_); it != ports.end()) ports.erase(it);
}

}  // namespace faultline
