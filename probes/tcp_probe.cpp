// TCP checks: does a connection open within the timeout (or, when expected, not open)?
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "probes/probe.h"
#include "core/defer.h"

namespace faultline {
namespace {

// Connects to the first address of host:port; returns "" on success or why it failed.
std::string connect_once(const std::string& host, int port, Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
  Defer free_found([&] { freeaddrinfo(found); });
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
  Defer close_fd([&] { close(fd); });
  if (connect(fd, found->ai_addr, found->ai_addrlen) == 0) return "";
  if (errno != EINPROGRESS) return std::strerror(errno);
  pollfd p{fd, POLLOUT, 0};
  const auto ms = std::min<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), INT32_MAX);
  const int rc = poll(&p, 1, static_cast<int>(ms));
  if (rc == 0) return fmt::format("no connection within {}", format_duration(timeout));
  int error = 0;
  socklen_t len = sizeof error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  return error == 0 ? "" : std::strerror(error);
}

class TcpProbeImpl final : public Probe {
 public:
  explicit TcpProbeImpl(const ProbeSpec& spec) : spec_(spec) {}
  CheckResult check() override {
    const TimePoint start = Clock::now();
    const std::string problem = connect_once(spec_.tcp.host, spec_.tcp.port, spec_.tcp.timeout);
    const Duration latency = Clock::now() - start;
    const bool connected = problem.empty();
    CheckResult r;
    r.latency = latency;
    r.observed = connected ? fmt::format("connected in {:.1f} ms", to_ms(latency)) : problem;
    r.ok = connected == spec_.expect.connects;
    if (r.ok && connected && spec_.expect.max_latency && latency > *spec_.expect.max_latency) {
      r.ok = false;
      r.observed += fmt::format(" (over {})", format_duration(*spec_.expect.max_latency));
    }
    return r;
  }

 private:
  const ProbeSpec spec_;
};

}  // namespace

std::unique_ptr<Probe> make_tcp_probe(const ProbeSpec& spec) {
  return std::make_unique<TcpProbeImpl>(spec);
}

}  // namespace faultline
