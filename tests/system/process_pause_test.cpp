// process_pause: stopped while the fault is on, always resumed.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::ChildProcess;

namespace {
FaultRequest pause_request(ProcessSelector selector, const std::string& method) {
  FaultRequest r;
  r.id = "pause";
  r.kind = "process_pause";
  r.selector = std::move(selector);
  Count one;
  r.params.set("count", one);
  r.params.set("method", method);
  r.duration = std::chrono::seconds(5);
  r.max_processes = 5;
  return r;
}

bool frozen(const std::string& dir) {
  std::ifstream events(dir + "/cgroup.events");
  std::string key, value;
  while (events >> key >> value)
    if (key == "frozen") return value == "1";
  return false;
}
}  // namespace

TEST_CASE("process_pause stops the process with SIGSTOP and resumes it on revert") {
  ChildProcess child("/bin/sleep", "fl-test-pause", {"1000"});
  ProcessSelector s;
  s.name = "fl-test-pause";
  auto fault = create_fault(pause_request(s, "signal"));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->apply(Clock::now()));
  CHECK(child.state() == 'T');
  CHECK((*fault)->confirmed());
  REQUIRE_OK((*fault)->revert());
  CHECK(child.state() != 'T');
  const nlohmann::json observed = (*fault)->observed();
  CHECK(observed["processes"][0]["pid"] == child.pid());
  CHECK(observed["processes"][0]["stopped"] == true);
  CHECK(observed["processes"][0]["resumed"] == true);
  // Idempotent: a second revert changes nothing and succeeds.
  REQUIRE_OK((*fault)->revert());
}

TEST_CASE("process_pause resumes the process when the fault is destroyed without a revert") {
  ChildProcess child("/bin/sleep", "fl-test-pause-d", {"1000"});
  ProcessSelector s;
  s.name = "fl-test-pause-d";
  {
    auto fault = create_fault(pause_request(s, "signal"));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK(child.state() == 'T');
  }
  CHECK(child.state() != 'T');
}

TEST_CASE("process_pause with the freezer freezes and thaws a whole cgroup") {
  faultline::test::skip_unless_root("it creates a cgroup");
  auto mount = cgroup2_mount();
  if (!mount) {
    std::printf("SKIPPED: cgroup v2 is not mounted\n");
    std::_Exit(77);
  }
  const std::string name = "/fl-test-freezer-" + std::to_string(getpid());
  const std::string dir = *mount + name;
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  {
    ChildProcess child("/bin/sleep", "fl-test-frozen", {"1000"});
    REQUIRE(write_cgroup_file(dir + "/cgroup.procs", std::to_string(child.pid())));
    ProcessSelector s;
    s.cgroup = name;
    auto fault = create_fault(pause_request(s, "freezer"));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->apply(Clock::now()));
    CHECK(frozen(dir));
    CHECK((*fault)->confirmed());
    REQUIRE_OK((*fault)->revert());
    CHECK_FALSE(frozen(dir));
    CHECK((*fault)->observed()["thawed"] == true);
  }
  // The child is killed and reaped by now; the cgroup can go.
  for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  struct stat st {};
  CHECK(stat(dir.c_str(), &st) != 0);
}

TEST_CASE("the freezer is refused for a cgroup narrowed by other keys: it would pause them all") {
  ProcessSelector s;
  s.cgroup = "/system.slice";
  s.name = "fl-test-nothing";
  auto fault = create_fault(pause_request(s, "freezer"));
  REQUIRE_FALSE(fault);
  CHECK(fault.error().message ==
        "method freezer pauses every process of the cgroup: select it with 'cgroup' alone");
}

TEST_CASE("the freezer is refused for a target selected without a cgroup") {
  ProcessSelector s;
  s.name = "fl-test-nothing";
  auto fault = create_fault(pause_request(s, "freezer"));
  REQUIRE_FALSE(fault);
  CHECK(fault.error().message ==
        "method freezer pauses a whole cgroup: select the target with 'cgroup'");
}
