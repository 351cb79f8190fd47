// PacketQueue, the userspace network backend's NFQUEUE thread, with real traffic between two
// namespaces that each test makes. The packets reach the queue through an xtables NFQUEUE rule
// (iptables-nft, run inside namespace a): the rules of the real backend (QueueRules) are tested
// on their own. The namespace is deleted at the end, and its rules with it.
#include "injectors/network/userspace/packet_queue.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "injectors/network/userspace/queue_rules.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::NamespacePair;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

void skip_without_iptables_nft() {
  if (access("/usr/sbin/iptables-nft", X_OK) != 0 || access("/usr/sbin/ip6tables-nft", X_OK) != 0) {
    std::printf(
        "SKIP: iptables-nft and ip6tables-nft (Debian: iptables) route the test's "
        "traffic to the queue\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
}

// Polls `done` every 2 ms for up to `deadline`: the deadline only bounds a failing test.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds deadline = 5s) {
  const auto until = SteadyClock::now() + deadline;
  while (!done()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A rule in namespace a that sends the test's packets to queue `number`. The backend's own
// copies carry kUserspaceBypassMark and are not queued again.
void queue_rule(const NamespacePair& net, const std::string& tool, const std::string& match,
                uint16_t number) {
  const std::string rule = fmt::format(
      "{} -t mangle -A {} -m mark ! --mark {:#x} -j NFQUEUE --queue-num {} "
      "--queue-bypass",
      tool, match, kUserspaceBypassMark, number);
  std::string out;
  const int rc = net.exec(net.a(), rule, &out);
  INFO(rule << ": " << out);
  REQUIRE(rc == 0);
}

// Egress: what namespace a sends to b. Ingress: what a receives from b.
// `extra` narrows the match (e.g. "-p udp").
void egress_rule(const NamespacePair& net, uint16_t number, const char* to = "10.200.0.2",
                 const std::string& extra = "") {
  const bool v6 = std::strchr(to, ':') != nullptr;
  queue_rule(net, v6 ? "ip6tables-nft" : "iptables-nft",
             fmt::format("POSTROUTING -o fl-a -d {} {}", to, extra), number);
}
void ingress_rule(const NamespacePair& net, uint16_t number, const char* from = "10.200.0.2") {
  const bool v6 = std::strchr(from, ':') != nullptr;
  queue_rule(net, v6 ? "ip6tables-nft" : "iptables-nft",
             fmt::format("PREROUTING -i fl-a -s {}", from), number);
}

std::unique_ptr<PacketQueue> start_queue(const NamespacePair& net, PacketQueueConfig config) {
  Result<std::unique_ptr<PacketQueue>> started = fail("not started");
  net.run_in(net.a(), [&] { started = PacketQueue::start(std::move(config)); });
  REQUIRE_OK(started);
  return std::move(*started);
}

PacketQueueConfig config_with(const std::function<void(NetemOptions&)>& set) {
  PacketQueueConfig c;
  c.queue_number = next_queue_number();
  c.seed = 1;
  set(c.options);
  return c;
}

// --- UDP between the namespaces: sockets are made in a namespace and stay there ---

struct Endpoint {
  int family = AF_INET;
  sockaddr_storage address{};
  socklen_t length = 0;
};

Endpoint endpoint(const char* ip, uint16_t port) {
  Endpoint e;
  if (std::strchr(ip, ':') == nullptr) {
    auto* a = reinterpret_cast<sockaddr_in*>(&e.address);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    e.length = sizeof *a;
  } else {
    e.family = AF_INET6;
    auto* a = reinterpret_cast<sockaddr_in6*>(&e.address);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    e.length = sizeof *a;
  }
  return e;
}

class UdpSocket {
 public:
  // A socket made in namespace `ns`, bound to `bind_ip`:`port` (port 0: any).
  UdpSocket(const NamespacePair& net, const std::string& ns, const char* bind_ip,
            uint16_t port = 0) {
    const Endpoint local = endpoint(bind_ip, port);
    net.run_in(ns, [&] {
      fd_ = socket(local.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd_ >= 0 &&
          bind(fd_, reinterpret_cast<const sockaddr*>(&local.address), local.length) != 0) {
        close(fd_);
        fd_ = -1;
      }
    });
    REQUIRE(fd_ >= 0);
    const int big = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  }
  ~UdpSocket() {
    if (fd_ >= 0) close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  int fd() const { return fd_; }

  // A datagram of 64 bytes whose first four hold `seq`.
  void send(const Endpoint& to, uint32_t seq) const {
    uint8_t payload[64] = {};
    std::memcpy(payload, &seq, sizeof seq);
    REQUIRE(sendto(fd_, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to.address),
                   to.length) == static_cast<ssize_t>(sizeof payload));
  }

  // The sequence numbers received within `wait_ms` (0: only what is there now).
  std::vector<uint32_t> receive(int wait_ms = 0) const {
    std::vector<uint32_t> seqs;
    pollfd p{fd_, POLLIN, 0};
    while (poll(&p, 1, seqs.empty() ? wait_ms : 0) > 0) {
      uint8_t payload[256];
      const ssize_t n = recv(fd_, payload, sizeof payload, MSG_DONTWAIT);
      if (n < 4) break;
      uint32_t seq = 0;
      std::memcpy(&seq, payload, sizeof seq);
      seqs.push_back(seq);
    }
    return seqs;
  }

 private:
  int fd_ = -1;
};

// Receives into `got` until `count` datagrams are there or the deadline passes.
bool receive_until(const UdpSocket& s, std::vector<uint32_t>& got, size_t count,
                   std::chrono::milliseconds deadline = 5s) {
  const auto until = SteadyClock::now() + deadline;
  while (got.size() < count && SteadyClock::now() < until) {
    const auto more = s.receive(5);
    got.insert(got.end(), more.begin(), more.end());
  }
  return got.size() >= count;
}

// Echoes every datagram back to its sender until destroyed: the far end of a round trip.
class UdpEcho {
 public:
  UdpEcho(const NamespacePair& net, const char* ip, uint16_t port)
      : socket_(net, net.b(), ip, port), thread_([this] { serve(); }) {}
  ~UdpEcho() {
    stop_ = true;
    thread_.join();
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{socket_.fd(), POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      uint8_t payload[256];
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      const ssize_t n = recvfrom(socket_.fd(), payload, sizeof payload, MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &length);
      if (n > 0)
        sendto(socket_.fd(), payload, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
               length);
    }
  }
  UdpSocket socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The mean round trip, in ms, of `count` datagrams echoed back one after another.
double udp_round_trip_ms(const UdpSocket& client, const Endpoint& echo, int count) {
  double total = 0;
  for (int i = 0; i < count; ++i) {
    const auto start = SteadyClock::now();
    client.send(echo, static_cast<uint32_t>(i));
    std::vector<uint32_t> got;
    REQUIRE(receive_until(client, got, 1, 2s));
    total += ms_since(start);
  }
  return total / count;
}

// Average RTT of `count` pings from namespace a, in ms (-1 when ping failed).
double ping_ms(const NamespacePair& net, const char* address, int count) {
  std::string out;
  net.exec(net.a(), fmt::format("ping -q -c {} -i 0.05 -W 2 {}", count, address), &out);
  std::smatch m;
  INFO(out);
  if (std::regex_search(out, m, std::regex(R"(= [0-9.]+/([0-9.]+)/)"))) return std::stod(m[1]);
  return -1;
}

// A counter of namespace b's /proc/net/snmp ("Udp", "InErrors").
uint64_t snmp_counter(const NamespacePair& net, const std::string& group, const std::string& name) {
  std::string out;
  net.exec(net.b(), "cat /proc/net/snmp", &out);
  std::istringstream lines(out);
  std::string header, values;
  while (std::getline(lines, header) && std::getline(lines, values)) {
    if (header.rfind(group + ":", 0) != 0) continue;
    std::istringstream h(header), v(values);
    std::string key, value;
    while (h >> key && v >> value)
      if (key == name) return std::stoull(value);
  }
  return 0;
}

// NFQUEUE's POSTROUTING comes before the neighbour lookup, which follows the packet's own
// destination address on a directly connected route: a flipped bit there would send the packet
// to a neighbour that does not exist (held for ARP, then lost in namespace a). netem corrupts
// after that lookup. Permanent neighbour entries for all 32 one-bit flips of 10.200.0.2 send
// those packets to b as well, where their IP checksum fails like any other.
void lead_flipped_destinations_to_b(const NamespacePair& net) {
  std::string link;
  REQUIRE(net.exec(net.b(), "ip -o link show fl-b", &link) == 0);
  std::smatch m;
  REQUIRE(std::regex_search(link, m, std::regex("link/ether ([0-9a-f:]+)")));
  std::string commands;
  in_addr b{};
  inet_pton(AF_INET, "10.200.0.2", &b);
  for (int bit = 0; bit < 32; ++bit) {
    in_addr flipped{b.s_addr ^ htonl(1u << bit)};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &flipped, text, sizeof text);
    commands += fmt::format("ip neigh add {} lladdr {} dev fl-a nud permanent; ", text, m[1].str());
  }
  std::string out;
  INFO(out);
  REQUIRE(net.exec(net.a(), "sh -c '" + commands + "'", &out) == 0);
}

}  // namespace

TEST_CASE("packet queue: delay 100ms adds 100 +- 2 ms to ping and to a UDP round trip",
          "[packet-queue]") {
  skip_without_iptables_nft();
  for (const char* address : {"10.200.0.2", "fd00:200::2"}) {
    DYNAMIC_SECTION(address) {
      const bool v6 = address[0] == 'f';
      NamespacePair net;
      UdpEcho echo(net, address, 7000);
      UdpSocket client(net, net.a(), v6 ? "fd00:200::1" : "10.200.0.1");
      const Endpoint to = endpoint(address, 7000);
      const double ping_before = ping_ms(net, address, 20);
      const double udp_before = udp_round_trip_ms(client, to, 20);
      REQUIRE(ping_before >= 0);

      const PacketQueueConfig config = config_with([](NetemOptions& o) { o.delay = 100ms; });
      auto queue = start_queue(net, config);
      // Only the pings and the datagrams: IPv6 neighbour discovery stays out of the counts.
      egress_rule(net, config.queue_number, address, "-p udp");
      egress_rule(
          net, config.queue_number, address,
          v6 ? "-p ipv6-icmp --icmpv6-type echo-request" : "-p icmp --icmp-type echo-request");
      const double ping_during = ping_ms(net, address, 20);
      const double udp_during = udp_round_trip_ms(client, to, 20);
      // The counts are published once the verdicts' sendmsg returns, just after the packets left.
      CHECK(eventually([&] { return queue->stats().released == 40; }));
      const PacketQueueStats stats = queue->stats();
      std::printf(
          "packet queue delay 100ms (%s): ping %.3f -> %.3f ms (+%.3f), UDP %.3f -> "
          "%.3f ms (+%.3f); lateness p50 %.1f us, p99 %.1f us, max %.1f us over %llu\n",
          address, ping_before, ping_during, ping_during - ping_before, udp_before, udp_during,
          udp_during - udp_before, stats.lateness.p50_us, stats.lateness.p99_us,
          stats.lateness.max_us, static_cast<unsigned long long>(stats.lateness.samples));
      CHECK(ping_during - ping_before >= 98.0);
      CHECK(ping_during - ping_before <= 102.0);
      CHECK(udp_during - udp_before >= 98.0);
      CHECK(udp_during - udp_before <= 102.0);
      // Every ping request and datagram went through the queue and out after its delay.
      CHECK(stats.received == 40);
      CHECK(stats.egress == 40);
      CHECK(stats.released == 40);
      CHECK(stats.lateness.samples == 40);
      CHECK(stats.held_now == 0);
      REQUIRE_OK(queue->stop());
    }
  }
}

TEST_CASE("packet queue: loss 20% over 10000 UDP datagrams, each loss counted", "[packet-queue]") {
  skip_without_iptables_nft();
  NamespacePair net;
  UdpSocket receiver(net, net.b(), "10.200.0.2", 7001);
  UdpSocket sender(net, net.a(), "10.200.0.1");
  const PacketQueueConfig config =
      config_with([](NetemOptions& o) { o.loss = Percent::whole(20); });
  auto queue = start_queue(net, config);
  egress_rule(net, config.queue_number);
  constexpr uint32_t kSent = 10000;
  const Endpoint to = endpoint("10.200.0.2", 7001);
  std::vector<uint32_t> got;
  // In bursts of 100, each handled before the next: no buffer on the way overflows.
  for (uint32_t seq = 0; seq < kSent; ++seq) {
    sender.send(to, seq);
    if (seq % 100 == 99) {
      REQUIRE(eventually([&] { return queue->stats().received == seq + 1; }));
      const auto more = receiver.receive();
      got.insert(got.end(), more.begin(), more.end());
    }
  }
  REQUIRE(eventually([&] { return queue->stats().held_now == 0; }));
  PacketQueueStats stats = queue->stats();
  receive_until(receiver, got, kSent - stats.dropped);
  const double lost = 100.0 * static_cast<double>(kSent - got.size()) / kSent;
  std::printf("packet queue loss 20%%: %zu of %u received, %.2f%% lost, dropped %llu\n", got.size(),
              kSent, lost, static_cast<unsigned long long>(stats.dropped));
  CHECK(lost >= 18.0);
  CHECK(lost <= 22.0);
  CHECK(stats.dropped == kSent - got.size());
  CHECK(stats.received == kSent);
  CHECK(stats.released == got.size());
  CHECK(stats.queue_full == 0);
  CHECK(stats.netlink_lost == 0);
  REQUIRE_OK(queue->stop());
}

TEST_CASE("packet queue: duplicate 100% delivers every UDP datagram twice, egress and ingress",
          "[packet-queue]") {
  skip_without_iptables_nft();
  constexpr uint32_t kSent = 50;
  auto check_twice = [&](const std::vector<uint32_t>& got) {
    std::map<uint32_t, int> copies;
    for (uint32_t seq : got) ++copies[seq];
    CHECK(copies.size() == kSent);
    for (const auto& [seq, n] : copies) {
      INFO("datagram " << seq);
      CHECK(n == 2);
    }
  };
  for (const char* way : {"egress", "egress IPv6", "ingress", "ingress IPv6", "egress delayed"}) {
    DYNAMIC_SECTION(way) {
      const bool v6 = std::strstr(way, "IPv6") != nullptr;
      // Delayed: the copies wait in the heap beside their originals (netem delays a copy too).
      const bool delayed = std::strstr(way, "delayed") != nullptr;
      const bool ingress = way[0] == 'i';
      const char* a = v6 ? "fd00:200::1" : "10.200.0.1";
      const char* b = v6 ? "fd00:200::2" : "10.200.0.2";
      NamespacePair net;
      // Egress: a sends to b. Ingress: b sends to a, whose PREROUTING queues it.
      UdpSocket receiver(net, ingress ? net.a() : net.b(), ingress ? a : b, 7002);
      UdpSocket sender(net, ingress ? net.b() : net.a(), ingress ? b : a);
      const PacketQueueConfig config = config_with([&](NetemOptions& o) {
        o.duplicate = Percent::whole(100);
        if (delayed) o.delay = 20ms;
      });
      auto queue = start_queue(net, config);
      if (ingress)
        ingress_rule(net, config.queue_number, b);
      else
        egress_rule(net, config.queue_number, b);
      const Endpoint to = endpoint(ingress ? a : b, 7002);
      for (uint32_t seq = 0; seq < kSent; ++seq) sender.send(to, seq);
      std::vector<uint32_t> got;
      receive_until(receiver, got, 2 * kSent);
      // A third copy of any would show up now.
      const auto more = receiver.receive(50);
      got.insert(got.end(), more.begin(), more.end());
      CHECK(got.size() == 2 * kSent);
      check_twice(got);
      CHECK(eventually([&] { return queue->stats().duplicated == kSent; }));
      const PacketQueueStats stats = queue->stats();
      CHECK(stats.received == kSent);
      CHECK((ingress ? stats.ingress : stats.egress) == kSent);
      CHECK(stats.duplicated == kSent);
      CHECK(stats.duplicate_errors == 0);
      REQUIRE_OK(queue->stop());
    }
  }
}

TEST_CASE("packet queue: corrupt 100% makes every UDP datagram fail its checksum, 0% passes all",
          "[packet-queue]") {
  skip_without_iptables_nft();
  constexpr uint32_t kSent = 50;
  for (int percent : {100, 0}) {
    DYNAMIC_SECTION("corrupt " << percent << "%") {
      NamespacePair net;
      UdpSocket receiver(net, net.b(), "10.200.0.2", 7003);
      UdpSocket sender(net, net.a(), "10.200.0.1");
      const PacketQueueConfig config =
          config_with([&](NetemOptions& o) { o.corrupt = Percent::whole(percent); });
      auto queue = start_queue(net, config);
      egress_rule(net, config.queue_number);
      lead_flipped_destinations_to_b(net);
      // A flipped bit in the IP header fails its checksum (InHdrErrors), one in the UDP part
      // the UDP checksum (InErrors): namespace b counts each corrupted datagram once.
      const uint64_t errors_before =
          snmp_counter(net, "Ip", "InHdrErrors") + snmp_counter(net, "Udp", "InErrors");
      const Endpoint to = endpoint("10.200.0.2", 7003);
      for (uint32_t seq = 0; seq < kSent; ++seq) sender.send(to, seq);
      std::vector<uint32_t> got;
      uint64_t errors = 0;
      if (percent == 100) {
        CHECK(eventually([&] {
          errors = snmp_counter(net, "Ip", "InHdrErrors") + snmp_counter(net, "Udp", "InErrors") -
                   errors_before;
          return errors >= kSent;
        }));
        const auto more = receiver.receive(0);
        got.insert(got.end(), more.begin(), more.end());
        CHECK(errors == kSent);
        CHECK(got.empty());
        CHECK(queue->stats().corrupted == kSent);
      } else {
        receive_until(receiver, got, kSent);
        CHECK(got.size() == kSent);
        CHECK(queue->stats().corrupted == 0);
      }
      CHECK(eventually([&] { return queue->stats().released == kSent; }));
      REQUIRE_OK(queue->stop());
    }
  }
}

TEST_CASE("packet queue: stop() lets every held packet go at once", "[packet-queue]") {
  skip_without_iptables_nft();
  NamespacePair net;
  UdpSocket receiver(net, net.b(), "10.200.0.2", 7004);
  UdpSocket sender(net, net.a(), "10.200.0.1");
  const PacketQueueConfig config = config_with([](NetemOptions& o) { o.delay = 5s; });
  auto queue = start_queue(net, config);
  egress_rule(net, config.queue_number);
  const Endpoint to = endpoint("10.200.0.2", 7004);
  for (uint32_t seq = 0; seq < 10; ++seq) sender.send(to, seq);
  REQUIRE(eventually([&] { return queue->stats().held_now == 10; }));
  CHECK(receiver.receive(0).empty());
  const auto stop_at = SteadyClock::now();
  REQUIRE_OK(queue->stop());
  std::vector<uint32_t> got;
  receive_until(receiver, got, 10, 2s);
  const double ms = ms_since(stop_at);
  std::printf("packet queue stop: 10 held datagrams arrived %.2f ms after stop()\n", ms);
  CHECK(got.size() == 10);
  CHECK(ms < 100.0);
  const PacketQueueStats stats = queue->stats();
  CHECK(stats.released == 10);
  CHECK(stats.held_now == 0);
  CHECK(stats.lateness.samples == 0);  // let go early: no lateness
  REQUIRE_OK(queue->stop());           // idempotent
  // Unbound: with --queue-bypass new packets pass.
  sender.send(to, 99);
  got.clear();
  CHECK(receive_until(receiver, got, 1, 2s));
}

TEST_CASE("packet queue: when its process dies, bypassed traffic flows again within 1 s",
          "[packet-queue]") {
  skip_without_iptables_nft();
  NamespacePair net;
  UdpSocket receiver(net, net.b(), "10.200.0.2", 7005);
  UdpSocket sender(net, net.a(), "10.200.0.1");
  const uint16_t number = next_queue_number();
  egress_rule(net, number);
  int ready[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
  const std::string netns_path = "/run/netns/" + net.a();
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a queue that holds everything for 5 s, until it is killed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    Result<std::unique_ptr<PacketQueue>> queue = fail("not in the namespace");
    if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0) {
      PacketQueueConfig c;
      c.queue_number = number;
      c.options.delay = 5s;
      queue = PacketQueue::start(c);
    }
    const char answer = queue ? 'y' : 'n';
    if (write(ready[1], &answer, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};
  char answer = 0;
  pollfd p{ready[0], POLLIN, 0};
  REQUIRE(poll(&p, 1, 5000) == 1);
  REQUIRE(read(ready[0], &answer, 1) == 1);
  close(ready[0]);
  REQUIRE(answer == 'y');

  const Endpoint to = endpoint("10.200.0.2", 7005);
  for (uint32_t seq = 0; seq < 5; ++seq) sender.send(to, seq);
  // The child holds them: the kernel counts them in the queue's total (third column).
  REQUIRE(eventually([&] {
    std::string out;
    net.exec(net.a(), "cat /proc/net/netfilter/nfnetlink_queue", &out);
    std::istringstream lines(out);
    unsigned queue = 0, portid = 0, total = 0;
    while (lines >> queue >> portid >> total) {
      if (queue == number) return total == 5;
      std::string rest;
      std::getline(lines, rest);
    }
    return false;
  }));
  CHECK(receiver.receive(0).empty());

  const auto killed_at = SteadyClock::now();
  REQUIRE(kill(child, SIGKILL) == 0);
  // A datagram every 5 ms until one passes.
  std::vector<uint32_t> got;
  for (uint32_t seq = 100; got.empty() && ms_since(killed_at) < 3000; ++seq) {
    sender.send(to, seq);
    const auto more = receiver.receive(5);
    got.insert(got.end(), more.begin(), more.end());
  }
  const double ms = ms_since(killed_at);
  std::printf("packet queue SIGKILL: traffic flows again %.2f ms after the kill\n", ms);
  REQUIRE_FALSE(got.empty());
  CHECK(ms < 1000.0);
  // What the dead queue held was dropped by the kernel, not let through late.
  for (uint32_t seq : got) CHECK(seq >= 100);
}

TEST_CASE("packet queue: a full queue drops in the kernel, and the drops are counted",
          "[packet-queue]") {
  skip_without_iptables_nft();
  NamespacePair net;
  UdpSocket receiver(net, net.b(), "10.200.0.2", 7006);
  UdpSocket sender(net, net.a(), "10.200.0.1");
  PacketQueueConfig config = config_with([](NetemOptions& o) { o.delay = 1s; });
  config.max_packets = 10;
  auto queue = start_queue(net, config);
  egress_rule(net, config.queue_number);
  constexpr uint32_t kSent = 100;
  const Endpoint to = endpoint("10.200.0.2", 7006);
  for (uint32_t seq = 0; seq < kSent; ++seq) sender.send(to, seq);
  std::vector<uint32_t> got;
  receive_until(receiver, got, 10, 5s);
  REQUIRE(eventually([&] { return queue->stats().released == 10; }));
  const auto more = receiver.receive(20);
  got.insert(got.end(), more.begin(), more.end());
  const PacketQueueStats stats = queue->stats();
  std::printf("packet queue full: %zu received, queue_full %llu\n", got.size(),
              static_cast<unsigned long long>(stats.queue_full));
  CHECK(got.size() == 10);
  CHECK(stats.queue_full == 90);
  CHECK(got.size() + stats.queue_full == kSent);
  CHECK(stats.received == 10);
  CHECK(stats.held_max == 10);
  CHECK(stats.netlink_lost == 0);
  REQUIRE_OK(queue->stop());
  // After stop() the last counters read from the kernel stay.
  CHECK(queue->stats().queue_full == 90);
}

TEST_CASE("packet queue: a queue number that another socket holds is refused", "[packet-queue]") {
  skip_without_iptables_nft();
  NamespacePair net;
  PacketQueueConfig config = config_with([](NetemOptions& o) { o.delay = 10ms; });
  auto first = start_queue(net, config);
  Result<std::unique_ptr<PacketQueue>> second = fail("not started");
  net.run_in(net.a(), [&] { second = PacketQueue::start(config); });
  REQUIRE_FALSE(second);
  CHECK(second.error().refused);
  CHECK(second.error().message ==
        fmt::format("NFQUEUE queue {} is held by another program in this network namespace "
                    "(bind: Operation not permitted); choose another queue number "
                    "(next_queue_number())",
                    config.queue_number));
  config.queue_number = next_queue_number();
  auto third = start_queue(net, config);
  REQUIRE_OK(third->stop());
  REQUIRE_OK(first->stop());
}
