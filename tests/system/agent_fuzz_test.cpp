// faultline-agent against malformed and random requests: every one gets an error status, never a
// crash or a hang, and the agent keeps serving with nothing left applied.
//
// These run against a real agent as root, so no random request may harm the host. Two fences:
// the agent's policy allows only process_pause and protects every process whose command line
// does not start with "fl-test-fuzz-target" (so a selector as broad as ".*" can reach only the
// test's own child), and every random request is built invalid on purpose (a "poison": a bad
// owner, an unknown kind, a selector that matches nothing...) so that none can succeed. Requests
// meant to succeed are separate, built from known-good parts aimed at the child, and each is
// reverted at once. At the end, no process on the host may be stopped that was not before.
//
// Random sequences come from a fixed-seed std::mt19937_64; the seed is printed, and
// FL_FUZZ_SEED=N replays another.
#include <agent.grpc.pb.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <future>
#include <random>
#include <set>

#include "agent/wire/wire.h"
#include "core/user_regex.h"
#include "injectors/process/proc.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;
namespace v1 = faultline::agent::v1;

namespace {

constexpr const char* kTarget = "fl-test-fuzz-target";

// A pattern for every command line that is not `prefix` as the first word: the complement of
// "^prefix( |$)", written out because patterns have no look-ahead (core/user_regex.h). Either
// the text leaves the prefix at some character, or it is the prefix followed by something other
// than a space, or it ends before the prefix does.
std::string not_first_word(const std::string& prefix) {
  std::string alternatives;
  std::string shorter = "(?:";
  for (size_t i = 0; i < prefix.size(); ++i) {
    alternatives += prefix.substr(0, i) + "[^" + prefix[i] + "]|";
    shorter += (i ? "|" : "") + prefix.substr(0, i);
  }
  return "^(?:" + alternatives + prefix + "[^ ]|" + shorter + ")$)";
}

// The agent may pause nothing but the test's child: everything else is protected.
const std::string kFuzzConfig =
    "plaintext: true\n"
    "lease: {default: 2s, max: 5s}\n"
    "policy:\n"
    "  allowed_kinds: [process_pause]\n"
    "  protected_processes: [{cmdline: '" + not_first_word(kTarget) + "'}]\n"
    "  max_duration: 20s\n"
    "  max_faults: 4\n";

uint64_t fuzz_seed(uint64_t fallback) {
  if (const char* s = std::getenv("FL_FUZZ_SEED")) return std::strtoull(s, nullptr, 0);
  return fallback;
}

// Processes stopped (state T) on this host now.
std::set<pid_t> stopped_processes() {
  std::set<pid_t> out;
  for (const ProcessInfo& p : scan_processes())
    if (p.state == 'T') out.insert(p.pid);
  return out;
}

std::unique_ptr<v1::Agent::Stub> stub_for(const AgentProcess& agent) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 * wire::kMaxMessageBytes);
  return v1::Agent::NewStub(
      grpc::CreateCustomChannel(agent.address(), grpc::InsecureChannelCredentials(), args));
}

template <typename Call>
grpc::Status call_with_deadline(Call&& call, Duration timeout = 5s) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
  return call(ctx);
}

bool describe_ok(v1::Agent::Stub& stub, v1::DescribeReply* out = nullptr) {
  v1::DescribeReply reply;
  const grpc::Status s =
      call_with_deadline([&](grpc::ClientContext& ctx) { return stub.Describe(&ctx, {}, &reply); });
  if (out) *out = reply;
  return s.ok();
}

bool allowed_error(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::NOT_FOUND:
      return true;
    default:
      return false;
  }
}

bool utf8(const std::string& s) {
  return wire::valid_utf8(s) == s;
}

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t next() { return rng_(); }
  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool chance(size_t one_in) { return below(one_in) == 0; }
  template <typename T>
  T pick(const std::vector<T>& options) {
    return options[below(options.size())];
  }
  std::string bytes(size_t max_len) {
    std::string s(below(max_len + 1), '\0');
    for (char& c : s) c = static_cast<char>(below(256));
    return s;
  }
  // Printable ASCII and a few multi-byte characters: always valid UTF-8.
  std::string text(size_t max_len) {
    static const std::vector<std::string> kUnicode = {"é", "ü", "∞", "日本", "🙂", "\u200b"};
    std::string s;
    const size_t n = below(max_len + 1);
    while (s.size() < n) s += chance(8) ? pick(kUnicode) : std::string(1, char(32 + below(95)));
    return s;
  }
  uint64_t number() {
    switch (below(6)) {
      case 0:
        return 0;
      case 1:
        return below(100);
      case 2:
        return below(100'000);
      case 3:
        return UINT64_MAX - below(3);
      case 4:
        return uint64_t{1} << below(64);
      default:
        return next();
    }
  }

 private:
  std::mt19937_64 rng_;
};

