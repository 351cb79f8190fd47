// The scenario's blast_radius.protected on the wire (ApplyRequest.protected_processes): what the
// controller encodes reads back the same, and the agent refuses a list it must not take, each
// with an exact message.
#include <catch2/catch.hpp>

#include "agent/wire/wire.h"

using namespace faultline;
namespace v1 = faultline::agent::v1;

namespace {

ProcessSelector selector(std::string_view key, std::string value) {
  ProcessSelector s;
  REQUIRE(s.set(key, std::move(value)));
  return s;
}

std::string error_of(const v1::ApplyRequest& r) {
  auto decoded = wire::decode_protected(r);
  REQUIRE_FALSE(decoded);
  return decoded.error().message;
}

}  // namespace

TEST_CASE("protected selectors read back as they were encoded, in order", "[agent-wire]") {
  ProcessSelector both = selector("name", "postgres");
  both.set("cmdline", "--data /srv/[a-z]+");
  const std::vector<ProcessSelector> given = {both, selector("pidfile", "/run/nginx.pid"),
                                              selector("parent_pidfile", "/run/app.pid"),
                                              selector("cgroup", "/system.slice/backup.service")};
  v1::ApplyRequest request;
  wire::encode_protected(given, request);
  REQUIRE(request.protected_processes_size() == 4);
  CHECK(request.protected_processes(0).name() == "postgres");
  CHECK(request.protected_processes(0).cmdline() == "--data /srv/[a-z]+");
  CHECK(request.protected_processes(1).pidfile() == "/run/nginx.pid");

  // Through the bytes, as the agent receives it.
  v1::ApplyRequest received;
  REQUIRE(received.ParseFromString(request.SerializeAsString()));
  auto back = wire::decode_protected(received);
  REQUIRE(back);
  std::vector<std::string> described;
  for (const ProcessSelector& s : *back) described.push_back(s.describe());
  CHECK(described == std::vector<std::string>{
                         "name='postgres' cmdline='--data /srv/[a-z]+'", "pidfile='/run/nginx.pid'",
                         "parent_pidfile='/run/app.pid'", "cgroup='/system.slice/backup.service'"});

  // None is none: an older controller that does not send the field protects nothing extra.
  auto none = wire::decode_protected(v1::ApplyRequest{});
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("the agent refuses protected selectors beyond its limits, naming the one",
          "[agent-wire]") {
  v1::ApplyRequest request;
  SECTION("too many") {
    wire::encode_protected(
        std::vector<ProcessSelector>(kMaxProtectedSelectors + 1, selector("name", "x")), request);
    CHECK(error_of(request) == "protected_processes has 65 selectors; at most 64 are taken");
  }
  SECTION("exactly the most is taken") {
    wire::encode_protected(
        std::vector<ProcessSelector>(kMaxProtectedSelectors, selector("name", "x")), request);
    auto decoded = wire::decode_protected(request);
    REQUIRE(decoded);
    CHECK(decoded->size() == 64);
  }
  SECTION("an empty one") {
    wire::encode_protected({selector("name", "x"), ProcessSelector{}}, request);
    CHECK(error_of(request) == "protected_processes[1] selects nothing");
  }
  SECTION("a name longer than a file name") {
    wire::encode_protected({selector("name", std::string(256, 'n'))}, request);
    CHECK(error_of(request) == "protected_processes[0].name is longer than 255 characters");
  }
  SECTION("a long regex") {
    wire::encode_protected({selector("cmdline", std::string(1025, '('))}, request);
    CHECK(error_of(request) == "protected_processes[0].cmdline is longer than 1024 characters");
  }
  SECTION("a long path") {
    wire::encode_protected({selector("pidfile", "/" + std::string(4096, 'p'))}, request);
    CHECK(error_of(request) == "protected_processes[0].pidfile is longer than 4096 characters");
  }
  SECTION("a regex that does not compile") {
    wire::encode_protected({selector("name", "a"), selector("cmdline", "worker[")}, request);
    CHECK_THAT(error_of(request),
               Catch::StartsWith("protected_processes[1]: cmdline regex 'worker[' is not valid: "));
  }
  SECTION("a relative cgroup") {
    wire::encode_protected({selector("cgroup", "system.slice")}, request);
    CHECK(error_of(request) ==
          "protected_processes[0]: cgroup 'system.slice' must be an absolute cgroup v2 path such "
          "as /system.slice/x.service");
  }
}
