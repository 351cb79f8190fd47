// The network kinds' traffic-control trees, built and removed over netlink inside namespaces
// that the test makes. This kernel has no netem, so the tree is proven with tbf (the bandwidth
// kind) here; netem itself runs in tests/kernel-lab.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "injectors/injector.h"
#include "injectors/network/backend_choice.h"
#include "injectors/network/netem_options.h"
#include "injectors/network/tc_tree.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::NamespacePair;

namespace {

FaultRequest bandwidth_request(const std::string& extra_ports = "8080") {
  FaultRequest r;
  r.id = "bw";
  r.kind = "bandwidth";
  auto set = [&](const char* k, const std::string& v) {
    for (const ParamSpec& s : find_injector("bandwidth")->params)
      if (s.name == k) r.params.set(k, *parse_param_value(s, v));
  };
  set("interface", "fl-a");
  set("destination", "10.200.0.2/32");
  set("ports", extra_ports);
  set("protocol", "tcp");
  set("rate", "1mbit");
  set("burst", "32kb");
  set("limit", "128kb");
  for (const ParamSpec& s : find_injector("bandwidth")->params)
    if (!r.params.has(s.name) && !s.default_value.empty())
      r.params.set(std::string(s.name), *parse_param_value(s, s.default_value));
  r.duration = std::chrono::seconds(10);
  return r;
}

// Sends one UDP datagram, or one TCP SYN (a non-blocking connect), from the current namespace.
void send_udp(const char* address, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, address, &to.sin_addr);
  sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
}
void send_syn(int family, const char* address, uint16_t port) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (family == AF_INET) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, address, &to.sin_addr);
    connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  } else {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(port);
    inet_pton(AF_INET6, address, &to.sin6_addr);
    connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  usleep(20000);
  close(fd);
}

uint64_t fault_packets(Fault& f) {
  return f.observed()["fault_qdisc"]["packets"].get<uint64_t>();
}

}  // namespace

TEST_CASE("bandwidth: only the scoped traffic goes through the fault's qdisc, and all is removed") {
  NamespacePair net;
  std::string before, after;
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  net.run_in(net.a(), [&] {
    auto fault = create_fault(bandwidth_request());
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->prepare());
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK((*fault)->confirmed());
    const nlohmann::json tree = (*fault)->observed()["tree_after_apply"]["egress"];
    bool root = false, child = false;
    for (const auto& q : tree) {
      root |= q["kind"] == "htb" && q["handle"] == "fa01:" && q["parent"] == "root";
      child |= q["kind"] == "tbf" && q["handle"] == "fa02:" && q["parent"] == "fa01:1";
    }
    CHECK(root);
    CHECK(child);

    send_udp("10.200.0.2", 9999);             // not tcp
    send_syn(AF_INET, "10.200.0.2", 9090);    // another port
    send_syn(AF_INET6, "fd00:200::2", 8080);  // another address family
    CHECK(fault_packets(**fault) == 0);
    send_syn(AF_INET, "10.200.0.2", 8080);  // the scope: address AND port
    CHECK(fault_packets(**fault) >= 1);

    REQUIRE_OK((*fault)->revert());
    REQUIRE_OK((*fault)->revert());  // idempotent
  });
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  CHECK(after == before);
}

TEST_CASE("a port range and IPv6 destination are matched by the same tree") {
  NamespacePair net;
  net.run_in(net.a(), [&] {
    FaultRequest r = bandwidth_request("8000-8007");
    for (const ParamSpec& s : find_injector("bandwidth")->params)
      if (s.name == "destination")
        r.params.set("destination", *parse_param_value(s, "fd00:200::2/128"));
    auto fault = create_fault(std::move(r));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    send_syn(AF_INET6, "fd00:200::2", 8008);  // just outside the range
    send_syn(AF_INET, "10.200.0.2", 8003);    // IPv4: not in scope
    CHECK(fault_packets(**fault) == 0);
    send_syn(AF_INET6, "fd00:200::2", 8003);
    CHECK(fault_packets(**fault) >= 1);
    REQUIRE_OK((*fault)->revert());
  });
}

TEST_CASE("a root qdisc of the user's is restored exactly, and a classful tree is refused") {
  NamespacePair net;
  REQUIRE(net.exec(net.a(),
                   "tc qdisc add dev fl-a root handle 5: tbf rate 10mbit burst 32kb "
                   "latency 50ms") == 0);
  std::string before, after;
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  REQUIRE(before.find("qdisc tbf 5: root") != std::string::npos);
  net.run_in(net.a(), [&] {
    auto fault = create_fault(bandwidth_request());
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    REQUIRE_OK((*fault)->revert());
  });
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  CHECK(after == before);

  REQUIRE(net.exec(net.a(), "tc qdisc replace dev fl-a root handle 1: htb default 10") == 0);
  REQUIRE(net.exec(net.a(), "tc class add dev fl-a parent 1: classid 1:10 htb rate 1mbit") == 0);
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  net.run_in(net.a(), [&] {
    auto fault = create_fault(bandwidth_request());
    REQUIRE_OK(fault);
    auto prepared = (*fault)->prepare();
    REQUIRE_FALSE(prepared);
    CHECK(prepared.error().message ==
          "interface 'fl-a' has a classful root qdisc of its own (htb 1:); faultline could not "
          "restore its classes exactly, so it refuses to replace it");
  });
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  CHECK(after == before);
}

