// netem over netlink, measured with real traffic between two namespaces. This machine's kernel
// has no netem, so these tests skip here and run inside the kernel lab (tests/kernel-lab), which
// boots a kernel that has it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <regex>

#include "injectors/injector.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::NamespacePair;

namespace {

void skip_without_netem() {
  const Support s = find_injector("network")->supported();
  if (!s.ok) {
    std::printf("SKIPPED: %s (these tests run in the kernel lab: tests/kernel-lab)\n",
                s.reason.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
}

FaultRequest netem_request(std::vector<std::pair<std::string, std::string>> params) {
  FaultRequest r;
  r.id = "netem";
  r.kind = "network";
  params.insert(params.begin(), {"interface", "fl-a"});
  for (const auto& [key, value] : params)
    for (const ParamSpec& s : find_injector("network")->params)
      if (s.name == key) r.params.set(key, *parse_param_value(s, value));
  for (const ParamSpec& s : find_injector("network")->params)
    if (!r.params.has(s.name) && !s.default_value.empty())
      r.params.set(std::string(s.name), *parse_param_value(s, s.default_value));
  r.duration = std::chrono::seconds(60);
  return r;
}

// Average RTT (ms) and loss (%) of `count` pings from namespace a.
std::pair<double, double> ping(const NamespacePair& net, const std::string& address, int count,
                               const char* interval = "0.05") {
  std::string out;
  net.exec(net.a(), fmt::format("ping -q -c {} -i {} -W 2 {}", count, interval, address), &out);
  std::smatch m;
  double avg = -1, loss = -1;
  if (std::regex_search(out, m, std::regex(R"(= [0-9.]+/([0-9.]+)/)"))) avg = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(([0-9.]+)% packet loss)"))) loss = std::stod(m[1]);
  INFO(out);
  return {avg, loss};
}

// Milliseconds until a TCP connect to address:port is answered (refused, nobody listens).
double connect_ms(int family, const char* address, uint16_t port) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_storage to{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, address, &a->sin_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, address, &a->sin6_addr);
    len = sizeof *a;
  }
  const auto start = std::chrono::steady_clock::now();
  connect(fd, reinterpret_cast<sockaddr*>(&to), len);
  pollfd p{fd, POLLOUT, 0};
  poll(&p, 1, 3000);
  close(fd);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

TEST_CASE("netem delay 100ms adds 100 +- 5 ms of RTT, IPv4 and IPv6", "[netem]") {
  skip_without_netem();
  NamespacePair net;
  for (const char* address : {"10.200.0.2", "fd00:200::2"}) {
    DYNAMIC_SECTION(address) {
      const double before = ping(net, address, 20).first;
      REQUIRE(before >= 0);
      net.run_in(net.a(), [&] {
        auto fault = create_fault(netem_request(
            {{"delay", "100ms"},
             {"destination", std::string(address) + (address[0] == 'f' ? "/128" : "/32")}}));
        REQUIRE_OK(fault);
        REQUIRE_OK((*fault)->apply(Clock::now()));
        CHECK((*fault)->confirmed());
        const double during = ping(net, address, 20).first;
        INFO("RTT before " << before << " ms, during " << during << " ms");
        CHECK(during - before >= 95.0);
        CHECK(during - before <= 105.0);
        REQUIRE_OK((*fault)->revert());
      });
      const double after = ping(net, address, 10).first;
      CHECK(after < before + 5.0);
    }
  }
}

TEST_CASE("netem loss 20% drops 20 +- 5% of 1000 packets", "[netem]") {
  skip_without_netem();
  NamespacePair net;
  net.run_in(net.a(), [&] {
    auto fault = create_fault(netem_request({{"loss", "20%"}, {"destination", "10.200.0.2/32"}}));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    const double loss = ping(net, "10.200.0.2", 1000, "0.002").second;
    INFO("measured loss " << loss << "%");
    CHECK(loss >= 15.0);
    CHECK(loss <= 25.0);
    REQUIRE_OK((*fault)->revert());
  });
}

TEST_CASE("a port-scoped delay leaves another port untouched", "[netem]") {
  skip_without_netem();
  NamespacePair net;
  net.run_in(net.a(), [&] {
    auto fault = create_fault(netem_request({{"delay", "100ms"},
                                             {"destination", "10.200.0.2/32"},
                                             {"ports", "8080"},
                                             {"protocol", "tcp"}}));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    const double scoped = connect_ms(AF_INET, "10.200.0.2", 8080);
    const double other = connect_ms(AF_INET, "10.200.0.2", 9090);
    INFO("port 8080: " << scoped << " ms, port 9090: " << other << " ms");
    CHECK(scoped >= 95.0);
    CHECK(other < 20.0);
    REQUIRE_OK((*fault)->revert());
  });
  std::string qdiscs;
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs);
  CHECK(qdiscs.find("netem") == std::string::npos);
  CHECK(qdiscs.find("fa01") == std::string::npos);
}

TEST_CASE("netem on ingress (through an IFB) delays what arrives, by 100 +- 5 ms", "[netem]") {
  skip_without_netem();
  NamespacePair net;
  const double before = ping(net, "10.200.0.2", 20).first;
  REQUIRE(before >= 0);
  net.run_in(net.a(), [&] {
    auto fault = create_fault(netem_request(
        {{"delay", "100ms"}, {"destination", "10.200.0.2/32"}, {"direction", "ingress"}}));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK((*fault)->confirmed());
    const double during = ping(net, "10.200.0.2", 20).first;
    INFO("RTT before " << before << " ms, during " << during << " ms");
    CHECK(during - before >= 95.0);
    CHECK(during - before <= 105.0);
    REQUIRE_OK((*fault)->revert());
  });
  std::string links;
  net.exec(net.a(), "ip -o link show type ifb", &links);
  CHECK(links.empty());
}

TEST_CASE("every netem option at once is accepted, distribution table included", "[netem]") {
  skip_without_netem();
  NamespacePair net;
  net.run_in(net.a(), [&] {
    auto fault = create_fault(netem_request({{"delay", "10ms"},
                                             {"jitter", "5ms"},
                                             {"distribution", "normal"},
                                             {"loss_model", "gilbert_elliott"},
                                             {"ge_p", "1%"},
                                             {"ge_r", "50%"},
                                             {"duplicate", "1%"},
                                             {"corrupt", "1%"},
                                             {"reorder", "5%"},
                                             {"rate", "10mbit"},
                                             {"destination", "10.200.0.2/32"}}));
    REQUIRE_OK(fault);
    auto applied = (*fault)->apply(Clock::now());
    INFO((applied ? std::string("applied") : applied.error().message));
    REQUIRE_OK(applied);
    CHECK((*fault)->confirmed());
    REQUIRE_OK((*fault)->revert());
  });
}
