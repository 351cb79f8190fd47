// io_stress: direct-I/O workers in a cgroup of their own load a scratch filesystem's disk and
// report what they measured; nothing is left after a revert or a SIGKILL of faultline (their
// files are unnamed, their cgroup is removed); tmpfs, which has no disk, is refused.
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <thread>

#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/cgroup_hierarchy.h"
#include "tests/support/child_process.h"
#include "tests/support/cpu_workers.h"
#include "tests/support/require_ok.h"
#include "tests/support/scratch_fs.h"

using namespace faultline;
using faultline::test::ChildProcess;
using faultline::test::ScratchFs;
using faultline::test::ScratchKind;

namespace {

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool read_text_contains(const std::string& path, const std::string& line) {
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

FaultRequest stress_request(const std::string& path) {
  FaultRequest r;
  r.id = "stress";
  r.kind = "io_stress";
  r.params.set("path", path);
  r.params.set("workers", int64_t{2});
  r.params.set("block_size", ByteSize{4 * kKiB});
  r.params.set("read_percent", Percent::whole(50));
  r.params.set("bytes", ByteSize{8 * kMiB});
  r.duration = std::chrono::seconds(30);
  return r;
}

}  // namespace

TEST_CASE("io_stress workers read and write with O_DIRECT in their own cgroup and report "
          "throughput and latency",
          "[io_stress][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes a loop-device filesystem and a cgroup");
  ScratchFs fs(ScratchKind::Ext4, 128);
  if (!fs.ok()) {
    WARN("SKIP: " << fs.skip_reason());
    return;
  }
  const int64_t free_before = fs.available_bytes();
  auto fault = create_fault(stress_request(fs.mount_point()));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const nlohmann::json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "remove_cgroup");
  REQUIRE_OK((*fault)->apply(Clock::now()));
  const std::string cgroup = (*fault)->observed()["cgroup"];
  CHECK(cgroup == plan[0]["path"]);
  CHECK(exists(cgroup));
  // Each worker writes its file first, then runs the mix: wait (the kernel lab is slow) until
  // every worker has done some of both.
  const auto mixing = [&] {
    const nlohmann::json now = (*fault)->observed();
    for (const auto& w : now["workers"])
      if (w["phase"] != "running" || w["reads"].get<int64_t>() < 10 || w["writes"].get<int64_t>() < 10)
        return false;
    return true;
  };
  for (int i = 0; i < 1200 && !mixing(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const nlohmann::json running = (*fault)->observed();
  INFO("while running: " << running.dump());
  for (const auto& w : running["workers"]) {
    CHECK(w["phase"] == "running");
    CHECK(read_text_contains(cgroup + "/cgroup.procs", std::to_string(w["pid"].get<int>())));
  }
  REQUIRE_OK((*fault)->revert());
  const nlohmann::json seen = (*fault)->observed();
  INFO("observed: " << seen.dump());
  REQUIRE(seen["workers"].size() == 2);
  for (const auto& w : seen["workers"]) {
    CHECK(w["reads"].get<int64_t>() > 0);
    CHECK(w["writes"].get<int64_t>() > 0);
    CHECK(w["read_mib_per_s"].get<double>() > 0);
    CHECK(w["write_mib_per_s"].get<double>() > 0);
    CHECK(w["read_latency_us"]["p50"].get<double>() > 0);
    CHECK(w["write_latency_us"]["p99"].get<double>() >= w["write_latency_us"]["p50"].get<double>());
    CHECK_FALSE(w.contains("error"));
  }
  // The kernel saw the workers' I/O in their cgroup (the fill and the mix); v1 counts only
  // throttled I/O, and says so.
  if (seen["hierarchy"].get<std::string>().starts_with("cgroup v2")) {
    CHECK(seen["io_stat_delta"]["wbytes"].get<int64_t>() >= 2 * 8 * kMiB);
    CHECK(seen["io_stat_delta"]["rbytes"].get<int64_t>() > 0);
  } else {
    CHECK((seen.contains("io_stat_note") || seen["io_stat_delta"]["wbytes"].get<int64_t>() > 0));
  }
  CHECK((*fault)->confirmed());
  CHECK_FALSE(exists(cgroup));
  CHECK((*fault)->undo_plan().empty());
  // Their unnamed files went with them.
  CHECK(std::abs(fs.available_bytes() - free_before) <= kMiB);
}

TEST_CASE("io_stress refuses tmpfs: no disk behind it", "[io_stress][cgroup2-lab]") {
  faultline::test::skip_unless_root("it mounts a tmpfs");
  ScratchFs tmp(ScratchKind::Tmpfs, 16);
  if (!tmp.ok()) {
    WARN("SKIP: " << tmp.skip_reason());
    return;
  }
  struct stat st {};
  REQUIRE(::stat(tmp.mount_point().c_str(), &st) == 0);
  const auto refused = find_injector("io_stress")->reach_check(stress_request(tmp.mount_point()));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        fmt::format("path {0} is on tmpfs at {0} (device {1}:{2}), which has no block device "
                    "behind it: I/O faults act on a disk's queue; give a path on a filesystem on "
                    "a disk (ext4, xfs)",
                    tmp.mount_point(), major(st.st_dev), minor(st.st_dev)));
}

TEST_CASE("io_stress refuses more than the filesystem can hold", "[io_stress][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes a loop-device filesystem");
  ScratchFs fs(ScratchKind::Ext4, 128);
  if (!fs.ok()) {
    WARN("SKIP: " << fs.skip_reason());
    return;
  }
  FaultRequest r = stress_request(fs.mount_point());
  r.params.set("bytes", ByteSize{kGiB});
  const auto refused = find_injector("io_stress")->reach_check(r);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().refused);
  CHECK(refused.error().message.starts_with("io_stress: 2 worker(s) x 1GiB = 2.00 GiB does not fit in the "));
}

TEST_CASE("io_stress: a SIGKILL of faultline leaves no worker, no cgroup and no file",
          "[io_stress][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes a loop-device filesystem and a cgroup");
  ScratchFs fs(ScratchKind::Ext4, 128);
  if (!fs.ok()) {
    WARN("SKIP: " << fs.skip_reason());
    return;
  }
  const int64_t free_before = fs.available_bytes();
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("io"));
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"inject", "io_stress", "--duration", "60s", "path=" + fs.mount_point(),
                     "workers=2", "bytes=8MiB"});
  // Where the tool puts its workers' cgroup: beside our own (a child is in our cgroup), named
  // after its pid.
  const std::string mine = reserve_owned_cgroup(h, "io");
  const std::string cgroup = mine.substr(0, mine.rfind('/')) + "/faultline-" +
                             std::to_string(tool.pid()) + "-io-0";
  INFO("the workers' cgroup: " << cgroup);
  std::vector<pid_t> workers;
  for (int i = 0; i < 400 && workers.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    workers.clear();
    std::ifstream procs(cgroup + "/cgroup.procs");
    for (pid_t pid = 0; procs >> pid;) workers.push_back(pid);
  }
  REQUIRE(workers.size() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // their files are being written
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  for (int i = 0; i < 200 && exists(cgroup); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  CHECK_FALSE(exists(cgroup));
  CHECK(faultline::test::wait_until_gone(workers) == 0);  // PR_SET_PDEATHSIG, and the guardian
  // Unnamed files are freed when their last holder dies; ext4 frees them at once.
  int64_t free_now = fs.available_bytes();
  for (int i = 0; i < 100 && std::abs(free_now - free_before) > kMiB; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    free_now = fs.available_bytes();
  }
  CHECK(std::abs(free_now - free_before) <= kMiB);
}
