#include "injectors/dns/responder.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "injectors/dns/dns_message.h"
#include "injectors/dns/original_destination.h"

namespace faultline {
namespace {

// As long as a stub resolver waits by default (resolv.conf's timeout:5).
constexpr auto kUpstreamTimeout = std::chrono::seconds(5);
// A TCP client that sends nothing for this long is let go.
constexpr auto kIdleConnection = std::chrono::seconds(10);
// Queries in flight at once (each on a thread); beyond, a query is dropped and counted.
constexpr size_t kMaxInFlight = 128;
constexpr uint32_t kSpoofTtl = 0;  // a spoofed answer must not outlive the fault in a cache
constexpr size_t kMaxMessage = 65535;

enum class Wait { Ready, Stopped, TimedOut };

// Waits until `fd` is readable (fd -1: only the timeout), the responder stops, or `timeout`.
Wait wait_readable(int fd, int stop_fd, Duration timeout) {
  const TimePoint until = Clock::now() + timeout;
  while (true) {
    // Rounded up: poll() takes whole milliseconds, and rounding down ended a delay up to 1 ms
    // before it was due (a 600ms delay answered after 599.86 ms).
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return Wait::TimedOut;
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {fd, POLLIN, 0}};
    const int n = ::poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) return Wait::Stopped;
    if (fds[0].revents != 0) return Wait::Stopped;
    if (fd >= 0 && fds[1].revents != 0) return Wait::Ready;
  }
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A socket whose packets skip the redirect (the table accepts kResponderMark first).
int marked_socket(int family, int type) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const uint32_t mark = kResponderMark;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

Result<int> listening_socket(int family, bool udp) {
  const int fd =
      ::socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail("socket: {}", std::strerror(errno));
  Fd owned(fd);
  const int one = 1;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    return fail("IPV6_V6ONLY: {}", std::strerror(errno));
  // Which address a datagram was sent to (after the redirect): the reply must come from it, or
  // conntrack would not map it back to the resolver the client asked.
  if (udp && family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0)
    return fail("IP_PKTINFO: {}", std::strerror(errno));
  if (udp && family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0)
    return fail("IPV6_RECVPKTINFO: {}", std::strerror(errno));
  sockaddr_storage any{};
  any.ss_family = static_cast<sa_family_t>(family);
  const socklen_t length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&any), length) != 0)
    return fail("bind: {}", std::strerror(errno));
  if (!udp && ::listen(fd, 128) != 0) return fail("listen: {}", std::strerror(errno));
  owned.fd = -1;
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage a{};
  socklen_t length = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) return 0;
  return Endpoint::of(reinterpret_cast<sockaddr*>(&a), length).port();
}

bool write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes, each wait bounded by `timeout`; false on EOF, stop or timeout.
bool read_exactly(int fd, int stop_fd, uint8_t* data, size_t size, Duration timeout) {
  while (size > 0) {
    if (wait_readable(fd, stop_fd, timeout) != Wait::Ready) return false;
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// One DNS message over TCP: a two-byte length, then the message (RFC 1035 4.2.2).
std::optional<std::vector<uint8_t>> read_tcp_message(int fd, int stop_fd, Duration timeout) {
  uint8_t length[2];
  if (!read_exactly(fd, stop_fd, length, 2, timeout)) return std::nullopt;
  std::vector<uint8_t> message((length[0] << 8) | length[1]);
  if (!read_exactly(fd, stop_fd, message.data(), message.size(), timeout)) return std::nullopt;
  return message;
}

bool write_tcp_message(int fd, std::span<const uint8_t> message) {
  if (message.size() > kMaxMessage) return false;
  std::vector<uint8_t> framed = {static_cast<uint8_t>(message.size() >> 8),
                                 static_cast<uint8_t>(message.size() & 0xff)};
  framed.insert(framed.end(), message.begin(), message.end());
  return write_all(fd, framed.data(), framed.size());
}

// A UDP datagram as received: its bytes, who sent it, and the address it was sent to.
struct Datagram {
  std::vector<uint8_t> data;
  Endpoint peer;
  Endpoint local;
};

std::optional<Datagram> receive(int fd, int family, uint16_t port) {
  Datagram d;
  d.data.resize(kMaxMessage);
  sockaddr_storage peer{};
  alignas(cmsghdr) char control[256];
  iovec io{d.data.data(), d.data.size()};
  msghdr m{};
  m.msg_name = &peer;
  m.msg_namelen = sizeof peer;
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &m, 0);
  if (n < 0) return std::nullopt;
  d.data.resize(static_cast<size_t>(n));
  d.peer = Endpoint::of(reinterpret_cast<sockaddr*>(&peer), m.msg_namelen);
  sockaddr_storage local{};
  local.ss_family = static_cast<sa_family_t>(family);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      reinterpret_cast<sockaddr_in*>(&local)->sin_addr = info.ipi_addr;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr = info.ipi6_addr;
    }
  }
  if (family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&local)->sin_port = htons(port);
    d.local = Endpoint::of(reinterpret_cast<sockaddr*>(&local), sizeof(sockaddr_in));
  } else {
    reinterpret_cast<sockaddr_in6*>(&local)->sin6_port = htons(port);
    d.local = Endpoint::of(reinterpret_cast<sockaddr*>(&local), sizeof(sockaddr_in6));
  }
  return d;
}

