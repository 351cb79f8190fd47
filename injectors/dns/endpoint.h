#pragma once
// An IPv4 or IPv6 address with its port, as the socket calls take it.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace faultline {

struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  static Endpoint of(const sockaddr* address, socklen_t length);
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // "10.0.0.1:53", "[fd00::1]:53".
  std::string text() const;
};

}  // namespace faultline
