#include "injectors/dns/endpoint.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace faultline {

Endpoint Endpoint::of(const sockaddr* address, socklen_t length) {
  Endpoint e;
  e.length = std::min<socklen_t>(length, sizeof e.storage);
  std::memcpy(&e.storage, address, e.length);
  return e;
}

uint16_t Endpoint::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string Endpoint::text() const {
  char buffer[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buffer,
              sizeof buffer);
    return fmt::format("{}:{}", buffer, port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buffer,
              sizeof buffer);
    return fmt::format("[{}]:{}", buffer, port());
  }
  return "(no address)";
}

}  // namespace faultline