// Sends `reply` to the datagram's sender from the address the datagram was sent to.
bool reply_from(int fd, const Datagram& to, std::span<const uint8_t> reply) {
  iovec io{const_cast<uint8_t*>(reply.data()), reply.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(to.peer.address());
  m.msg_namelen = to.peer.length;
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  if (to.local.family() == AF_INET) {
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&to.local.storage)->sin_addr;
    m.msg_controllen = CMSG_SPACE(sizeof info);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  } else {
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&to.local.storage)->sin6_addr;
    m.msg_controllen = CMSG_SPACE(sizeof info);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  }
  return ::sendmsg(fd, &m, MSG_NOSIGNAL) == static_cast<ssize_t>(reply.size());
}

bool same_id(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() >= 2 && b.size() >= 2 && a[0] == b[0] && a[1] == b[1];
}

}  // namespace

DnsResponder::DnsResponder(DnsSpec spec, uint64_t seed) : spec_(std::move(spec)), rng_(seed) {}

DnsResponder::~DnsResponder() {
  stop();
}

Result<ResponderPorts> DnsResponder::start(const NetnsHandle& netns) {
  if (stop_fd_ >= 0) return fail("the DNS responder is already started");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return fail("eventfd: {}", std::strerror(errno));
  ResponderPorts ports;
  auto opened = netns.run([&]() -> Result<void> {
    for (const int family : {AF_INET, AF_INET6}) {
      for (const bool udp : {true, false}) {
        auto fd = listening_socket(family, udp);
        if (!fd) {
          // A namespace without IPv6 (disabled by sysctl) has no IPv6 queries to catch.
          if (family == AF_INET6) continue;
          return fail("the DNS responder cannot listen on {} {}: {}", udp ? "UDP" : "TCP", "IPv4",
                      fd.error().message);
        }
        listeners_.push_back({*fd, family, udp});
        const uint16_t port = bound_port(*fd);
        (family == AF_INET ? (udp ? ports.udp4 : ports.tcp4) : (udp ? ports.udp6 : ports.tcp6)) =
            port;
      }
    }
    return {};
  });
  if (!opened) {
    stop();
    return std::unexpected(opened.error());
  }
  // The serving thread enters the namespace too: the upstream sockets and conntrack lookups it
  // (and the workers it starts, which inherit its namespace) make must be there.
  serving_ = std::thread([this, netns] {
    (void)netns.run([this]() -> Result<void> {
      serve();
      return {};
    });
  });
  return ports;
}

void DnsResponder::stop() {
  if (stop_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (serving_.joinable()) serving_.join();
  for (const Listener& l : listeners_) ::close(l.fd);
  listeners_.clear();
  ::close(stop_fd_);
  stop_fd_ = -1;
}

ResponderCounts DnsResponder::counts() const {
  return {queries_.load(), faulted_.load(), forwarded_.load(), failed_.load(), overloaded_.load()};
}

void DnsResponder::serve() {
  std::vector<pollfd> fds = {{stop_fd_, POLLIN, 0}};
  for (const Listener& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
  while (true) {
    reap(false);
    for (pollfd& p : fds) p.revents = 0;
    if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const Listener& l = listeners_[i - 1];
      if (l.udp) {
        receive_datagrams(l);
        continue;
      }
      while (true) {
        const int client = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) break;
        const int family = l.family;
        spawn([this, client, family] {
          serve_connection(client, family);
          ::close(client);
        });
      }
    }
  }
  reap(true);
}

void DnsResponder::receive_datagrams(const Listener& l) {
  const uint16_t port = bound_port(l.fd);
  while (auto datagram = receive(l.fd, l.family, port)) {
    ++queries_;
    const int fd = l.fd;
    spawn([this, fd, d = std::move(*datagram)] {
      if (draw_fault(d.data)) {
        ++faulted_;
        if (spec_.action != DnsAction::Delay) {
          if (auto reply = fault_reply(d.data)) (void)reply_from(fd, d, *reply);
          return;
        }
        if (!wait_delay()) return;
      }
      auto resolver = udp_original_destination(d.local, d.peer);
      // Sent to the responder's own port: not redirected, so there is no resolver to ask (and
      // asking "it" would loop).
      if (!resolver || resolver->port() != 53) {
        ++failed_;
        return;
      }
      auto reply = forward_udp(d.data, *resolver);
      if (!reply) {
        ++failed_;
        return;
      }
      // Counted before the client can see the answer, so that what it saw is counted.
      ++forwarded_;
      if (!reply_from(fd, d, *reply)) {
        --forwarded_;
        ++failed_;
      }
    });
  }
}

