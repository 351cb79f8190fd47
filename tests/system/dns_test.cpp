// The dns fault with real resolvers, always inside two namespaces made for the test (never the
// host's): dnsmasq answers on the server side (b, over the veth, IPv4 and IPv6) and as a local
// stub on 127.0.0.53 in the client's namespace (a); the test's own small resolver asks from a.
// A matching name gets the fault, any other is answered by the resolver it was sent to, and
// after revert (or a SIGKILL of faultline: its guardian) everything resolves as before.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "core/defer.h"
#include "core/poll.h"
#include "injectors/dns/dns_message.h"
#include "injectors/injector.h"
#include "injectors/linux/nftables.h"
#include "injectors/linux/orphans.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/network/netns.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/network_namespace.h"
#include "tests/support/require_ok.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using namespace std::chrono_literals;
using faultline::test::NetnsThread;
using faultline::test::TestNetwork;

namespace {

constexpr const char* kServer4 = TestNetwork::kAddress4B;
constexpr const char* kServer6 = TestNetwork::kAddress6B;
constexpr const char* kStub = "127.0.0.53";
// Long enough for an answer over a local veth, short enough for a dropped query to time out.
constexpr auto kTimeout = 1500ms;

using Strings = std::vector<std::string>;

[[noreturn]] void skip(const std::string& reason) {
  std::printf("SKIP: %s\n", reason.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

// Exits as skipped when the dns fault cannot run here. Asked in a namespace pair of its own,
// made and removed before the test makes anything: a skip (_Exit) must leave nothing behind.
void skip_unless_dns_ready() {
  test::skip_unless_netns_available();
  test::skip_unless_root("the dns fault programs nftables in a network namespace");
  if (access("/usr/sbin/dnsmasq", X_OK) != 0)
    skip("dnsmasq is not installed (apt-get install dnsmasq-base)");
  static const Support support = [] {
    TestNetwork probe("dns-check");
    NetnsThread a(probe.a());
    return a.run([] { return find_injector("dns")->supported(); });
  }();
  if (!support.ok) skip(support.reason);
}

// dnsmasq in a namespace, killed with the handle whichever way the test ends.
class Dnsmasq {
 public:
  Dnsmasq(const std::string& netns, const Strings& listen, const Strings& host_records) {
    Strings args = {"netns",
                    "exec",
                    netns,
                    "/usr/sbin/dnsmasq",
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--user=root",
                    "--group=root",
                    "--bind-interfaces",
                    "--pid-file=" + dir_.file("pid"),
                    "--log-facility=" + dir_.file("log")};
    for (const std::string& a : listen) args.push_back("--listen-address=" + a);
    for (const std::string& r : host_records) args.push_back("--host-record=" + r);
    process_ = std::make_unique<test::ChildProcess>(test::ip_binary(), "ip", args);
  }

 private:
  test::TempDir dir_;
  std::unique_ptr<test::ChildProcess> process_;
};

enum class Transport { Udp, Tcp };

struct Answer {
  bool answered = false;
  std::string rcode;
  Strings records;
  Duration took{};
  std::string error;
};

std::string text(const Answer& a) {
  if (!a.answered) return "no answer (" + a.error + ")";
  return fmt::format("{} [{}]", a.rcode, fmt::join(a.records, ", "));
}

bool wait_fd(int fd, short events, TimePoint until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
}

// One query, from the calling thread's namespace, no retry: what a stub resolver's first try
// sees.
Answer ask_here(const std::string& server, const std::string& name, uint16_t type,
                Transport transport) {
  Answer out;
  static std::atomic<uint16_t> next_id{0x4000};
  const uint16_t id = next_id++;
  auto query = build_query(id, name, type);
  if (!query) {
    out.error = query.error().message;
    return out;
  }
  sockaddr_storage to{};
  socklen_t length = 0;
  const bool v6 = server.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(53);
    inet_pton(AF_INET6, server.c_str(), &a->sin6_addr);
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    a->sin_port = htons(53);
    inet_pton(AF_INET, server.c_str(), &a->sin_addr);
    length = sizeof *a;
  }
  const int fd = ::socket(
      to.ss_family,
      (transport == Transport::Udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  Defer close_fd([fd] { ::close(fd); });
  const TimePoint start = Clock::now(), until = start + kTimeout;
  std::vector<uint8_t> reply(65535);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), length) != 0 && errno != EINPROGRESS) {
    out.error = std::strerror(errno);
    return out;
  }
  if (transport == Transport::Udp) {
    ::send(fd, query->data(), query->size(), 0);
    if (!wait_fd(fd, POLLIN, until)) {
      out.error = "timed out";
      return out;
    }
    const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
    if (n <= 0) {
      out.error = n < 0 ? std::strerror(errno) : "empty";
      return out;
    }
    reply.resize(static_cast<size_t>(n));
  } else {
    if (!wait_fd(fd, POLLOUT, until)) {
      out.error = "connect timed out";
      return out;
    }
    std::vector<uint8_t> framed = {static_cast<uint8_t>(query->size() >> 8),
                                   static_cast<uint8_t>(query->size() & 0xff)};
    framed.insert(framed.end(), query->begin(), query->end());
    if (::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(framed.size())) {
      out.error = std::strerror(errno);
      return out;
    }
    size_t have = 0;
    std::vector<uint8_t> buffer(65537);
    auto framed_size = [&] { return size_t{2} + ((size_t{buffer[0]} << 8) | buffer[1]); };
    while (have < 2 || have < framed_size()) {
      if (!wait_fd(fd, POLLIN, until)) {
        out.error = "timed out";
        return out;
      }
      const ssize_t n = ::recv(fd, buffer.data() + have, buffer.size() - have, 0);
      if (n <= 0) {
        out.error = n < 0 ? std::strerror(errno) : "connection closed";
        return out;
      }
      have += static_cast<size_t>(n);
    }
    reply.assign(buffer.begin() + 2, buffer.begin() + static_cast<ptrdiff_t>(framed_size()));
  }
  out.took = Clock::now() - start;
  auto answer = read_answer(reply);
  if (!answer) {
    out.error = answer.error().message;
    return out;
  }
  if (answer->id != id) {
    out.error = "the answer's id is not the query's";
    return out;
  }
  out.answered = true;
  out.rcode = answer->rcode;
  out.records = answer->records;
  return out;
}

Answer ask(NetnsThread& ns, const std::string& server, const std::string& name,
           uint16_t type = kTypeA, Transport transport = Transport::Udp) {
  return ns.run([&] { return ask_here(server, name, type, transport); });
}

// Both ends and their resolvers: dnsmasq on b (IPv4 and IPv6) and a stub on 127.0.0.53 in a.
struct DnsLab {
  TestNetwork net;
  NetnsThread a;
  Dnsmasq server;
  Dnsmasq stub;

