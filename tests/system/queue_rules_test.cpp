// The userspace backend's nftables table (QueueRules), installed inside two namespaces that each
// test makes, and proven with real traffic between them: what `nft list` shows, that the kernel
// removes the table with its owner, numgen loss, port and address scoping, IPv6 and ingress,
// the SSH lifeline and excludes, and the refusals. No program binds the queues here: NFQUEUE's
// bypass lets the queued packets through, and the rules' counters say which ones matched.
#include "injectors/network/userspace/queue_rules.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/defer.h"
#include "injectors/linux/nftables.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::NamespacePair;
using faultline::test::NetnsThread;

namespace {

constexpr uint16_t kQueue = 7;

NetworkScope scope_of(const std::string& destination, const std::string& ports,
                      const std::string& protocol) {
  NetworkScope s;
  if (!destination.empty()) s.destination = *parse_cidr_list(destination);
  if (!ports.empty()) s.ports = *parse_port_list(ports);
  s.protocol = protocol;
  return s;
}

QueueRuleSpec queue_spec(NetworkScope scope, bool egress = true, bool ingress = false) {
  QueueRuleSpec spec;
  spec.table = next_nft_table_name("nfq");
  spec.interface = "fl-a";
  spec.egress = egress;
  spec.ingress = ingress;
  spec.scope = std::move(scope);
  spec.queue_number = kQueue;
  return spec;
}

std::unique_ptr<QueueRules> install_in(NetnsThread& ns, const QueueRuleSpec& spec) {
  // Assigned inside, not returned through run(): g++ 12 warns (free-nonheap-object, falsely)
  // about a Result holding a unique_ptr that crosses a packaged_task.
  Result<std::unique_ptr<QueueRules>> rules = fail("not installed");
  ns.run([&] { rules = QueueRules::install(spec); });
  REQUIRE_OK(rules);
  return std::move(*rules);
}

// Why install() refused `spec` in `ns` ("installed" when it did not refuse).
std::string refusal_in(NetnsThread& ns, const QueueRuleSpec& spec) {
  Result<std::unique_ptr<QueueRules>> rules = fail("not installed");
  ns.run([&] { rules = QueueRules::install(spec); });
  return rules ? "installed" : rules.error().message;
}

sockaddr_storage socket_address(const std::string& address, uint16_t port, socklen_t& length) {
  sockaddr_storage out{};
  if (address.find(':') == std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &a->sin_addr);
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
    length = sizeof *a;
  }
  return out;
}

// A UDP socket in `ns` bound to address:port, with room for every datagram a test sends.
class UdpSocket {
 public:
  UdpSocket(NetnsThread& ns, const std::string& address, uint16_t port) {
    fd_ = ns.run([&] {
      socklen_t length = 0;
      const sockaddr_storage at = socket_address(address, port, length);
      const int fd = socket(at.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int room = 32 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room);
      if (fd >= 0 && bind(fd, reinterpret_cast<const sockaddr*>(&at), length) != 0) {
        close(fd);
        return -1;
      }
      return fd;
    });
    REQUIRE(fd_ >= 0);
  }
  ~UdpSocket() { close(fd_); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Sends `count` datagrams of `payload` bytes; a datagram the egress chain drops fails with
  // EPERM at once (the drop happens in the sender's own stack), and is not counted as sent.
  uint64_t send(const std::string& address, uint16_t port, int count, size_t payload = 32) {
    socklen_t length = 0;
    const sockaddr_storage to = socket_address(address, port, length);
    const std::vector<char> data(payload, 'x');
    uint64_t sent = 0;
    for (int i = 0; i < count; ++i)
      if (sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 length) == static_cast<ssize_t>(data.size()))
        ++sent;
      else if (errno == EPERM)
        ++refused_;
    return sent;
  }
  // Datagrams whose sendto failed with EPERM.
  uint64_t refused() const { return refused_; }

  // Reads what has arrived; returns the total received so far.
  uint64_t drain() {
    char buffer[2048];
    while (recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0) ++received_;
    return received_;
  }