void DnsResponder::serve_connection(int fd, int family) {
  auto resolver = tcp_original_destination(fd, family);
  const timeval send_timeout{5, 0};  // a client that stops reading must not hold a thread
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  while (auto query = read_tcp_message(fd, stop_fd_, kIdleConnection)) {
    ++queries_;
    if (draw_fault(*query)) {
      ++faulted_;
      if (spec_.action != DnsAction::Delay) {
        if (auto reply = fault_reply(*query); reply && !write_tcp_message(fd, *reply)) return;
        continue;  // drop: the client waits for an answer that never comes
      }
      if (!wait_delay()) return;
    }
    if (!resolver || resolver->port() != 53) {
      ++failed_;
      return;
    }
    auto reply = forward_tcp(*query, *resolver);
    if (!reply) {
      ++failed_;
      return;  // as the resolver did: the connection ends without an answer
    }
    ++forwarded_;
    if (!write_tcp_message(fd, *reply)) {
      --forwarded_;
      ++failed_;
      return;
    }
  }
}

void DnsResponder::spawn(std::function<void()> job) {
  reap(false);
  if (workers_.size() >= kMaxInFlight) {
    ++overloaded_;
    return;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([job = std::move(job), done] {
                        job();
                        done->store(true);
                      }),
                      done});
}

void DnsResponder::reap(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

bool DnsResponder::draw_fault(std::span<const uint8_t> query) {
  auto question = read_question(query);
  // What is not a query faultline can read is not its to judge: it goes to the resolver.
  if (!question || !name_matches(spec_.names, question->name) ||
      !type_matches(spec_.types, question->type))
    return false;
  if (spec_.probability >= Percent::whole(100)) return true;
  std::lock_guard lock(rng_mutex_);
  // Exact: one draw in 10000 basis points (the modulo's bias is below 1e-15).
  return static_cast<int64_t>(rng_() % 10000) < spec_.probability.basis_points;
}

std::optional<std::vector<uint8_t>> DnsResponder::fault_reply(std::span<const uint8_t> query) {
  Result<DnsWire> reply = fail("no reply");
  switch (spec_.action) {
    case DnsAction::Nxdomain:
      reply = error_reply(query, DnsRcode::NxDomain);
      break;
    case DnsAction::Servfail:
      reply = error_reply(query, DnsRcode::ServFail);
      break;
    case DnsAction::Refused:
      reply = error_reply(query, DnsRcode::Refused);
      break;
    case DnsAction::Spoof:
      reply = address_reply(query, *spec_.address, kSpoofTtl);
      break;
    case DnsAction::Drop:
    case DnsAction::Delay:
      return std::nullopt;
  }
  if (!reply) return std::nullopt;
  return std::move(*reply);
}

bool DnsResponder::wait_delay() {
  return wait_readable(-1, stop_fd_, *spec_.delay) == Wait::TimedOut;
}

std::optional<std::vector<uint8_t>> DnsResponder::forward_udp(std::span<const uint8_t> query,
                                                              const Endpoint& resolver) {
  const Fd sock(marked_socket(resolver.family(), SOCK_DGRAM));
  if (sock.fd < 0 || ::connect(sock.fd, resolver.address(), resolver.length) != 0) return {};
  if (::send(sock.fd, query.data(), query.size(), 0) != static_cast<ssize_t>(query.size()))
    return {};
  const TimePoint until = Clock::now() + kUpstreamTimeout;
  std::vector<uint8_t> reply(kMaxMessage);
  while (Clock::now() < until) {
    if (wait_readable(sock.fd, stop_fd_, until - Clock::now()) != Wait::Ready) return {};
    const ssize_t n = ::recv(sock.fd, reply.data(), reply.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return {};  // e.g. ECONNREFUSED: nothing listens there
    reply.resize(static_cast<size_t>(n));
    if (same_id(reply, query)) return reply;
    reply.resize(kMaxMessage);
  }
  return {};
}

std::optional<std::vector<uint8_t>> DnsResponder::forward_tcp(std::span<const uint8_t> query,
                                                              const Endpoint& resolver) {
  const Fd sock(marked_socket(resolver.family(), SOCK_STREAM));
  if (sock.fd < 0) return {};
  // A bounded connect: non-blocking, then wait for it to be writable.
  const int flags = fcntl(sock.fd, F_GETFL);
  fcntl(sock.fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(sock.fd, resolver.address(), resolver.length) != 0) {
    if (errno != EINPROGRESS) return {};
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {sock.fd, POLLOUT, 0}};
    if (::poll(fds, 2, static_cast<int>(std::chrono::milliseconds(kUpstreamTimeout).count())) <=
            0 ||
        fds[0].revents != 0)
      return {};
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) return {};
  }
  fcntl(sock.fd, F_SETFL, flags);
  const timeval send_timeout{5, 0};
  setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  if (!write_tcp_message(sock.fd, query)) return {};
  auto reply = read_tcp_message(sock.fd, stop_fd_, kUpstreamTimeout);
  if (!reply || !same_id(*reply, query)) return {};
  return reply;
}

}  // namespace faultline