  explicit DnsLab(const std::string& tag)
      : net((skip_unless_dns_ready(), tag)),
        a(net.a()),
        server(net.b(), {kServer4, kServer6},
               {"api.example.test,10.1.1.1,fd00:1::1", "other.test,10.2.2.2,fd00:2::2",
                "_db._tcp.example.test,10.1.1.5"}),
        stub(net.a(), {kStub}, {"stub.test,10.3.3.3", "stub-other.test,10.3.3.4"}) {
    // Up once both answer.
    REQUIRE(poll_until([&] { return ask(a, kServer4, "other.test").answered; }, 10s));
    REQUIRE(poll_until([&] { return ask(a, kServer6, "other.test").answered; }, 10s));
    REQUIRE(poll_until([&] { return ask(a, kStub, "stub.test").answered; }, 10s));
  }

  std::string tables() {
    auto listed = a.run([] { return nft_run("list tables"); });
    REQUIRE(listed);
    return *listed;
  }
  bool has_dns_table() { return tables().find("faultline_dns_") != std::string::npos; }
};

FaultRequest dns_request(const std::string& netns,
                         std::vector<std::pair<std::string, std::string>> pairs) {
  const InjectorDescriptor* d = find_injector("dns");
  REQUIRE(d != nullptr);
  pairs.emplace_back("netns", netns);
  std::vector<RawParam> raw;
  for (auto& [k, v] : pairs) raw.push_back({k, v, {"test"}, {"test"}});
  ParsedParams parsed = parse_params(d->params, raw, {"test"}, "dns");
  INFO((parsed.errors.empty() ? "" : parsed.errors.front().message));
  REQUIRE(parsed.errors.empty());
  FaultRequest r;
  r.id = "dns";
  r.kind = "dns";
  r.params = std::move(parsed.params);
  r.duration = std::chrono::seconds(30);
  r.seed = 7;
  return r;
}

std::unique_ptr<Fault> applied(const FaultRequest& request) {
  auto fault = create_fault(request);
  if (!fault) FAIL(fault.error().message);
  REQUIRE_OK((*fault)->prepare());
  REQUIRE_OK((*fault)->apply(Clock::now()));
  return std::move(*fault);
}

}  // namespace