  // Waits until `total` datagrams have arrived in all (a bound, not a measurement: veth
  // delivers at once; 10 s only ends a test that would otherwise hang).
  uint64_t wait_for(uint64_t total) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (drain() < total && std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, 50);
    }
    return received_;
  }

 private:
  int fd_ = -1;
  uint64_t received_ = 0;
  uint64_t refused_ = 0;
};

// `nft list table inet NAME` inside `ns`, by the nft program (not faultline's own libnftables
// calls); empty when the table does not exist.
// nft's warnings ("managed by iptables-nft", libxtables' "unhandled NFPROTO") go to stderr and
// are left out.
std::string nft_list(const NamespacePair& net, const std::string& ns, const std::string& table) {
  std::string out;
  if (net.exec(ns, "sh -c 'nft list table inet " + table + " 2>/dev/null'", &out) != 0) return "";
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    line.erase(0, line.find_first_not_of('\t'));
    // nft names an owned table's owner process where it can find it ("(null)" in the lab).
    if (const size_t owner = line.find(" # progname "); owner != std::string::npos)
      line.erase(owner);
    out.push_back(line);
    start = end + 1;
  }
  return out;
}

}  // namespace

const std::string kSshExclusions[] = {
    "ip hdrlength 5 ip protocol tcp @nh,160,32 & 0xffff == 0x16 accept",
    "ip6 nexthdr tcp @nh,320,32 & 0xffff == 0x16 accept",
    "ip hdrlength 5 ip protocol tcp @nh,160,32 & 0xffff0000 == 0x160000 accept",
    "ip6 nexthdr tcp @nh,320,32 & 0xffff0000 == 0x160000 accept",
};

TEST_CASE("queue rules: the table has the diagram's chains, hooks, priorities and matches",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a());
  const QueueRuleSpec spec =
      queue_spec(scope_of("10.200.0.2/32", "8080", "udp"), /*egress=*/true, /*ingress=*/true);
  auto rules = install_in(a, spec);

  const std::string listed = nft_list(net, net.a(), spec.table);
  INFO(listed);
  std::vector<std::string> expected = {
      "table inet " + spec.table + " {",
      "flags owner",
      "",
      "chain egress {",
      "type filter hook postrouting priority 300; policy accept;",
      "oifname != \"fl-a\" accept",
      "meta mark 0xfa170001 accept",
  };
  expected.insert(expected.end(), std::begin(kSshExclusions), std::end(kSshExclusions));
  expected.insert(
      expected.end(),
      {"ip hdrlength 5 ip protocol udp ip daddr 10.200.0.2 @nh,160,32 & 0xffff == "
       "0x1f90 counter packets 0 bytes 0 queue num 7 bypass",
       "}", "", "chain ingress {", "type filter hook prerouting priority -250; policy accept;",
       "iifname != \"fl-a\" accept", "meta mark 0xfa170001 accept"});
  expected.insert(expected.end(), std::begin(kSshExclusions), std::end(kSshExclusions));
  // Incoming: the remote end is the source, its port the source port.
  expected.insert(expected.end(),
                  {"ip hdrlength 5 ip protocol udp ip saddr 10.200.0.2 @nh,160,32 & 0xffff0000 == "
                   "0x1f900000 counter packets 0 bytes 0 queue num 7 bypass",
                   "}", "}"});
  CHECK(lines_of(listed) == expected);

  // faultline's own listing, for the journal: the same rules in nft's syntax, from the kernel.
  const std::string own = REQUIRE_VALUE(rules->listing());
  INFO(own);
  std::vector<std::string> own_expected = {
      "table inet " + spec.table + " {",
      "flags owner",
  };
  for (const char* direction : {"egress", "ingress"}) {
    const bool egress = std::string(direction) == "egress";
    own_expected.insert(
        own_expected.end(),
        {"", std::string("chain ") + direction + " {",
         egress ? "type filter hook postrouting priority 300; policy accept;"
                : "type filter hook prerouting priority -250; policy accept;",
         egress ? "oifname != \"fl-a\" accept" : "iifname != \"fl-a\" accept",
         "meta mark 0xfa170001 accept",
         "meta nfproto ipv4 @nh,0,32 & 0xf000000 == 0x5000000 @nh,64,32 & 0xff0000 == 0x60000 "
         "@nh,160,32 & 0xffff == 0x16 accept",
         "meta nfproto ipv6 @nh,32,32 & 0xff00 == 0x600 @nh,320,32 & 0xffff == 0x16 accept",
         "meta nfproto ipv4 @nh,0,32 & 0xf000000 == 0x5000000 @nh,64,32 & 0xff0000 == 0x60000 "
         "@nh,160,32 & 0xffff0000 == 0x160000 accept",
         "meta nfproto ipv6 @nh,32,32 & 0xff00 == 0x600 @nh,320,32 & 0xffff0000 == 0x160000 "
         "accept",
         egress ? "meta nfproto ipv4 @nh,0,32 & 0xf000000 == 0x5000000 @nh,64,32 & 0xff0000 == "
                  "0x110000 @nh,128,32 0xac80002 @nh,160,32 & 0xffff == 0x1f90 counter packets 0 "
                  "bytes 0 queue num 7 bypass"
                : "meta nfproto ipv4 @nh,0,32 & 0xf000000 == 0x5000000 @nh,64,32 & 0xff0000 == "
                  "0x110000 @nh,96,32 0xac80002 @nh,160,32 & 0xffff0000 == 0x1f900000 counter "
                  "packets 0 bytes 0 queue num 7 bypass",
         "}"});
  }
  own_expected.push_back("}");
  CHECK(lines_of(own) == own_expected);

  REQUIRE_OK(rules->remove());
  CHECK(nft_list(net, net.a(), spec.table).empty());
  CHECK_OK(rules->remove());  // idempotent
}