TEST_CASE("a second fault on the same interface is refused, not stacked") {
  NamespacePair net;
  net.run_in(net.a(), [&] {
    auto first = create_fault(bandwidth_request());
    REQUIRE_OK(first);
    REQUIRE_OK((*first)->apply(Clock::now()));
    auto second = create_fault(bandwidth_request("9090"));
    REQUIRE_OK(second);
    auto prepared = (*second)->prepare();
    REQUIRE_FALSE(prepared);
    CHECK(prepared.error().message ==
          "interface 'fl-a' already carries a faultline network fault; two faults on one "
          "interface are refused (scope one fault to cover both, or use another interface)");
    REQUIRE_OK((*first)->revert());
  });
}

TEST_CASE("a failed apply removes what it built and puts the user's qdisc back") {
  NamespacePair net;
  REQUIRE(net.exec(net.a(),
                   "tc qdisc add dev fl-a root handle 7: tbf rate 5mbit burst 16kb "
                   "limit 64kb") == 0);
  std::string before, after;
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  net.run_in(net.a(), [&] {
    ScopedQdiscTree tree("fl-a");
    REQUIRE_OK(tree.prepare());
    // A child qdisc kind that no kernel has: the apply fails after the prio root is in place.
    FaultQdisc bogus{"fl_no_such_qdisc", [](nl_msg*) -> Result<void> { return {}; }};
    NetworkScope scope;
    auto applied = tree.apply(scope, bogus);
    REQUIRE_FALSE(applied);
    CHECK_THAT(applied.error().message,
               Catch::StartsWith("adding fl_no_such_qdisc fa02: on fl-a: "));
  });
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  CHECK(after == before);
}

TEST_CASE("ingress: received traffic goes through an IFB of the fault's own, removed after") {
  NamespacePair net;
  std::string links_before, links_after, qdiscs_before, qdiscs_after;
  net.exec(net.a(), "ip -o link show", &links_before);
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs_before);
  net.run_in(net.a(), [&] {
    FaultRequest r = bandwidth_request();
    for (const ParamSpec& s : find_injector("bandwidth")->params)
      if (s.name == "direction") r.params.set("direction", *parse_param_value(s, "ingress"));
    auto fault = create_fault(std::move(r));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->prepare());
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK((*fault)->confirmed());
    const std::string ifb = (*fault)->observed()["ifb"];
    CHECK(ifb.starts_with("flifb"));
    // The refusal from port 9090 comes back from another remote port: not in scope.
    send_syn(AF_INET, "10.200.0.2", 9090);
    CHECK((*fault)->observed()["ingress_fault_qdisc"]["packets"] == 0);
    // The refusal from port 8080 arrives from the scope's remote address and port.
    send_syn(AF_INET, "10.200.0.2", 8080);
    CHECK((*fault)->observed()["ingress_fault_qdisc"]["packets"] >= 1);
    REQUIRE_OK((*fault)->revert());
  });
  net.exec(net.a(), "ip -o link show", &links_after);
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs_after);
  CHECK(links_after == links_before);
  CHECK(qdiscs_after == qdiscs_before);
}

TEST_CASE("a fault acts in its target's network namespace, or a named one, never in ours") {
  NamespacePair net;
  // A process living in namespace a, as a container's would.
  faultline::test::ChildProcess inside("/usr/sbin/ip", "ip",
                                       {"netns", "exec", net.a(), "/bin/sleep", "1000"});
  // `ip netns exec` enters the namespace, then execs sleep: wait for the exec, so the pid is
  // inside namespace a before the fault looks it up.
  for (int i = 0; i < 400; ++i) {
    auto p = read_process(inside.pid());
    if (p && p->cmdline == "/bin/sleep 1000") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string pidfile = "/tmp/fl-test-netns-" + std::to_string(getpid()) + ".pid";
  FILE* f = std::fopen(pidfile.c_str(), "w");
  std::fprintf(f, "%d\n", inside.pid());
  std::fclose(f);
  std::string qdiscs;
  SECTION("by target process") {
    FaultRequest r = bandwidth_request();
    r.selector.pidfile = pidfile;
    auto fault = create_fault(std::move(r));  // from this thread, in the host's namespace
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->prepare());
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK((*fault)->observed()["network_namespace"].get<std::string>().starts_with(
        fmt::format("the network namespace of pid {}", inside.pid())));
    net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs);
    CHECK(qdiscs.find("qdisc htb fa01: root") != std::string::npos);
    REQUIRE_OK((*fault)->revert());
  }
  SECTION("by namespace name") {
    FaultRequest r = bandwidth_request();
    for (const ParamSpec& s : find_injector("bandwidth")->params)
      if (s.name == "netns") r.params.set("netns", *parse_param_value(s, net.a()));
    auto fault = create_fault(std::move(r));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs);
    CHECK(qdiscs.find("qdisc htb fa01: root") != std::string::npos);
    REQUIRE_OK((*fault)->revert());
  }
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs);
  CHECK(qdiscs.find("fa01") == std::string::npos);
  std::remove(pidfile.c_str());
}

TEST_CASE("netem is detected as missing with how to fix it, or works") {
  Params asked;
  asked.set("backend", std::string("netem"));
  const auto netem = choose_network_backend(asked);
  if (netem) {
    CHECK(netem->reason == "asked for (backend: netem)");
  } else {
    CHECK(netem.error().message ==
          "this kernel has no netem qdisc (sch_netem): load it with 'modprobe sch_netem'; on "
          "RHEL-family kernels it is in the kernel-modules-extra package, on Debian/Ubuntu in "
          "linux-modules-extra or the standard image");
    // Then auto falls back to the userspace backend, when this kernel can run it.
    const Support s = find_injector("network")->supported();
    Params any;
    if (s.ok) CHECK(choose_network_backend(any)->backend == NetworkBackend::Userspace);
  }
}