// What a random request is sure to be refused for.
enum class Poison {
  Owner,
  FaultId,
  UnknownKind,
  DisallowedKind,
  UnknownParam,
  BadParamValue,
  TooManyParams,
  BadRegex,
  DurationTooLong,
  NoDuration,
  MatchesNothing,
  NoSelector,
  RelativeCgroup,
  kCount
};

// clang-format off
const std::vector<std::string> kBadIds = {
    "", std::string(129, 'o'), "run 1", "run/1", "ünïcode", "%", "../etc", "a\nb", "a\tb", "*",
    "$(id)", "a'b", "100%", "🙂", "run,1", "a=b", "{}", "\\x00", "a b c", "null\x01", "-\x7f"};
const std::vector<std::string> kBadKinds = {
    "", "process_kil", "PROCESS_PAUSE", "rm -rf /", "process_pause ", "process-pause", "pause",
    "🙂", std::string(1000, 'k'), "network\n"};
const std::vector<std::string> kOtherKinds = {
    "process_kill", "cpu_stress", "network", "bandwidth", "network_partition"};
const std::vector<std::string> kBadCounts = {
    "", "-1", "99999999999999999999", "%", "150%", "0x10", "1e9", "∞", "1.5", " 1", "all all",
    "-0%", "1%%", "100000001", "NaN", "１", "1 ", "-9223372036854775808", "18446744073709551616"};
const std::vector<std::string> kBadMethods = {
    "", "sigstop", "Signal", "freezer ", "freezer,signal", "🙂"};
// Each refused when a selector is compiled (RE2's syntax: no back-references, no look-around,
// repetitions of at most 1000).
const std::vector<std::string> kBadRegexes = {
    "(", "[", "*", "a{2,1}", "(?<n>x)", "\\", "x{99999999}", "(a{1000}){1000}", "[z-a]", "+",
    "(?", "(()", "(?=x)", "[[:nope:]]", "(a)\\1"};
// Valid regexes, some catastrophic for a backtracking matcher.
const std::vector<std::string> kRegexes = {
    "(a+)+$", ".*", ".", "^$", "(a|aa)*b", "(x+x+)+y", "sleep", "\\d", "(.*)*!", "[^\\s]+",
    "fl-test-", "a{,"};  // RE2 reads "a{," as the three characters
const std::vector<std::string> kNames = {
    "sleep", kTarget, "", "init", "systemd", "sshd", "faultline-agent", "bash", "🙂"};
// clang-format on

TEST_CASE("the fuzz agent's policy protects every process but the target", "[agent][fuzz]") {
  const auto re = UserRegex::compile(not_first_word(kTarget));
  REQUIRE_OK(re);
  for (const char* other : {"", "sleep 1000", "fl-test-fuzz-target2 1000", "fl-test-fuzz-targe",
                            "fl-test-fuzz", "fl-test-fuzz-target-x", "/bin/fl-test-fuzz-target",
                            "xfl-test-fuzz-target"}) {
    INFO(other);
    CHECK(re->search(other));
  }
  CHECK_FALSE(re->search("fl-test-fuzz-target"));
  CHECK_FALSE(re->search("fl-test-fuzz-target 1000"));
}

// What a failure message shows of a request (lite messages have no DebugString).
std::string summary(const v1::ApplyRequest& r) {
  std::string out = fmt::format("owner '{}' fault_id '{}' kind '{}' duration_ms {} lease_ms {}",
                                r.owner(), r.fault_id(), r.kind(), r.duration_ms(), r.lease_ms());
  for (const auto& [k, v] : r.params()) out += fmt::format(" {}='{}'", k, v);
  if (r.has_selector())
    out += fmt::format(" selector name '{}' cmdline '{}'", r.selector().name(),
                       r.selector().cmdline());
  out += fmt::format(" protected {}", r.protected_processes_size());
  return out;
}

