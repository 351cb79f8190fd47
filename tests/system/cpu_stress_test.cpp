// cpu_stress: the requested load is reached (measured from /proc), the workers are confined to
// a cgroup of their own, and nothing survives the fault or the tool.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"

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
}  // namespace

TEST_CASE("cpu_stress reaches the requested load within 5 points and cleans up") {
  faultline::test::skip_unless_root("its workers go into a cgroup of their own");
  for (int64_t load : {30, 70}) {
    DYNAMIC_SECTION("load " << load << "%") {
      auto fault = create_fault(stress_request(load, 1));
      REQUIRE(fault);
      REQUIRE((*fault)->apply(Clock::now()));
      CHECK(count_named("faultline-cpu") == 1);
      const std::string cgroup = (*fault)->observed()["cgroup"];
      CHECK(exists(cgroup));
      std::this_thread::sleep_for(std::chrono::seconds(3));
      REQUIRE((*fault)->revert());
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

TEST_CASE("cpu_stress workers die with faultline, and the next run removes the stale cgroup") {
  faultline::test::skip_unless_root("its workers go into a cgroup of their own");
  // A separate faultline process that is killed with SIGKILL: no revert runs at all.
  faultline::test::ChildProcess tool(
      FAULTLINE_BINARY, "faultline",
      {"inject", "cpu_stress", "--duration", "60s", "load=10", "workers=2"});
  for (int i = 0; i < 200 && count_named("faultline-cpu") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(count_named("faultline-cpu") == 2);
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  for (int i = 0; i < 200 && count_named("faultline-cpu") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(count_named("faultline-cpu") == 0);
  remove_stale_cgroups();
  auto mount = cgroup2_mount();
  REQUIRE(mount);
  CHECK_FALSE(exists(*mount + "/faultline-" + std::to_string(tool.pid()) + "-cpu-0"));
}
