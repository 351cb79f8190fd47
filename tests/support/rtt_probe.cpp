#include "tests/support/rtt_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <regex>
#include <stdexcept>

namespace faultline::test {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// The socket address of `address` (IPv4 or IPv6) and `port`.
socklen_t to_sockaddr(const std::string& address, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (address.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1)
      throw std::runtime_error("not an IPv4 address: " + address);
    return sizeof *a;
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&out);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  if (inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1)
    throw std::runtime_error("not an IPv6 address: " + address);
  return sizeof *a;
}

int bound_udp(int family, uint16_t port) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("udp socket: ") + std::strerror(errno));
  sockaddr_storage at{};
  socklen_t len = to_sockaddr(family == AF_INET ? "0.0.0.0" : "::", port, at);
  if (family == AF_INET6) {
    const int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  const int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  if (bind(fd, reinterpret_cast<sockaddr*>(&at), len) != 0) {
    close(fd);
    throw std::runtime_error(std::string("udp bind: ") + std::strerror(errno));
  }
  return fd;
}

}  // namespace

std::vector<double> ping_rtts(const NamespacePair& net, const std::string& from,
                              const std::string& address, int count, const char* interval) {
  std::string out;
  // -U: the time from send to ping reading the reply (what an application sees), not the
  // kernel's arrival timestamp (SO_TIMESTAMP), which a packet held on ingress by the userspace
  // backend keeps from before it was held.
  net.exec(from,
           "ping -U -n -c " + std::to_string(count) + " -i " + interval + " -W 2 " + address,
           &out);
  std::vector<double> rtts;
  static const std::regex time_re(R"(time=([0-9.]+) ms)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), time_re); it != std::sregex_iterator();
       ++it)
    rtts.push_back(std::stod((*it)[1]));
  return rtts;
}

double tcp_connect_ms(const std::string& address, uint16_t port, int timeout_ms) {
  sockaddr_storage to{};
  const socklen_t len = to_sockaddr(address, port, to);
  const int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const auto start = SteadyClock::now();
  connect(fd, reinterpret_cast<sockaddr*>(&to), len);
  pollfd p{fd, POLLOUT, 0};
  const int ready = poll(&p, 1, timeout_ms);
  const double elapsed = ms_since(start);
  close(fd);
  return ready == 1 ? elapsed : -1;
}

std::vector<double> tcp_connect_rtts(const std::string& address, uint16_t port, int count) {
  std::vector<double> rtts;
  for (int i = 0; i < count; ++i)
    if (const double ms = tcp_connect_ms(address, port); ms >= 0) rtts.push_back(ms);
  return rtts;
}

UdpEcho::UdpEcho(NetnsThread& ns, uint16_t port) {
  fds_ = ns.run([port] { return std::vector<int>{bound_udp(AF_INET, port), bound_udp(AF_INET6, port)}; });
  thread_ = std::thread([this] {
    std::vector<pollfd> polls;
    for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
    char buffer[2048];
    while (!stop_) {
      if (poll(polls.data(), polls.size(), 50) <= 0) continue;
      for (const pollfd& p : polls) {
        if (!(p.revents & POLLIN)) continue;
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const ssize_t n = recvfrom(p.fd, buffer, sizeof buffer, 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) sendto(p.fd, buffer, n, 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  });
}

UdpEcho::~UdpEcho() {
  stop_ = true;
  thread_.join();
  for (int fd : fds_) close(fd);
}

std::vector<double> udp_echo_rtts(const std::string& address, uint16_t port, int count,
                                  int timeout_ms) {
  sockaddr_storage to{};
  const socklen_t len = to_sockaddr(address, port, to);
  const int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::vector<double> rtts;
  for (int i = 0; i < count; ++i) {
    const uint32_t tag = static_cast<uint32_t>(i);
    const auto start = SteadyClock::now();
    sendto(fd, &tag, sizeof tag, 0, reinterpret_cast<sockaddr*>(&to), len);
    // Wait for this datagram's answer; a stale one of an earlier round is skipped.
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) != 1) break;
      uint32_t back = 0;
      if (recv(fd, &back, sizeof back, 0) == sizeof back && back == tag) {
        rtts.push_back(ms_since(start));
        break;
      }
    }
  }
  close(fd);
  return rtts;
}

UdpSink::UdpSink(NetnsThread& ns, uint16_t port, int family) {
  fd_ = ns.run([port, family] { return bound_udp(family, port); });
  thread_ = std::thread([this] {
    char buffer[2048];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n;
      while ((n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
        ++received_;
        if (n < static_cast<ssize_t>(sizeof(uint32_t) + sizeof(int64_t))) continue;
        int64_t sent = 0;
        std::memcpy(&sent, buffer + sizeof(uint32_t), sizeof sent);
        const int64_t now = SteadyClock::now().time_since_epoch().count();
        std::lock_guard lock(mutex_);
        one_way_ms_.push_back(static_cast<double>(now - sent) / 1e6);
      }
    }
  });
}

std::vector<double> UdpSink::one_way_ms() const {
  std::lock_guard lock(mutex_);
  return one_way_ms_;
}

UdpSink::~UdpSink() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void send_udp(const std::string& address, uint16_t port, int count, int gap_us) {
  sockaddr_storage to{};
  const socklen_t len = to_sockaddr(address, port, to);
  const int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const auto start = SteadyClock::now();
  for (int i = 0; i < count; ++i) {
    // Paced against the start, so that a slow send does not shift the rest.
    std::this_thread::sleep_until(start + std::chrono::microseconds(int64_t{gap_us} * i));
    char datagram[sizeof(uint32_t) + sizeof(int64_t)];
    const uint32_t tag = static_cast<uint32_t>(i);
    const int64_t sent = SteadyClock::now().time_since_epoch().count();
    std::memcpy(datagram, &tag, sizeof tag);
    std::memcpy(datagram + sizeof tag, &sent, sizeof sent);
    sendto(fd, datagram, sizeof datagram, 0, reinterpret_cast<sockaddr*>(&to), len);
  }
  close(fd);
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? -1 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return -1;
  const double m = mean(v);
  double sum = 0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size() - 1));
}

}  // namespace faultline::test
