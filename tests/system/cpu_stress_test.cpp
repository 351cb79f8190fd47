// cpu_stress: the requested load is reached (measured from /proc), the workers are confined to
// a cgroup of their own, and nothing survives the fault or the tool.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;

namespace {
FaultRequest stress_request(int64_t load_percent, int64_t workers) {
  FaultRequest r;
  r.id = "stress";
  r.kind = "cpu_stress";
  r.params.set("load", Percent::whole(load_percent));
  r.params.set("workers", workers);
  r.params.set("cpus", CpuList{0});
  r.duration = std::chrono::seconds(3);
  return r;
}

size_t count_named(const std::string& comm) {
  size_t n = 0;
  for (const ProcessInfo& p : scan_processes()) n += p.comm == comm && p.state != 'Z' ? 1 : 0;
  return n;
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("cpu_stress reaches the requested load within 5 points and cleans up") {
  faultline::test::skip_unless_root("its workers go into a cgroup of their own");
  for (int64_t load : {30, 70}) {
    DYNAMIC_SECTION("load " << load << "%") {
      auto fault = create_fault(stress_request(load, 1));
      REQUIRE_OK(fault);
      REQUIRE_OK((*fault)->apply(Clock::now()));
      CHECK(count_named("faultline-cpu") == 1);
      const std::string cgroup = (*fault)->observed()["cgroup"];
      CHECK(exists(cgroup));
      std::this_thread::sleep_for(std::chrono::seconds(3));
      REQUIRE_OK((*fault)->revert());
      const double measured = (*fault)->observed()["mean_load_percent"];
      INFO("measured " << measured << "% for a request of " << load << "%");
      CHECK(measured >= static_cast<double>(load) - 5.0);
      CHECK(measured <= static_cast<double>(load) + 5.0);
      CHECK((*fault)->confirmed());
      CHECK(count_named("faultline-cpu") == 0);
      CHECK_FALSE(exists(cgroup));
    }
  }
}

namespace {
// Where a faultline process with pid `pid` puts its first cgroup for `purpose`: beside our own
// cgroup, as OwnedCgroup::reserve_path() computes it (a child process is in our cgroup), with
// the name ("faultline-PID-PURPOSE-0") made from that pid.
std::string first_cgroup_of(pid_t pid, const std::string& purpose) {
  auto mine = OwnedCgroup::reserve_path(purpose);
  REQUIRE_OK(mine);
  const std::string parent = mine->substr(0, mine->rfind('/'));
  return parent + "/faultline-" + std::to_string(pid) + "-" + purpose + "-0";
}
}  // namespace

TEST_CASE("cpu_stress workers die with faultline, and the next run removes the stale cgroup") {
  faultline::test::skip_unless_root("its workers go into a cgroup of their own");
  // A separate faultline process that is killed with SIGKILL: no revert runs at all.
  faultline::test::ChildProcess tool(
      FAULTLINE_BINARY, "faultline",
      {"inject", "cpu_stress", "--duration", "60s", "load=10", "workers=2"});
  for (int i = 0; i < 200 && count_named("faultline-cpu") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(count_named("faultline-cpu") == 2);
  // The cgroup the workers are in, as the injector named it: it exists now, so that its absence
  // below means it was removed (and not that this test looked in the wrong place).
  const std::string cgroup = first_cgroup_of(tool.pid(), "cpu");
  INFO("the workers' cgroup: " << cgroup);
  REQUIRE(exists(cgroup));
  size_t workers_in_it = 0;
  for (const ProcessInfo& p : scan_processes())
    if (p.comm == "faultline-cpu" && p.state != 'Z')
      workers_in_it += read_text(cgroup + "/cgroup.procs").find(std::to_string(p.pid) + "\n") !=
                       std::string::npos;
  CHECK(workers_in_it == 2);
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  CHECK(tool.killed_by() == SIGKILL);
  for (int i = 0; i < 200 && count_named("faultline-cpu") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(count_named("faultline-cpu") == 0);
  remove_stale_cgroups();
  CHECK_FALSE(exists(cgroup));
}
