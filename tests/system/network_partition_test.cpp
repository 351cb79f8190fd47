// network_partition with real traffic, always inside two namespaces made for the test (never the
// host's): the matching traffic is cut, the rest flows, revert restores it and removes the table.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "core/defer.h"
#include "injectors/injector.h"
#include "injectors/linux/nftables.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/network_namespace.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::ConnectOutcome;
using faultline::test::Listener;
using faultline::test::NetnsThread;
using faultline::test::tcp_connect;
using faultline::test::TestNetwork;

namespace {

// Long enough for a connect over a local veth, short enough that a dropped SYN (retransmitted
// only after 1 s) is seen as a timeout.
constexpr int kConnectMs = 400;

void skip_unless_nftables(NetnsThread& ns) {
  const Result<void> usable = ns.run([] { return nftables_usable(); });
  if (!usable) {
    std::printf("SKIPPED: %s\n", usable.error().message.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
}

FaultRequest partition_request(std::vector<std::pair<std::string, std::string>> pairs) {
  const InjectorDescriptor* d = find_injector("network_partition");
  REQUIRE(d != nullptr);
  std::vector<RawParam> raw;
  for (auto& [k, v] : pairs) raw.push_back({k, v, {"test"}, {"test"}});
  ParsedParams parsed = parse_params(d->params, raw, {"test"}, "network_partition");
  REQUIRE(parsed.errors.empty());
  FaultRequest r;
  r.id = "partition";
  r.kind = "network_partition";
  r.params = std::move(parsed.params);
  r.duration = std::chrono::seconds(30);
  return r;
}

// A fault created, driven and destroyed from inside the namespace: its destructor's revert must
// not run in the host's namespace either.
class FaultIn {
 public:
  FaultIn(NetnsThread& ns, FaultRequest request) : ns_(ns) {
    auto created = ns_.run([&] { return create_fault(std::move(request)); });
    if (!created) throw std::runtime_error(created.error().message);
    fault_ = std::move(*created);
  }
  ~FaultIn() {
    ns_.run([this] { fault_.reset(); });
  }
  Result<void> apply() {
    return ns_.run([this] { return fault_->apply(Clock::now()); });
  }
  Result<void> revert() {
    return ns_.run([this] { return fault_->revert(); });
  }
  void destroy() {
    ns_.run([this] { fault_.reset(); });
  }
  Fault& operator*() { return *fault_; }

 private:
  NetnsThread& ns_;
  std::unique_ptr<Fault> fault_;
};

std::string tables(NetnsThread& ns) {
  auto listed = ns.run([] { return nft_run("list tables"); });
  REQUIRE(listed);
  return *listed;
}

std::string connect_from(NetnsThread& ns, const std::string& address, uint16_t port,
                         int timeout_ms = kConnectMs) {
  return test::to_string(ns.run([&] { return tcp_connect(address, port, timeout_ms); }));
}

}  // namespace

TEST_CASE(
    "network_partition drops the matching TCP traffic, lets the rest through, and its "
    "revert restores it and removes its table") {
  test::skip_unless_netns_available();
  TestNetwork net("np-drop");
  NetnsThread a(net.a());
  NetnsThread b(net.b());
  skip_unless_nftables(a);
  Listener servers(b, {8080, 8081});
  const std::string b4 = TestNetwork::kAddress4B, b6 = TestNetwork::kAddress6B;

  // The network works before the fault.
  REQUIRE(connect_from(a, b4, 8080) == "connected");
  REQUIRE(connect_from(a, b6, 8080) == "connected");

  FaultIn fault(
      a, partition_request(
             {{"destination", b4 + "/32," + b6 + "/128"}, {"ports", "8080"}, {"protocol", "tcp"}}));
  REQUIRE_OK(fault.apply());
  CHECK((*fault).confirmed());
  const nlohmann::json applied = (*fault).observed();
  const std::string table = applied["table"].get<std::string>();
  CHECK(table.starts_with("inet faultline_"));
  CHECK(tables(a).find(table) != std::string::npos);
  CHECK(applied["ruleset"].get<std::string>().find(
            "ip daddr 10.200.0.2 tcp dport 8080 counter packets 0 bytes 0 drop") !=
        std::string::npos);

  CHECK(connect_from(a, b4, 8080) == "timed out");
  CHECK(connect_from(a, b6, 8080) == "timed out");
  CHECK(connect_from(a, b4, 8081) == "connected");
  CHECK(connect_from(a, b6, 8081) == "connected");

  REQUIRE_OK(fault.revert());
  CHECK(connect_from(a, b4, 8080) == "connected");
  CHECK(connect_from(a, b6, 8080) == "connected");
  CHECK(tables(a).find("faultline") == std::string::npos);

  // Observed, not assumed: the two SYNs that timed out were counted by the kernel.
  const nlohmann::json observed = (*fault).observed();
  CHECK(observed["removed"] == true);
  CHECK(observed["counters_read"] == "at_revert");
  CHECK(observed["packets"].get<uint64_t>() >= 2);
  CHECK(observed["rules"].size() == 4);
  const std::string summary = (*fault).summary();
  INFO(summary);
  CHECK(summary.starts_with("dropped tcp to 10.200.0.2/32,fd00:200::2/128 port 8080 both ways: "));
  CHECK(summary.ends_with(" packets dropped"));
}

TEST_CASE("network_partition rejects: a connect is refused at once instead of timing out") {
  test::skip_unless_netns_available();
  TestNetwork net("np-reject");
  NetnsThread a(net.a());
  NetnsThread b(net.b());
  skip_unless_nftables(a);
  Listener servers(b, {8080, 8081});

  FaultIn fault(a, partition_request({{"destination", "10.200.0.0/24"},
                                      {"ports", "8080"},
                                      {"protocol", "tcp"},
                                      {"direction", "outgoing"},
                                      {"action", "reject"}}));
  REQUIRE_OK(fault.apply());
  CHECK(connect_from(a, TestNetwork::kAddress4B, 8080, 5000) == "refused");
  CHECK(connect_from(a, TestNetwork::kAddress4B, 8081) == "connected");
  // The destination is IPv4 only: IPv6 to the same port is not in the scope.
  CHECK(connect_from(a, TestNetwork::kAddress6B, 8080) == "connected");
  REQUIRE_OK(fault.revert());
  CHECK(connect_from(a, TestNetwork::kAddress4B, 8080) == "connected");
  CHECK((*fault).summary().starts_with("rejected tcp to 10.200.0.0/24 port 8080 outgoing only: "));
}

TEST_CASE("network_partition on incoming packets to a local port cuts only that direction") {
  test::skip_unless_netns_available();
  TestNetwork net("np-in");
  NetnsThread a(net.a());
  NetnsThread b(net.b());
  skip_unless_nftables(a);
  Listener on_a(a, {9000, 9001});
  Listener on_b(b, {9000});

  FaultIn fault(a, partition_request(
                       {{"local_ports", "9000"}, {"protocol", "tcp"}, {"direction", "incoming"}}));
  REQUIRE_OK(fault.apply());
  CHECK(connect_from(b, TestNetwork::kAddress4A, 9000) == "timed out");
  CHECK(connect_from(b, TestNetwork::kAddress6A, 9000) == "timed out");
  CHECK(connect_from(b, TestNetwork::kAddress4A, 9001) == "connected");
  // a's own connections out to port 9000 elsewhere use another local port: untouched.
  CHECK(connect_from(a, TestNetwork::kAddress4B, 9000) == "connected");
  REQUIRE_OK(fault.revert());
  CHECK(connect_from(b, TestNetwork::kAddress4A, 9000) == "connected");
}

TEST_CASE("network_partition's revert is idempotent, and so is the destructor after it") {
  test::skip_unless_netns_available();
  TestNetwork net("np-idem");
  NetnsThread a(net.a());
  skip_unless_nftables(a);

  FaultIn fault(a, partition_request({{"destination", "10.200.0.2"}}));
  REQUIRE_OK(fault.apply());
  CHECK(tables(a).find("faultline_") != std::string::npos);
  REQUIRE_OK(fault.revert());
  REQUIRE_OK(fault.revert());
  CHECK(tables(a).find("faultline_") == std::string::npos);

  // Deleted by someone else before the revert: the revert still succeeds, and says so.
  FaultIn second(a, partition_request({{"destination", "10.200.0.2"}}));
  REQUIRE_OK(second.apply());
  const std::string table = (*second).observed()["table"].get<std::string>();
  REQUIRE(a.run([&] { return nft_run("delete table " + table); }));
  REQUIRE_OK(second.revert());
  CHECK((*second).observed()["table_gone_before_revert"] == true);
  CHECK((*second).summary().ends_with("(table removed by someone else, counters lost)"));
  fault.destroy();
  second.destroy();
  CHECK(tables(a).find("faultline_") == std::string::npos);
}

TEST_CASE("network_partition deletes its table when destroyed without a revert") {
  test::skip_unless_netns_available();
  TestNetwork net("np-dtor");
  NetnsThread a(net.a());
  skip_unless_nftables(a);

  FaultIn fault(a, partition_request({{"destination", "fd00:200::/64"}, {"protocol", "icmp"}}));
  REQUIRE_OK(fault.apply());
  CHECK(tables(a).find("faultline_") != std::string::npos);
  fault.destroy();
  CHECK(tables(a).find("faultline_") == std::string::npos);
}

TEST_CASE("network_partition leaves another table in its namespace untouched") {
  test::skip_unless_netns_available();
  TestNetwork net("np-keep");
  NetnsThread a(net.a());
  skip_unless_nftables(a);

  REQUIRE(a.run([] {
    return nft_run(
        "add table inet fl_test_keep\n"
        "add chain inet fl_test_keep input { type filter hook input priority 0; policy accept; }\n"
        "add rule inet fl_test_keep input tcp dport 12345 accept\n");
  }));
  auto list_kept = [&] { return a.run([] { return nft_run("list table inet fl_test_keep"); }); };
  const auto kept = list_kept();
  REQUIRE(kept);
  const std::string before = *kept;

  FaultIn fault(a, partition_request({{"destination", "10.200.0.2"}, {"direction", "incoming"}}));
  REQUIRE_OK(fault.apply());
  CHECK(list_kept().value_or("") == before);
  REQUIRE_OK(fault.revert());
  CHECK(list_kept().value_or("") == before);
  CHECK(tables(a) == "table inet fl_test_keep\n");
}

TEST_CASE("network_partition's table is deleted by the guardian when faultline is SIGKILLed") {
  test::skip_unless_netns_available();
  TestNetwork net("np-kill");
  NetnsThread a(net.a());
  skip_unless_nftables(a);
  auto has_table = [&] { return tables(a).find("faultline_") != std::string::npos; };

  // The guardian outlives faultline; as a subreaper this test inherits it and reaps it, so no
  // zombie is left for pid 1 to collect after the suite has checked the host.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Defer no_longer_subreaper([] { prctl(PR_SET_CHILD_SUBREAPER, 0); });
  // `ip netns exec` replaces itself with faultline, so the child's pid is faultline's.
  test::ChildProcess tool(test::ip_binary(), "ip",
                          {"netns", "exec", net.a(), FAULTLINE_BINARY, "inject",
                           "network_partition", "--duration", "60s", "destination=10.200.0.2"});
  for (int i = 0; i < 500 && !has_table(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(has_table());
  pid_t guardian = 0;
  for (const ProcessInfo& p : scan_processes())
    if (p.ppid == tool.pid() && p.comm == "faultline-guard") guardian = p.pid;
  REQUIRE(guardian != 0);
  // SIGKILL: no handler, no revert in faultline. Its guardian must delete the table.
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  for (int i = 0; i < 300 && has_table(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(has_table());
  // The guardian ends by itself once it has done its work.
  bool reaped = false;
  for (int i = 0; i < 300 && !reaped; ++i) {
    reaped = waitpid(guardian, nullptr, WNOHANG) == guardian;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(reaped);
}