// An ApplyRequest that would pause the test's child, for a fault id of its own.
v1::ApplyRequest good_request(const std::string& owner, const std::string& id) {
  v1::ApplyRequest r;
  r.set_owner(owner);
  r.set_fault_id(id);
  r.set_kind("process_pause");
  (*r.mutable_params())["count"] = "1";
  r.mutable_selector()->set_name(kTarget);
  r.set_duration_ms(5'000);
  r.set_lease_ms(3'000);
  r.set_max_processes(1);
  return r;
}

struct Fuzzer {
  Random& rnd;
  const TempDir& dir;
  pid_t child;

  std::string some_text() {
    switch (rnd.below(4)) {
      case 0:
        return rnd.text(16);
      case 1:
        return rnd.text(300);
      case 2:
        return std::string(rnd.below(20'000), 'x');
      default:
        return rnd.pick(kNames);
    }
  }

  std::string some_path() {
    switch (rnd.below(6)) {
      case 0:
        return dir.file("missing.pid");
      case 1:
        return dir.file("garbage.pid");
      case 2:
        return dir.file("child.pid");
      case 3:
        return "relative.pid";
      case 4:
        return "/" + rnd.text(50);
      default:
        return rnd.text(40);
    }
  }

  // Fills the fields no poison is about with random values; what is left of the good request
  // is still good.
  void noise(v1::ApplyRequest& r) {
    if (rnd.chance(2)) r.set_lease_ms(rnd.number());
    if (rnd.chance(2)) r.set_seed(rnd.next());
    if (rnd.chance(2)) r.set_max_processes(static_cast<int64_t>(rnd.next()));
    if (rnd.chance(3)) (*r.mutable_params())["count"] = rnd.pick<std::string>({"1", "all", "100%"});
  }

  v1::ApplyRequest poisoned(size_t i, Poison poison) {
    v1::ApplyRequest r = good_request(rnd.pick<std::string>({"fuzz-a", "fuzz-b", "f.u_z:z-c"}),
                                      "f-" + std::to_string(i));
    noise(r);
    auto* sel = r.mutable_selector();
    auto& params = *r.mutable_params();
    switch (poison) {
      case Poison::Owner:
        r.set_owner(rnd.chance(3) ? rnd.text(200) + " " : rnd.pick(kBadIds));
        break;
      case Poison::FaultId:
        r.set_fault_id(rnd.chance(3) ? "/" + rnd.text(200) : rnd.pick(kBadIds));
        break;
      case Poison::UnknownKind:
        r.set_kind(rnd.chance(3) ? "x" + rnd.text(100) : rnd.pick(kBadKinds));
        break;
      case Poison::DisallowedKind:
        r.set_kind(rnd.pick(kOtherKinds));
        for (size_t n = rnd.below(4); n > 0; --n)
          params[rnd.pick<std::string>({"load", "delay", "loss", "rate", "interface", "signal",
                                        "netns", "peers", "cpus"})] = some_text();
        break;
      case Poison::UnknownParam:
        params[rnd.chance(2)
                   ? rnd.text(64) + "?"
                   : rnd.pick<std::string>({"", "Count", "signal", "%", "🙂", "count "})] =
            some_text();
        break;
      case Poison::BadParamValue:
        if (rnd.chance(3))
          params["method"] = rnd.pick(kBadMethods);
        else
          params["count"] =
              rnd.chance(4) ? std::string(rnd.below(5000) + 1, '9') : rnd.pick(kBadCounts);
        break;
      case Poison::TooManyParams:
        for (size_t n = 65 + rnd.below(100); n > 0; --n)
          params["p" + std::to_string(n)] = rnd.text(10);
        break;
      case Poison::BadRegex:
        sel->set_cmdline(rnd.pick(kBadRegexes));
        break;
      case Poison::DurationTooLong:
        r.set_duration_ms(rnd.pick<uint64_t>(
            {20'001, 60'000, 365ULL * 24 * 3600 * 1000 + 1, UINT64_MAX, uint64_t{1} << 63}));
        break;
      case Poison::NoDuration:
        r.set_duration_ms(0);
        break;
      case Poison::MatchesNothing:
        // No cgroup has this name: every process is looked at (name, then the regex over its
        // command line) and none is chosen.
        sel->set_cgroup("/fl-test-nomatch-" + std::to_string(rnd.below(1000)));
        if (rnd.chance(2)) sel->set_name(rnd.pick(kNames));
        if (rnd.chance(2)) sel->clear_name();
        if (rnd.chance(2)) sel->set_cmdline(rnd.pick(kRegexes));
        if (rnd.chance(3)) sel->set_pidfile(some_path());
        if (rnd.chance(3)) sel->set_parent_pidfile(some_path());
        if (rnd.chance(4)) params["method"] = "freezer";
        break;
      case Poison::NoSelector:
        r.clear_selector();
        break;
      case Poison::RelativeCgroup:
        sel->set_cgroup(rnd.pick<std::string>({"system.slice", "", "..", "user.slice/x"}) +
                        rnd.text(5));
        if (sel->cgroup().empty() || sel->cgroup().front() == '/') sel->set_cgroup("rel");
        break;
      case Poison::kCount:
        break;
    }
    // Now and then, bytes that are not UTF-8 in a string field: protobuf refuses to parse
    // them, so the agent's code never sees the request.
    if (rnd.chance(25)) {
      std::string junk = rnd.bytes(40) + "\xff";
      switch (rnd.below(4)) {
        case 0:
          r.set_owner(junk);
          break;
        case 1:
          r.set_fault_id(junk);
          break;
        case 2:
          sel->set_name(junk);
          break;
        default:
          params[junk] = "1";
          break;
      }
    }
    return r;
  }

  bool has_non_utf8(const v1::ApplyRequest& r) {
    if (!utf8(r.owner()) || !utf8(r.fault_id()) || !utf8(r.kind())) return true;
    for (const auto& [k, v] : r.params())
      if (!utf8(k) || !utf8(v)) return true;
    const auto& s = r.selector();
    for (const std::string* f :
         {&s.name(), &s.cmdline(), &s.pidfile(), &s.parent_pidfile(), &s.cgroup()})
      if (!utf8(*f)) return true;
    return false;
  }

  // A request that must work: the child, selected one of several ways the policy narrows to it.
  v1::ApplyRequest well_formed(size_t i) {
    v1::ApplyRequest r = good_request("fuzz-ok", "ok-" + std::to_string(i));
    auto* sel = r.mutable_selector();
    switch (rnd.below(4)) {
      case 0:
        break;
      case 1:
        sel->clear_name();
        sel->set_cmdline("^fl-test-fuzz-target");
        break;
      case 2:
        sel->clear_name();
        sel->set_pidfile(dir.file("child.pid"));
        break;
      default:
        // Matches every process; the policy protects all but the child.
        sel->clear_name();
        sel->set_cmdline(".");
        (*r.mutable_params())["count"] = "all";
        r.set_max_processes(0);
        break;
    }
    r.set_duration_ms(1'000 + rnd.below(19'000));
    r.set_lease_ms(rnd.below(6'000));
    r.set_seed(rnd.next());
    return r;
  }
};

}  // namespace

TEST_CASE("random apply requests are refused with an error status, and valid ones work",
          "[agent][fuzz]") {
  skip_unless_root("the agent pauses processes");
  const uint64_t seed = fuzz_seed(0xFA17'11E5);
  std::printf("agent apply fuzz seed: %llu (FL_FUZZ_SEED=%llu replays it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  TempDir dir;
  AgentProcess agent(dir, "fuzz-1", kFuzzConfig);
  REQUIRE_OK(agent.start());
  ChildProcess child("/bin/sleep", kTarget, {"1000"});
  write_text(dir.file("child.pid"), std::to_string(child.pid()) + "\n");
  write_text(dir.file("garbage.pid"), "99999999999999999999\n-1\n");
  const std::set<pid_t> stopped_before = stopped_processes();
  auto stub = stub_for(agent);
  REQUIRE(describe_ok(*stub));

  Random rnd(seed);
  Fuzzer fuzz{rnd, dir, child.pid()};
  constexpr size_t kRequests = 3000;
  std::map<grpc::StatusCode, size_t> codes;
  size_t good = 0;
  const TimePoint start = Clock::now();
  for (size_t i = 0; i < kRequests; ++i) {
    v1::FaultStatus reply;
    if (i % 50 == 25) {
      const v1::ApplyRequest r = fuzz.well_formed(i);
      const grpc::Status s = call_with_deadline(
          [&](grpc::ClientContext& ctx) { return stub->Apply(&ctx, r, &reply); });
      INFO("request " << i << ": " << summary(r));
      INFO("status " << s.error_code() << ": " << s.error_message());
      REQUIRE(s.ok());
      CHECK(reply.active());
      CHECK(reply.confirmed());
      CHECK(child.state() == 'T');
      v1::RevertRequest revert;
      revert.set_owner("fuzz-ok");
      revert.set_fault_id(r.fault_id());
      v1::FaultList reverted;
      REQUIRE(call_with_deadline([&](grpc::ClientContext& ctx) {
                return stub->Revert(&ctx, revert, &reverted);
              }).ok());
      REQUIRE(reverted.faults_size() == 1);
      CHECK(reverted.faults(0).ended_by() == "controller");
      CHECK(child.state() != 'T');
      ++good;
      continue;
    }
    const auto poison = static_cast<Poison>(rnd.below(static_cast<size_t>(Poison::kCount)));
    const v1::ApplyRequest r = fuzz.poisoned(i, poison);
    const grpc::Status s =
        call_with_deadline([&](grpc::ClientContext& ctx) { return stub->Apply(&ctx, r, &reply); });
    ++codes[s.error_code()];
    INFO("request " << i << " (poison " << static_cast<int>(poison)
                    << "): " << summary(r).substr(0, 2000));
    INFO("status " << s.error_code() << ": " << s.error_message().substr(0, 500));
    if (s.ok()) {
      // Must not happen; undo it before failing.
      v1::RevertRequest revert;
      revert.set_owner(r.owner());
      v1::FaultList ignored;
      (void)call_with_deadline(
          [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, revert, &ignored); });
      FAIL("a request built to be refused was applied");
    }
    if (fuzz.has_non_utf8(r)) {
      // Refused by protobuf before the agent's code: gRPC's own answer to an unparsable body.
      CHECK(s.error_code() == grpc::StatusCode::INTERNAL);
    } else {
      CHECK(allowed_error(s.error_code()));
      CHECK_FALSE(s.error_message().empty());
      CHECK(s.error_message().size() <= 8192);
    }
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      INFO(agent.log().substr(agent.log().size() > 4000 ? agent.log().size() - 4000 : 0));
      FAIL("the agent stopped answering");
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%zu apply requests (%zu well-formed) in %.1f s;", kRequests, good, seconds);
  for (const auto& [code, n] : codes) std::printf(" code %d: %zu", static_cast<int>(code), n);
  std::printf("\n");

  v1::DescribeReply d;
  REQUIRE(describe_ok(*stub, &d));
  CHECK(d.active_faults() == 0);
  v1::FaultList all;
  REQUIRE(call_with_deadline([&](grpc::ClientContext& ctx) {
            return stub->List(&ctx, v1::ListRequest{}, &all);
          }).ok());
  // Only the well-formed faults were ever applied, and all of them are over.
  CHECK(all.faults_size() == static_cast<int>(good));
  for (const v1::FaultStatus& f : all.faults()) {
    CHECK(f.owner() == "fuzz-ok");
    CHECK_FALSE(f.active());
  }
  CHECK(child.state() != 'T');
  CHECK(stopped_processes() == stopped_before);
  CHECK(agent.log().find("event=rpc_exception") == std::string::npos);
  CHECK(agent.stop() == 0);
}

TEST_CASE("random bytes as the body of every method get an error, and the agent lives",
          "[agent][fuzz]") {
  skip_unless_root("the agent runs as root");
  const uint64_t seed = fuzz_seed(0xB17E5);
  std::printf("agent raw-bytes fuzz seed: %llu\n", static_cast<unsigned long long>(seed));
  TempDir dir;
  AgentProcess agent(dir, "fuzz-2", kFuzzConfig);
  REQUIRE_OK(agent.start());
  const std::set<pid_t> stopped_before = stopped_processes();
  auto channel = grpc::CreateChannel(agent.address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  auto raw_call = [&](const std::string& method, const std::string& body, grpc::ByteBuffer* out) {
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, out,
                      [&](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  };

  Random rnd(seed);
  const std::vector<std::string> methods = {"Describe", "Apply", "Renew",
                                            "Revert",   "List",  "RunProbe"};
  std::map<std::pair<std::string, int>, size_t> seen;
  for (int i = 0; i < 3000; ++i) {
    const std::string& method = methods[static_cast<size_t>(i) % methods.size()];
    std::string body;
    switch (rnd.below(4)) {
      case 0:
        body = rnd.bytes(8);
        break;
      case 1:
        body = rnd.bytes(300);
        break;
      case 2: {
        // Plausible framing: a tag, a length, then junk, so that some parse half-way.
        for (size_t n = rnd.below(6); n > 0; --n) {
          body += static_cast<char>((rnd.below(10) << 3) | rnd.below(6));
          body += static_cast<char>(rnd.below(40));
          body += rnd.bytes(30);
        }
        break;
      }
      default:
        body = rnd.bytes(3000);
        break;
    }
    grpc::ByteBuffer reply;
    const grpc::Status s = raw_call("/faultline.agent.v1.Agent/" + method, body, &reply);
    ++seen[{method, static_cast<int>(s.error_code())}];
    INFO(method << " #" << i << ": status " << s.error_code() << " " << s.error_message());
    // OK only where random bytes happen to be a request the agent may grant: Describe, or a
    // List, Renew or Revert of an owner that has no faults.
    if (s.ok()) {
      CHECK((method == "Describe" || method == "List" || method == "Renew" || method == "Revert"));
    } else {
      // gRPC answers a body that is not a valid message with INTERNAL before the agent sees it.
      CHECK((allowed_error(s.error_code()) || s.error_code() == grpc::StatusCode::INTERNAL));
      CHECK(s.error_code() != grpc::StatusCode::UNAVAILABLE);
    }
  }
  for (const auto& [k, n] : seen) std::printf(" %s/%d: %zu", k.first.c_str(), k.second, n);
  std::printf("\n");

  // A body over the agent's limit, and a method it does not have.
  grpc::ByteBuffer reply;
  const grpc::Status big = raw_call("/faultline.agent.v1.Agent/Apply",
                                    std::string(wire::kMaxMessageBytes + 1, 'x'), &reply);
  CHECK(big.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  const grpc::Status unknown = raw_call("/faultline.agent.v1.Agent/Nope", "", &reply);
  CHECK(unknown.error_code() == grpc::StatusCode::UNIMPLEMENTED);

  auto stub = stub_for(agent);
  v1::DescribeReply d;
  REQUIRE(describe_ok(*stub, &d));
  CHECK(d.active_faults() == 0);
  CHECK(stopped_processes() == stopped_before);
  CHECK(agent.log().find("event=rpc_exception") == std::string::npos);
  CHECK(agent.stop() == 0);
}

TEST_CASE("renew, revert and list refuse invalid owners and ids with exact messages",
          "[agent][fuzz]") {
  skip_unless_root("the agent runs as root");
  TempDir dir;
  AgentProcess agent(dir, "fuzz-3", kFuzzConfig);
  REQUIRE_OK(agent.start());
  auto stub = stub_for(agent);
  for (const std::string& owner : kBadIds) {
    if (owner.empty()) continue;  // List and Revert of "" mean something else; below
    INFO("owner '" << owner << "'");
    v1::RenewRequest renew;
    renew.set_owner(owner);
    renew.set_lease_ms(UINT64_MAX);
    v1::RenewReply renewed;
    grpc::Status s = call_with_deadline(
        [&](grpc::ClientContext& ctx) { return stub->Renew(&ctx, renew, &renewed); });
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == "owner must be a valid id");

    v1::RevertRequest revert;
    revert.set_owner(owner);
    v1::FaultList list;
    s = call_with_deadline(
        [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, revert, &list); });
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == "owner must be a valid id");

    v1::ListRequest by_owner;
    by_owner.set_owner(owner);
    s = call_with_deadline(
        [&](grpc::ClientContext& ctx) { return stub->List(&ctx, by_owner, &list); });
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == "owner must be a valid id");

    v1::RevertRequest one;
    one.set_owner("run-1");
    one.set_fault_id(owner);
    s = call_with_deadline(
        [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, one, &list); });
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == "fault_id must be a valid id");
  }
  v1::RenewRequest empty_renew;
  v1::RenewReply renewed;
  grpc::Status s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->Renew(&ctx, empty_renew, &renewed); });
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "owner must be a valid id");
  v1::RevertRequest empty_revert;
  v1::FaultList list;
  s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, empty_revert, &list); });
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "owner must be a valid id");

  // Valid, but nothing there: reverting all of an unknown owner is a no-op, one fault is NOT_FOUND.
  v1::RevertRequest nobody;
  nobody.set_owner("nobody");
  s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, nobody, &list); });
  CHECK(s.ok());
  CHECK(list.faults_size() == 0);
  nobody.set_fault_id("f-1");
  s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->Revert(&ctx, nobody, &list); });
  CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(s.error_message() == "no fault 'f-1' of owner 'nobody'");
  v1::RenewRequest nobody_renew;
  nobody_renew.set_owner("nobody");
  s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->Renew(&ctx, nobody_renew, &renewed); });
  CHECK(s.ok());
  CHECK(renewed.renewed() == 0);
  CHECK(renewed.ended_size() == 0);
  v1::ListRequest everyone;
  s = call_with_deadline(
      [&](grpc::ClientContext& ctx) { return stub->List(&ctx, everyone, &list); });
  CHECK(s.ok());
  CHECK(describe_ok(*stub));
  CHECK(agent.stop() == 0);
}