TEST_CASE("dns: nxdomain, servfail, refused and spoof for a matching name, while others resolve",
          "[dns]") {
  DnsLab lab("dns-rcodes");
  const std::string before = lab.tables();
  struct Case {
    std::vector<std::pair<std::string, std::string>> params;
    std::string rcode;
    Strings records;
  };
  const std::vector<Case> cases = {
      {{{"action", "nxdomain"}}, "NXDOMAIN", {}},
      {{{"action", "servfail"}}, "SERVFAIL", {}},
      {{{"action", "refused"}}, "REFUSED", {}},
      {{{"action", "spoof"}, {"address", "192.0.2.7"}}, "NOERROR", {"192.0.2.7"}},
  };
  for (const Case& c : cases) {
    auto params = c.params;
    params.emplace_back("names", "*.EXAMPLE.test.");
    INFO(c.rcode << " " << fmt::format("{}", fmt::join(c.records, ",")));
    std::unique_ptr<Fault> fault = applied(dns_request(lab.net.a(), params));
    REQUIRE(lab.has_dns_table());
    const Answer hit = ask(lab.a, kServer4, "api.example.test");
    INFO(text(hit));
    CHECK(hit.answered);
    CHECK(hit.rcode == c.rcode);
    CHECK(hit.records == c.records);
    const Answer other = ask(lab.a, kServer4, "other.test");
    INFO(text(other));
    CHECK(other.rcode == "NOERROR");
    CHECK(other.records == Strings{"10.2.2.2"});
    // Counted where it happened: two queries redirected, one faulted, one forwarded.
    const nlohmann::json seen = fault->observed();
    CHECK(seen["packets_redirected"] == 2);
    CHECK(seen["queries"] == 2);
    CHECK(seen["answered_with_fault"] == 1);
    CHECK(seen["forwarded"] == 1);
    CHECK(seen["failed"] == 0);
    CHECK(fault->confirmed());
    REQUIRE_OK(fault->revert());
    CHECK(
        fault->summary().ends_with(": 2 queries (2 packets redirected): 1 got the fault, 1 "
                                   "forwarded, 0 failed"));
    CHECK(fault->undo_plan() == nlohmann::json::array());
    REQUIRE_OK(fault->revert());  // idempotent
    CHECK(lab.tables() == before);
    const Answer after = ask(lab.a, kServer4, "api.example.test");
    CHECK(after.rcode == "NOERROR");
    CHECK(after.records == Strings{"10.1.1.1"});
  }
}

