#include "injectors/network/userspace/raw_resend.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace faultline {
namespace {

Result<int> raw_socket(int family, uint32_t mark) {
  const int fd = ::socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
  if (fd < 0)
    return fail("cannot open a raw {} socket for duplicates: {} (needs CAP_NET_RAW)",
                family == AF_INET ? "IPv4" : "IPv6", std::strerror(errno));
  if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    const int error = errno;
    ::close(fd);
    return fail("cannot mark the duplicates' raw socket (SO_MARK {:#x}): {} (needs CAP_NET_ADMIN)",
                mark, std::strerror(error));
  }
  return fd;
}

}  // namespace

Result<RawResender> RawResender::open(uint32_t mark) {
  const int fd4 = FL_TRY(raw_socket(AF_INET, mark));
  auto fd6 = raw_socket(AF_INET6, mark);
  if (!fd6) {
    ::close(fd4);
    return std::unexpected(fd6.error());
  }
  return RawResender(fd4, *fd6);
}

RawResender::RawResender(RawResender&& other) noexcept
    : fd4_(std::exchange(other.fd4_, -1)), fd6_(std::exchange(other.fd6_, -1)) {}

RawResender& RawResender::operator=(RawResender&& other) noexcept {
  if (this != &other) {
    if (fd4_ >= 0) ::close(fd4_);
    if (fd6_ >= 0) ::close(fd6_);
    fd4_ = std::exchange(other.fd4_, -1);
    fd6_ = std::exchange(other.fd6_, -1);
  }
  return *this;
}

RawResender::~RawResender() {
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
}

int RawResender::send(std::span<const uint8_t> packet, uint32_t ifindex) const {
  if (packet.empty()) return EINVAL;
  const int version = packet[0] >> 4;
  ssize_t sent = -1;
  if (version == 4 && packet.size() >= 20) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, packet.data() + 16, 4);
    sent = ::sendto(fd4_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  } else if (version == 6 && packet.size() >= 40) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, packet.data() + 24, 16);
    if (IN6_IS_ADDR_LINKLOCAL(&to.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&to.sin6_addr))
      to.sin6_scope_id = ifindex;
    sent = ::sendto(fd6_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  } else {
    return EAFNOSUPPORT;
  }
  return sent == static_cast<ssize_t>(packet.size()) ? 0 : (sent < 0 ? errno : EMSGSIZE);
}

}  // namespace faultline