TEST_CASE("queue rules: the kernel removes the table when the process that owns it ends",
          "[queue-rules]") {
  NamespacePair net;
  const QueueRuleSpec spec = queue_spec(scope_of("10.200.0.2/32", "", "all"));
  int installed[2], release[2];
  REQUIRE(pipe2(installed, O_CLOEXEC) == 0);
  REQUIRE(pipe2(release, O_CLOEXEC) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // In the child: into namespace a (never install in the host's), install, tell the parent,
    // wait for its word, and end without remove(): _exit runs no destructor.
    close(installed[0]);
    close(release[1]);
    const int ns = open(("/run/netns/" + net.a()).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(3);
    auto rules = QueueRules::install(spec);
    const char status = rules ? 'y' : 'n';
    (void)!write(installed[1], &status, 1);
    char word = 0;
    (void)!read(release[0], &word, 1);
    _exit(0);
  }
  close(installed[1]);
  close(release[0]);
  // Whatever happens below, the child is told to end and is reaped.
  int release_fd = release[1];
  Defer reap([&] {
    if (release_fd >= 0) close(release_fd);
    close(installed[0]);
    int status = 0;
    waitpid(child, &status, 0);
  });
  char status = 0;
  REQUIRE(read(installed[0], &status, 1) == 1);
  REQUIRE(status == 'y');
  CHECK_FALSE(nft_list(net, net.a(), spec.table).empty());
  close(release_fd);  // the child goes on to _exit(0)
  release_fd = -1;
  int exit_status = -1;
  REQUIRE(waitpid(child, &exit_status, 0) == child);
  reap.dismiss();
  close(installed[0]);
  CHECK(WIFEXITED(exit_status));
  CHECK(WEXITSTATUS(exit_status) == 0);
  CHECK(nft_list(net, net.a(), spec.table).empty());
  std::string tables;
  net.exec(net.a(), "nft list tables", &tables);
  CHECK(tables.find(spec.table) == std::string::npos);
}

TEST_CASE("queue rules: numgen drops 20 +- 2% of 10000 datagrams in the kernel, counted exactly",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a()), b(net.b());
  QueueRuleSpec spec = queue_spec(scope_of("10.200.0.2/32", "", "udp"));
  spec.queue_number.reset();
  spec.drop_share = Percent{2000};
  auto rules = install_in(a, spec);
  const std::string listed = nft_list(net, net.a(), spec.table);
  INFO(listed);
  CHECK(listed.find("\t\tip protocol udp ip daddr 10.200.0.2 counter packets 0 bytes 0 numgen "
                    "random mod 10000 < 2000 counter packets 0 bytes 0 drop\n") !=
        std::string::npos);

  UdpSocket receiver(b, "10.200.0.2", 7000);
  UdpSocket sender(a, "10.200.0.1", 0);
  constexpr int kTotal = 10000, kChunk = 500;
  uint64_t delivered = 0;
  for (int sent = 0; sent < kTotal; sent += kChunk) {
    // A chunk at a time, each waited for, so that no queue on the way (the veth's backlog, the
    // socket) can lose what numgen let through.
    delivered += sender.send("10.200.0.2", 7000, kChunk);
    REQUIRE(receiver.wait_for(delivered) == delivered);
  }
  const QueueRuleCounters c = REQUIRE_VALUE(rules->counters());
  const uint64_t lost = kTotal - receiver.drain();
  INFO("lost " << lost << " of " << kTotal);
  CHECK(c.egress_packets == kTotal);
  CHECK(c.egress_bytes == uint64_t{kTotal} * (20 + 8 + 32));
  CHECK(c.dropped_packets == lost);
  // A drop in the sender's own output path is no silent loss: each dropped datagram's sendto
  // failed (EPERM), unlike netem's, which the sender never notices.
  CHECK(delivered == kTotal - c.dropped_packets);
  CHECK(sender.refused() == c.dropped_packets);
  CHECK(c.ingress_packets == 0);
  CHECK(lost >= 1800);
  CHECK(lost <= 2200);

  // remove() keeps what the counters were.
  REQUIRE_OK(rules->remove());
  const QueueRuleCounters after = REQUIRE_VALUE(rules->counters());
  CHECK(after.egress_packets == kTotal);
  CHECK(after.dropped_packets == lost);
}