TEST_CASE("dns: drop times out the matching query only, and types narrow the match", "[dns]") {
  DnsLab lab("dns-drop");
  std::unique_ptr<Fault> fault = applied(dns_request(
      lab.net.a(), {{"names", "api.example.test"}, {"action", "drop"}, {"types", "AAAA"}}));
  const Answer dropped = ask(lab.a, kServer4, "api.example.test", kTypeAaaa);
  CHECK_FALSE(dropped.answered);
  CHECK(dropped.error == "timed out");
  // Another type of the same name is not matched.
  const Answer a = ask(lab.a, kServer4, "api.example.test", kTypeA);
  CHECK(a.records == Strings{"10.1.1.1"});
  const Answer srv = ask(lab.a, kServer4, "_db._tcp.example.test", kTypeA);
  CHECK(srv.records == Strings{"10.1.1.5"});
  const nlohmann::json seen = fault->observed();
  CHECK(seen["answered_with_fault"] == 1);
  CHECK(seen["forwarded"] == 2);
  REQUIRE_OK(fault->revert());
  CHECK(ask(lab.a, kServer4, "api.example.test", kTypeAaaa).records == Strings{"fd00:1::1"});
}

TEST_CASE("dns: delay holds the matching answer back, not the others", "[dns]") {
  DnsLab lab("dns-delay");
  constexpr auto kDelay = 600ms;
  std::unique_ptr<Fault> fault = applied(dns_request(
      lab.net.a(), {{"names", "api.example.test"}, {"action", "delay"}, {"delay", "600ms"}}));
  const Answer slow = ask(lab.a, kServer4, "api.example.test");
  const Answer fast = ask(lab.a, kServer4, "other.test");
  INFO(text(slow) << " in " << to_ms(slow.took) << " ms; " << text(fast) << " in "
                  << to_ms(fast.took) << " ms");
  // The delayed answer is the resolver's own, after at least the delay.
  CHECK(slow.records == Strings{"10.1.1.1"});
  CHECK(fast.records == Strings{"10.2.2.2"});
  CHECK(slow.took >= kDelay);
  CHECK(fast.took * 3 < slow.took);
  REQUIRE_OK(fault->revert());
}

TEST_CASE("dns: IPv6 and TCP queries are caught and forwarded too", "[dns]") {
  DnsLab lab("dns-v6tcp");
  std::unique_ptr<Fault> fault = applied(dns_request(
      lab.net.a(), {{"names", "api.example.test"}, {"action", "spoof"}, {"address", "fd00::77"}}));
  for (const std::string server : {kServer4, kServer6}) {
    for (const Transport t : {Transport::Udp, Transport::Tcp}) {
      INFO(server << (t == Transport::Udp ? " udp" : " tcp"));
      const Answer six = ask(lab.a, server, "api.example.test", kTypeAaaa, t);
      INFO(text(six));
      CHECK(six.rcode == "NOERROR");
      CHECK(six.records == Strings{"fd00::77"});
      // An A question for a name spoofed with an IPv6 address: an empty answer.
      const Answer four = ask(lab.a, server, "api.example.test", kTypeA, t);
      CHECK(four.rcode == "NOERROR");
      CHECK(four.records.empty());
      const Answer other = ask(lab.a, server, "other.test", kTypeAaaa, t);
      INFO(text(other));
      CHECK(other.records == Strings{"fd00:2::2"});
    }
  }
  const nlohmann::json seen = fault->observed();
  CHECK(seen["queries"] == 12);
  CHECK(seen["answered_with_fault"] == 8);
  CHECK(seen["forwarded"] == 4);
  REQUIRE_OK(fault->revert());
  CHECK(ask(lab.a, kServer6, "api.example.test", kTypeAaaa, Transport::Tcp).records ==
        Strings{"fd00:1::1"});
}

