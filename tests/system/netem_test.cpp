// Network faults measured with real traffic between two namespaces, on every backend this kernel
// has: the userspace backend (NFQUEUE) here, where the kernel lacks sch_netem, and both netem and
// the userspace backend in the kernel lab (tests/kernel-lab), which boots a kernel with netem and
// runs these same cases, so the two are measured side by side in the same way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "injectors/injector.h"
#include "injectors/network/backend_choice.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"
#include "tests/support/rtt_probe.h"

using namespace faultline;
using namespace faultline::test;

namespace {

FaultRequest netem_request(const std::string& backend,
                           std::vector<std::pair<std::string, std::string>> params) {
  FaultRequest r;
  r.id = "netem";
  r.kind = "network";
  r.seed = 42;
  params.insert(params.begin(), {"interface", "fl-a"});
  params.emplace_back("backend", backend);
  for (const auto& [key, value] : params)
    for (const ParamSpec& s : find_injector("network")->params)
      if (s.name == key) r.params.set(key, *parse_param_value(s, value));
  for (const ParamSpec& s : find_injector("network")->params)
    if (!r.params.has(s.name) && !s.default_value.empty())
      r.params.set(std::string(s.name), *parse_param_value(s, s.default_value));
  r.duration = std::chrono::seconds(60);
  return r;
}

// The backends this kernel can run; the test exits as skipped (77) when it has neither.
std::vector<std::string> backends_here() {
  std::vector<std::string> here;
  for (const char* name : {"netem", "userspace"}) {
    const auto choice = choose_network_backend(netem_request(name, {}).params);
    if (choice)
      here.emplace_back(name);
    else
      std::printf("NOTE: backend %s is not measured here: %s\n", name,
                  choice.error().message.c_str());
  }
  std::fflush(stdout);
  if (here.empty()) {
    std::printf("SKIPPED: neither network backend can run here\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  return here;
}

// The kernel lab is a VM under software emulation (qemu TCG): a wake-up of a userspace thread
// costs about a millisecond there, and varies. The UDP echo takes one in the echo server (netem's
// added UDP RTT measured up to 102.9 ms there), the userspace backend two more per packet (it
// reads it, then gives its verdict: up to 105.4 ms). So the +-2 ms holds on a real machine (this
// host's own run, both backends' code the same) and the lab allows 4 ms for netem and 8 ms for
// the userspace backend. The figures are printed either way.
double delay_tolerance_ms(const std::string& backend) {
  if (!std::filesystem::exists("/run/faultline-lab")) return 2.0;
  return backend == "userspace" ? 8.0 : 4.0;
}

std::string host_prefix(const std::string& address) {
  return address + (address.find(':') != std::string::npos ? "/128" : "/32");
}

struct Rtts {
  double icmp = -1, tcp = -1, udp = -1;
};

// Median round trips from namespace a to `address` (nobody listens on TCP 9999: the RST answers).
Rtts measure(const NamespacePair& net, const std::string& address, int count) {
  Rtts r;
  r.icmp = median(ping_rtts(net, net.a(), address, count));
  net.run_in(net.a(), [&] {
    r.tcp = median(tcp_connect_rtts(address, 9999, count));
    r.udp = median(udp_echo_rtts(address, 7777, count));
  });
  return r;
}

void check_added(const Rtts& before, const Rtts& during, double added, double tolerance) {
  std::printf("added RTT (want %.0f +- %.0f ms): ICMP %.3f, TCP %.3f, UDP %.3f ms\n", added,
              tolerance, during.icmp - before.icmp, during.tcp - before.tcp,
              during.udp - before.udp);
  std::fflush(stdout);
  INFO("ICMP " << before.icmp << " -> " << during.icmp << " ms, TCP " << before.tcp << " -> "
               << during.tcp << " ms, UDP " << before.udp << " -> " << during.udp << " ms");
  REQUIRE(before.icmp >= 0);
  REQUIRE(before.tcp >= 0);
  REQUIRE(before.udp >= 0);
  CHECK(std::abs(during.icmp - before.icmp - added) <= tolerance);
  CHECK(std::abs(during.tcp - before.tcp - added) <= tolerance);
  CHECK(std::abs(during.udp - before.udp - added) <= tolerance);
}

// Applies `request` in namespace a, runs `during` there, and reverts.
template <class F>
void with_fault(const NamespacePair& net, const FaultRequest& request, F during) {
  net.run_in(net.a(), [&] {
    auto fault = create_fault(request);
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK((*fault)->confirmed());
    during(**fault);
    REQUIRE_OK((*fault)->revert());
    INFO((*fault)->observed().dump(2));
    CHECK((*fault)->observed().value("backend", "") == request.params.text("backend"));
  });
}

// What arrived of `count` UDP datagrams sent `gap_us` apart through a fault with `params`: from
// namespace a to b (egress), or from b to a with the fault on a's ingress.
struct Delivery {
  uint64_t received = 0;
  std::vector<double> one_way_ms;
  std::string summary;
};

Delivery send_through(const std::string& backend,
                      std::vector<std::pair<std::string, std::string>> params, int count,
                      int gap_us, const std::string& direction = "egress") {
  NamespacePair net;
  const bool egress = direction == "egress";
  NetnsThread receiver(egress ? net.b() : net.a());
  UdpSink sink(receiver, 6000);
  params.emplace_back("destination", "10.200.0.2/32");
  params.emplace_back("protocol", "udp");
  params.emplace_back("direction", direction);
  Delivery d;
  with_fault(net, netem_request(backend, params), [&](Fault& fault) {
    net.run_in(egress ? net.a() : net.b(), [&] {
      send_udp(egress ? TestNetwork::kAddress4B : TestNetwork::kAddress4A, 6000, count, gap_us);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    d.summary = fault.summary();
  });
  d.received = sink.received();
  d.one_way_ms = sink.one_way_ms();
  return d;
}

double lost_percent(const Delivery& d, int sent) {
  return 100.0 * (sent - static_cast<double>(d.received)) / sent;
}

// The round trips to `address` before and while a 100 ms delay holds on `direction`.
std::pair<Rtts, Rtts> rtts_around_delay(const std::string& backend, const std::string& address,
                                        const std::string& direction) {
  NamespacePair net;
  NetnsThread b(net.b());
  UdpEcho echo(b, 7777);
  const Rtts before = measure(net, address, 20);
  Rtts during;
  with_fault(net,
             netem_request(backend, {{"delay", "100ms"},
                                     {"destination", host_prefix(address)},
                                     {"direction", direction}}),
             [&](Fault&) { during = measure(net, address, 10); });
  if (direction == "egress") {
    const Rtts after = measure(net, address, 10);
    CHECK(after.icmp < before.icmp + 1.0);
  }
  return {before, during};
}

}  // namespace

TEST_CASE("delay 100ms adds 100 +- 2 ms of RTT to ICMP and TCP and UDP over IPv4 and IPv6", "[netem]") {
  for (const std::string& backend : backends_here()) {
    for (const char* address : {TestNetwork::kAddress4B, TestNetwork::kAddress6B}) {
      DYNAMIC_SECTION(backend << " " << address) {
        const auto [before, during] = rtts_around_delay(backend, address, "egress");
        check_added(before, during, 100.0, delay_tolerance_ms(backend));
      }
    }
  }
}

TEST_CASE("ingress delay 100ms adds 100 +- 2 ms to what arrives over IPv4 and IPv6", "[netem]") {
  for (const std::string& backend : backends_here()) {
    for (const char* address : {TestNetwork::kAddress4B, TestNetwork::kAddress6B}) {
      DYNAMIC_SECTION(backend << " " << address) {
        const auto [before, during] = rtts_around_delay(backend, address, "ingress");
        check_added(before, during, 100.0, delay_tolerance_ms(backend));
      }
    }
  }
}

TEST_CASE("loss 20% drops 20 +- 2% of 10000 datagrams on egress and ingress", "[netem]") {
  // On the userspace backend egress loss goes through the queue and ingress loss is dropped in
  // the kernel (numgen); both are measured.
  for (const std::string& backend : backends_here()) {
    for (const std::string direction : {"egress", "ingress"}) {
      DYNAMIC_SECTION(backend << " " << direction) {
        const Delivery d = send_through(backend, {{"loss", "20%"}}, 10000, 20, direction);
        INFO("received " << d.received << " of 10000: " << lost_percent(d, 10000)
                         << "% lost; " << d.summary);
        // 2% is 5 standard deviations of a binomial count over 10000 at 20%.
        CHECK(std::abs(lost_percent(d, 10000) - 20.0) <= 2.0);
      }
    }
  }
}

TEST_CASE("jitter 20ms: the RTT's standard deviation is the distribution's", "[netem]") {
  // Uniform jitter of +-20 ms has a standard deviation of 20/sqrt(3) = 11.55 ms; 1000 samples
  // estimate it within 2% (one standard error), so 10% is five.
  const auto here = backends_here();
  if (here.size() > 1) {
    // Where both run (the kernel lab, one run of every case), the side-by-side case measures
    // both the same way, against the same bound; exiting as skipped would end that run.
    SUCCEED("measured by the side-by-side case: both backends run here");
    return;
  }
  for (const std::string& backend : here) {
    DYNAMIC_SECTION(backend) {
      NamespacePair net;
      std::vector<double> rtts;
      with_fault(net,
                 netem_request(backend, {{"delay", "100ms"},
                                         {"jitter", "20ms"},
                                         {"destination", "10.200.0.2/32"}}),
                 [&](Fault&) { rtts = ping_rtts(net, net.a(), "10.200.0.2", 1000, "0.005"); });
      const double sd = stddev(rtts);
      std::printf("jitter 20ms, %s backend: %zu RTTs, mean %.3f ms, standard deviation %.3f ms\n",
                  backend.c_str(), rtts.size(), mean(rtts), sd);
      std::fflush(stdout);
      INFO(backend << ": " << rtts.size() << " RTTs, sd " << sd << " ms");
      REQUIRE(rtts.size() >= 990);
      CHECK(std::abs(sd / (20.0 / std::sqrt(3.0)) - 1.0) <= 0.10);
    }
  }
}

TEST_CASE("a port-scoped delay leaves another port under 1 ms added", "[netem]") {
  for (const std::string& backend : backends_here()) {
    DYNAMIC_SECTION(backend) {
      NamespacePair net;
      double scoped_before = -1, other_before = -1, scoped = -1, other = -1;
      net.run_in(net.a(), [&] {
        scoped_before = median(tcp_connect_rtts("10.200.0.2", 8080, 20));
        other_before = median(tcp_connect_rtts("10.200.0.2", 9090, 20));
      });
      with_fault(net,
                 netem_request(backend, {{"delay", "100ms"},
                                         {"destination", "10.200.0.2/32"},
                                         {"ports", "8080"},
                                         {"protocol", "tcp"}}),
                 [&](Fault&) {
                   scoped = median(tcp_connect_rtts("10.200.0.2", 8080, 10));
                   other = median(tcp_connect_rtts("10.200.0.2", 9090, 20));
                 });
      INFO("port 8080: " << scoped_before << " -> " << scoped << " ms, port 9090: " << other_before
                         << " -> " << other << " ms");
      CHECK(std::abs(scoped - scoped_before - 100.0) <= delay_tolerance_ms(backend));
      CHECK(other - other_before < 1.0);
    }
  }
}

TEST_CASE("duplicate 100% delivers every datagram twice", "[netem]") {
  for (const std::string& backend : backends_here()) {
    DYNAMIC_SECTION(backend) {
      const Delivery d = send_through(backend, {{"duplicate", "100%"}}, 500, 100);
      INFO(d.summary);
      CHECK(d.received == 1000);
    }
  }
}

TEST_CASE("gilbert_elliott p 1% r 10% loses p/(p+r) = 9.1% of 50000 datagrams", "[netem]") {
  // Losses come in bursts of 10 on average, about 450 of them in 50000 packets: the loss share
  // has a standard deviation of about 0.6 points, so +-2 points is three of them.
  for (const std::string& backend : backends_here()) {
    DYNAMIC_SECTION(backend) {
      const Delivery d = send_through(
          backend, {{"loss_model", "gilbert_elliott"}, {"ge_p", "1%"}, {"ge_r", "10%"}}, 50000,
          20);
      INFO("received " << d.received << " of 50000: " << lost_percent(d, 50000) << "% lost; "
                       << d.summary);
      CHECK(std::abs(lost_percent(d, 50000) - 100.0 / 11.0) <= 2.0);
    }
  }
}

TEST_CASE("reorder 25% with a 10ms delay sends a quarter of the datagrams at once", "[netem]") {
  for (const std::string& backend : backends_here()) {
    DYNAMIC_SECTION(backend) {
      const Delivery d = send_through(backend, {{"delay", "10ms"}, {"reorder", "25%"}}, 2000, 1000);
      REQUIRE(d.one_way_ms.size() == 2000);
      const auto at_once =
          std::count_if(d.one_way_ms.begin(), d.one_way_ms.end(), [](double ms) { return ms < 5.0; });
      const double share = 100.0 * static_cast<double>(at_once) / 2000.0;
      INFO(at_once << " of 2000 arrived within 5 ms: " << share << "%; " << d.summary);
      // Binomial over 2000 at 25%: a standard deviation of 0.97 points; +-3.5 is 3.6 of them.
      CHECK(std::abs(share - 25.0) <= 3.5);
    }
  }
}

TEST_CASE("every network option at once is accepted with a distribution table", "[netem]") {
  for (const std::string& backend : backends_here()) {
    DYNAMIC_SECTION(backend) {
      NamespacePair net;
      with_fault(net,
                 netem_request(backend, {{"delay", "10ms"},
                                         {"jitter", "5ms"},
                                         {"distribution", "normal"},
                                         {"loss_model", "gilbert_elliott"},
                                         {"ge_p", "1%"},
                                         {"ge_r", "50%"},
                                         {"duplicate", "1%"},
                                         {"corrupt", "1%"},
                                         {"reorder", "5%"},
                                         {"rate", "10mbit"},
                                         {"destination", "10.200.0.2/32"}}),
                 [&](Fault&) {
                   const auto rtts = ping_rtts(net, net.a(), "10.200.0.2", 20);
                   CHECK(!rtts.empty());
                 });
    }
  }
}

TEST_CASE("plan names the backend a network fault will use here and why", "[network-userspace]") {
  const auto line = find_injector("network")->reach_check(netem_request("auto", {{"delay", "10ms"}}));
  REQUIRE_OK(line);
  if (choose_network_backend(netem_request("netem", {}).params))
    CHECK(*line == "use the netem backend: this kernel has netem (sch_netem)");
  else
    CHECK(*line ==
          "use the userspace backend: this kernel has no netem qdisc (sch_netem); packets are "
          "held in userspace through NFQUEUE instead");
  const auto forced =
      find_injector("network")->reach_check(netem_request("userspace", {{"delay", "10ms"}}));
  REQUIRE_OK(forced);
  CHECK(*forced == "use the userspace backend: asked for (backend: userspace)");
}

// Last: where only one backend runs it exits as skipped, which ends a run of several cases.
TEST_CASE("jitter 20ms: the userspace backend's deviation is within 10% of netem's", "[netem]") {
  const auto here = backends_here();
  if (here.size() < 2) {
    std::printf("SKIPPED: netem and the userspace backend are compared where both run (the kernel "
                "lab)\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  NamespacePair net;
  std::map<std::string, double> sd;
  for (const std::string& backend : here) {
    std::vector<double> rtts;
    with_fault(net,
               netem_request(backend, {{"delay", "100ms"},
                                       {"jitter", "20ms"},
                                       {"destination", "10.200.0.2/32"}}),
               [&](Fault&) { rtts = ping_rtts(net, net.a(), "10.200.0.2", 1000, "0.005"); });
    REQUIRE(rtts.size() >= 990);
    sd[backend] = stddev(rtts);
  }
  std::printf("jitter 20ms side by side: netem sd %.3f ms, userspace sd %.3f ms, ratio %.3f\n",
              sd["netem"], sd["userspace"], sd["userspace"] / sd["netem"]);
  std::fflush(stdout);
  CHECK(std::abs(sd["userspace"] / sd["netem"] - 1.0) <= 0.10);
  for (const auto& [backend, value] : sd) {
    INFO(backend << ": sd " << value << " ms");
    CHECK(std::abs(value / (20.0 / std::sqrt(3.0)) - 1.0) <= 0.10);
  }
}