TEST_CASE("queue rules: only port 8080 is queued, and with no program on the queue it passes",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a()), b(net.b());
  auto rules = install_in(a, queue_spec(scope_of("10.200.0.2/32", "8080", "udp")));
  UdpSocket on_8080(b, "10.200.0.2", 8080), on_9090(b, "10.200.0.2", 9090);
  UdpSocket sender(a, "10.200.0.1", 0);
  // Nothing is bound to queue 7: `bypass` lets every queued packet through.
  REQUIRE(sender.send("10.200.0.2", 8080, 100, 50) == 100);
  REQUIRE(sender.send("10.200.0.2", 9090, 40, 50) == 40);
  CHECK(on_8080.wait_for(100) == 100);
  CHECK(on_9090.wait_for(40) == 40);
  const QueueRuleCounters c = REQUIRE_VALUE(rules->counters());
  CHECK(c.egress_packets == 100);
  CHECK(c.egress_bytes == 100 * (20 + 8 + 50));
  CHECK(c.dropped_packets == 0);
}

TEST_CASE("queue rules: IPv6 egress and ingress (the mirrored scope) are counted apart",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a()), b(net.b());
  auto rules = install_in(a, queue_spec(scope_of("fd00:200::2/128", "", "udp"), true, true));
  UdpSocket in_a(a, "fd00:200::1", 7001), in_b(b, "fd00:200::2", 7000);
  UdpSocket in_b4(b, "10.200.0.2", 7000), from_a4(a, "10.200.0.1", 0);
  REQUIRE(in_a.send("fd00:200::2", 7000, 30, 100) == 30);    // a -> b: egress
  REQUIRE(in_b.send("fd00:200::1", 7001, 20, 100) == 20);    // b -> a: ingress
  REQUIRE(from_a4.send("10.200.0.2", 7000, 10, 100) == 10);  // IPv4: not in the scope
  CHECK(in_b.wait_for(30) == 30);
  CHECK(in_a.wait_for(20) == 20);
  CHECK(in_b4.wait_for(10) == 10);
  const QueueRuleCounters c = REQUIRE_VALUE(rules->counters());
  CHECK(c.egress_packets == 30);
  CHECK(c.egress_bytes == 30 * (40 + 8 + 100));
  CHECK(c.ingress_packets == 20);
  CHECK(c.ingress_bytes == 20 * (40 + 8 + 100));
}