TEST_CASE("selectors that once crashed or hung the agent are refused quickly", "[agent][fuzz]") {
  skip_unless_root("the agent runs as root");
  TempDir dir;
  AgentProcess agent(dir, "fuzz-4", kFuzzConfig);
  REQUIRE_OK(agent.start());
  auto stub = stub_for(agent);
  auto apply = [&](const v1::ApplyRequest& r) {
    v1::FaultStatus reply;
    return call_with_deadline(
        [&](grpc::ClientContext& ctx) { return stub->Apply(&ctx, r, &reply); }, 10s);
  };

  {  // a deeply nested cmdline regex (std::regex compiles it recursively)
    v1::ApplyRequest r = good_request("run-1", "deep");
    r.mutable_selector()->set_cmdline(std::string(30'000, '(') + "x" + std::string(30'000, ')'));
    const grpc::Status s = apply(r);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == "selector.cmdline is longer than 1024 characters");
  }
  {  // a pid file that never ends (/dev/zero) or never answers (a FIFO)
    REQUIRE(mkfifo(dir.file("fifo.pid").c_str(), 0600) == 0);
    for (const std::string& path : {std::string("/dev/zero"), dir.file("fifo.pid")}) {
      v1::ApplyRequest r = good_request("run-1", "pidfile");
      r.mutable_selector()->set_pidfile(path);
      const grpc::Status s = apply(r);
      CHECK(s.error_code() == grpc::StatusCode::ABORTED);
      CHECK(s.error_message() ==
            fmt::format("name='{}' pidfile='{}' matches no running process", kTarget, path));
      r.mutable_selector()->clear_pidfile();
      r.mutable_selector()->set_parent_pidfile(path);
      CHECK(apply(r).error_code() == grpc::StatusCode::ABORTED);
    }
  }
  {  // an error that quotes a huge value still reaches the client
    // Quoted whole, the message would pass gRPC's metadata limit: the client would get
    // RESOURCE_EXHAUSTED instead of the reason.
    v1::ApplyRequest r = good_request("run-1", "huge");
    (*r.mutable_params())["count"] = std::string(20'000, '9');
    const grpc::Status s = apply(r);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(
        s.error_message().starts_with("count must be a number from 1 to 100000, 'all' or a "
                                      "share such as 50% (got '99999"));
    CHECK(s.error_message().ends_with("9999 [... 18030 more bytes]"));
    CHECK(s.error_message().size() == 2048 + std::string_view(" [... 18030 more bytes]").size());
  }
  {  // a catastrophic regex against a command line made to trip it
    // 2^40 steps for a backtracking matcher: a hang, with the agent's lock held.
    ChildProcess bait("/bin/sleep", "fl-test-fuzz-" + std::string(40, 'a') + "!", {"1000"});
    v1::ApplyRequest r = good_request("run-1", "catastrophic");
    r.mutable_selector()->clear_name();
    r.mutable_selector()->set_cmdline("(a+)+$");
    r.mutable_selector()->set_cgroup("/fl-test-nomatch");
    const TimePoint start = Clock::now();
    const grpc::Status s = apply(r);
    CHECK(s.error_code() == grpc::StatusCode::ABORTED);
    CHECK(s.error_message() ==
          "cmdline='(a+)+$' cgroup='/fl-test-nomatch' matches no running process");
    CHECK(Clock::now() - start < 5s);
    CHECK(bait.state() != 'T');
  }
  v1::DescribeReply d;
  REQUIRE(describe_ok(*stub, &d));
  CHECK(d.active_faults() == 0);
  CHECK(agent.stop() == 0);
}