TEST_CASE("dns: a query to a local stub on 127.0.0.53 is caught as well", "[dns]") {
  DnsLab lab("dns-stub");
  std::unique_ptr<Fault> fault =
      applied(dns_request(lab.net.a(), {{"names", "stub.test"}, {"action", "nxdomain"}}));
  CHECK(ask(lab.a, kStub, "stub.test").rcode == "NXDOMAIN");
  CHECK(ask(lab.a, kStub, "stub.test", kTypeA, Transport::Tcp).rcode == "NXDOMAIN");
  const Answer other = ask(lab.a, kStub, "stub-other.test");
  INFO(text(other));
  CHECK(other.records == Strings{"10.3.3.4"});
  // While it is applied, a scan for leftovers finds the table (with the step that deletes it).
  const auto where = NetnsHandle::open_path(lab.net.a())->location();
  REQUIRE_OK(where);
  auto orphans = find_orphans();
  REQUIRE_OK(orphans);
  int found = 0;
  for (const Orphan& o : *orphans)
    if (o.step.value("op", "") == "delete_nft_table" &&
        o.step.value("table", "").starts_with("faultline_dns_") &&
        o.step["netns"].value("inode", uint64_t{0}) == where->inode)
      ++found;
  CHECK(found == 1);
  REQUIRE_OK(fault->revert());
  CHECK(ask(lab.a, kStub, "stub.test").records == Strings{"10.3.3.3"});
}

TEST_CASE("dns: the undo plan deletes the table from another process's view", "[dns]") {
  DnsLab lab("dns-undo");
  auto fault = create_fault(
      dns_request(lab.net.a(), {{"names", "api.example.test"}, {"action", "refused"}}));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  // Before apply, the plan already names the table and where it will be.
  const nlohmann::json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "delete_nft_table");
  REQUIRE_OK((*fault)->apply(Clock::now()));
  CHECK(ask(lab.a, kServer4, "api.example.test").rcode == "REFUSED");
  CHECK(perform_undo_plan(plan).empty());
  CHECK_FALSE(lab.has_dns_table());
  // With the table gone, queries reach the resolver again, while the responder still runs.
  CHECK(ask(lab.a, kServer4, "api.example.test").records == Strings{"10.1.1.1"});
  REQUIRE_OK((*fault)->revert());
  CHECK((*fault)->summary().find("table removed by someone else") != std::string::npos);
}

TEST_CASE("dns: faultline inject SIGKILLed mid-fault: the guardian deletes the table", "[dns]") {
  DnsLab lab("dns-kill");
  // The guardian outlives faultline; as a subreaper this test inherits it and reaps it.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Defer no_longer_subreaper([] { prctl(PR_SET_CHILD_SUBREAPER, 0); });
  test::TempDir run_dir;
  ::setenv("FAULTLINE_RUN_DIR", run_dir.path().c_str(), 1);
  Defer unset([] { ::unsetenv("FAULTLINE_RUN_DIR"); });
  test::ChildProcess tool(FAULTLINE_BINARY, "faultline",
                          {"inject", "dns", "--duration", "60s", "names=api.example.test",
                           "action=nxdomain", "netns=" + lab.net.a()});
  REQUIRE(poll_until([&] { return ask(lab.a, kServer4, "api.example.test").rcode == "NXDOMAIN"; },
                     10s));
  pid_t guardian = 0;
  for (const ProcessInfo& p : scan_processes())
    if (p.ppid == tool.pid() && p.comm == "faultline-guard") guardian = p.pid;
  REQUIRE(guardian != 0);
  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  CHECK(poll_until([&] { return !lab.has_dns_table(); }, 5s));
  // Resolution works again: the responder died with faultline, and nothing redirects to it.
  const Answer after = ask(lab.a, kServer4, "api.example.test");
  INFO(text(after));
  CHECK(after.records == Strings{"10.1.1.1"});
  CHECK(poll_until([&] { return waitpid(guardian, nullptr, WNOHANG) == guardian; }, 5s));
}