TEST_CASE("queue rules: SSH (port 22) and the scope's excludes are never matched",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a()), b(net.b());
  REQUIRE(net.exec(net.b(), "ip addr add 10.200.0.3/24 dev fl-b") == 0);
  NetworkScope scope = scope_of("10.200.0.0/24", "", "all");
  scope.exclude_destination = *parse_cidr_list("10.200.0.3/32");
  scope.exclude_ports = *parse_port_list("5000");
  auto rules = install_in(a, queue_spec(scope, true, true));

  test::Listener ssh(b, {22});
  CHECK(a.run([] { return test::tcp_connect("10.200.0.2", 22, 2000); }) ==
        test::ConnectOutcome::Connected);
  UdpSocket on_5000(b, "10.200.0.2", 5000), on_3(b, "10.200.0.3", 6000);
  UdpSocket on_6000(b, "10.200.0.2", 6000), sender(a, "10.200.0.1", 0);
  REQUIRE(sender.send("10.200.0.2", 5000, 10) == 10);  // exclude_ports
  REQUIRE(sender.send("10.200.0.3", 6000, 10) == 10);  // exclude_destination
  CHECK(on_5000.wait_for(10) == 10);
  CHECK(on_3.wait_for(10) == 10);
  QueueRuleCounters c = REQUIRE_VALUE(rules->counters());
  CHECK(c.egress_packets == 0);
  CHECK(c.ingress_packets == 0);

  // The chains do count what is in the scope and not excluded.
  REQUIRE(sender.send("10.200.0.2", 6000, 3) == 3);
  CHECK(on_6000.wait_for(3) == 3);
  c = REQUIRE_VALUE(rules->counters());
  CHECK(c.egress_packets == 3);
  CHECK(c.ingress_packets == 0);
}

TEST_CASE("queue rules: a missing interface or an existing table is refused, nothing changed",
          "[queue-rules]") {
  NamespacePair net;
  NetnsThread a(net.a());
  QueueRuleSpec missing = queue_spec(scope_of("", "", "all"));
  missing.interface = "fl-nope";
  CHECK(refusal_in(a, missing) ==
        "interface 'fl-nope' does not exist in this network namespace; no nftables rules were "
        "installed");
  CHECK(nft_list(net, net.a(), missing.table).empty());

  // A table of ours, owned by another socket: the kernel's EPERM.
  const QueueRuleSpec spec = queue_spec(scope_of("10.200.0.2/32", "8080", "udp"));
  auto first = install_in(a, spec);
  const std::string before = nft_list(net, net.a(), spec.table);
  QueueRuleSpec again = queue_spec(scope_of("", "", "all"), true, true);
  again.table = spec.table;
  const std::string exists =
      "an nftables table inet " + spec.table +
      " exists already in this network namespace; refused, nothing was changed";
  CHECK(refusal_in(a, again) == exists);
  CHECK(nft_list(net, net.a(), spec.table) == before);

  // A table someone made with nft (not owned): the kernel's EEXIST.
  const std::string theirs = next_nft_table_name("theirs");
  REQUIRE(net.exec(net.a(), "nft add table inet " + theirs) == 0);
  again.table = theirs;
  CHECK(refusal_in(a, again) ==
        "an nftables table inet " + theirs +
            " exists already in this network namespace; refused, nothing was changed");
  CHECK(lines_of(nft_list(net, net.a(), theirs)) ==
        std::vector<std::string>{"table inet " + theirs + " {", "}"});
}

TEST_CASE("queue rules: this kernel can queue packets to userspace", "[queue-rules]") {
  test::skip_unless_netns_available();
  // In a namespace of its own: the host's tables are not touched.
  CHECK_OK(userspace_queue_available());
  CHECK_OK(userspace_queue_available());  // cached
}
