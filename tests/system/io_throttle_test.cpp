// io_throttle: a target's cgroup is held to the limit on a scratch filesystem's disk (measured
// with O_DIRECT writes in that cgroup), the previous limits come back byte for byte (a limit the
// test set first included), a SIGKILLed faultline's guardian puts them back, and what cannot be
// throttled is refused with the reason.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/cgroup_hierarchy.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"
#include "tests/support/scratch_fs.h"

using namespace faultline;
using faultline::test::ChildProcess;
using faultline::test::ScratchFs;
using faultline::test::ScratchKind;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// A cgroup of the test's own in the io hierarchy (v1 blkio here, v2 in the kernel lab), removed
// at the end with whatever the test put in it moved back to the root first.
struct TestIoCgroup {
  CgroupHierarchy h;
  std::string dir;
  explicit TestIoCgroup(const std::string& name) {
    h = REQUIRE_VALUE(find_cgroup_hierarchy("io"));
    REQUIRE_OK(enable_controller_below(h, h.mount));
    dir = h.mount + "/" + name + "-" + std::to_string(getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  }
  ~TestIoCgroup() {
    std::ifstream procs(dir + "/cgroup.procs");
    for (pid_t pid = 0; procs >> pid;) (void)write_cgroup_file(h.mount + "/cgroup.procs", std::to_string(pid));
    for (int i = 0; i < 200 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void add(pid_t pid) const { REQUIRE_OK(write_cgroup_file(dir + "/cgroup.procs", std::to_string(pid))); }
  // Every throttle file's text, as a revert must leave it.
  std::string throttle_state() const {
    if (h.v2()) return read_text(dir + "/io.max");
    std::string all;
    for (const char* f : {"read_bps", "write_bps", "read_iops", "write_iops"})
      all += std::string(f) + ": " + read_text(dir + "/blkio.throttle." + f + "_device");
    return all;
  }
  // A limit of the test's own on another key than the fault's: rbps 1 MiB/s.
  void set_read_limit(const std::string& device) const {
    if (h.v2())
      REQUIRE_OK(write_cgroup_file(dir + "/io.max", device + " rbps=1048576"));
    else
      REQUIRE_OK(write_cgroup_file(dir + "/blkio.throttle.read_bps_device", device + " 1048576"));
  }
  bool write_limited() const {
    if (h.v2()) return read_text(dir + "/io.max").find("wbps=4194304") != std::string::npos;
    return read_text(dir + "/blkio.throttle.write_bps_device").find(" 4194304") != std::string::npos;
  }
};

// Writes `bytes` with O_DIRECT from dd moved into `cgroup`; the rate in bytes per second as dd
// timed its own copy (its start-up, slow in the kernel lab's VM, is not in it); 0 when dd failed.
double direct_write_rate(const std::string& cgroup_dir, const std::string& dir, int64_t bytes) {
  const std::string file = dir + "/fl-test-rate";
  const std::string cmd = "echo $$ > " + cgroup_dir + "/cgroup.procs && LC_ALL=C exec dd "
                          "if=/dev/zero of=" + file + " bs=1M count=" +
                          std::to_string(bytes / kMiB) + " oflag=direct";
  std::string out;
  const int status = faultline::test::run_shell(cmd, &out);
  ::unlink(file.c_str());
  // "8388608 bytes (8.4 MB, 8.0 MiB) copied, 1.97443 s, 4.2 MB/s"
  const size_t copied = out.find("copied, ");
  if (status != 0 || copied == std::string::npos) return 0.0;
  const double seconds = std::stod(out.substr(copied + 8));
  return seconds > 0 ? static_cast<double>(bytes) / seconds : 0.0;
}

FaultRequest throttle_request(const std::string& path, const std::string& pidfile) {
  FaultRequest r;
  r.id = "throttle";
  r.kind = "io_throttle";
  r.params.set("path", path);
  r.params.set("wbps", ByteSize{4 * kMiB});
  r.selector.pidfile = pidfile;
  r.duration = std::chrono::seconds(30);
  return r;
}

// Waits until the fault's probe has reported (it shares the cgroup's budget with the test's
// own measurement, so they must not overlap).
void wait_for_probe(const Fault& fault) {
  for (int i = 0; i < 300 && fault.observed()["probe"].contains("running"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

struct PidFile {
  std::string path;
  PidFile(pid_t pid) : path("/tmp/fl-test-io-" + std::to_string(getpid()) + ".pid") {
    std::ofstream(path) << pid << "\n";
  }
  ~PidFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("io_throttle holds a cgroup's direct writes to wbps within 10% and puts the limits back "
          "byte for byte",
          "[io_throttle][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes a loop-device filesystem and a cgroup");
  ScratchFs fs(ScratchKind::Ext4, 128);
  if (!fs.ok()) {
    WARN("SKIP: " << fs.skip_reason());
    return;
  }
  TestIoCgroup cg("fl-test-io");
  ChildProcess target("/bin/sleep", "fl-test-io-target", {"600"});
  cg.add(target.pid());
  const PidFile pidfile(target.pid());
  const int64_t limit = 4 * kMiB;
  const int64_t bytes = 8 * kMiB;  // two seconds at the limit
  const double unthrottled = direct_write_rate(cg.dir, fs.mount_point(), 32 * kMiB);
  INFO("unthrottled O_DIRECT writes: " << unthrottled / kMiB << " MiB/s");
  if (unthrottled < 2.0 * static_cast<double>(limit)) {
    WARN("SKIP: the disk writes only " << unthrottled / kMiB
                                       << " MiB/s unthrottled, not 2x the 4 MiB/s limit");
    return;
  }
  // A limit of the test's own on another key: the revert must keep it, exactly.
  cg.set_read_limit(fs.major_minor());
  const std::string before = cg.throttle_state();
  INFO("throttle files before: " << before);

  auto fault = create_fault(throttle_request(fs.mount_point(), pidfile.path));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  // The undo plan is complete before apply touches anything.
  const nlohmann::json plan = (*fault)->undo_plan();
  INFO("undo plan: " << plan.dump());
  // v2: io.max, then the probe's cgroup below the target's; v1: the write_bps file (the probe
  // joins the target's own cgroup: v1's throttle is flat).
  REQUIRE(plan.size() == (cg.h.v2() ? 2u : 1u));
  CHECK(plan[0]["op"] == "set_cgroup_value");
  CHECK(plan[0]["path"] == cg.dir + (cg.h.v2() ? "/io.max" : "/blkio.throttle.write_bps_device"));
  if (cg.h.v2()) CHECK(plan[1]["op"] == "remove_cgroup");
  REQUIRE_OK((*fault)->apply(Clock::now()));
  CHECK(cg.write_limited());
  wait_for_probe(**fault);
  const double throttled = direct_write_rate(cg.dir, fs.mount_point(), bytes);
  const double ratio = throttled / static_cast<double>(limit);
  INFO("throttled: " << throttled / kMiB << " MiB/s, ratio " << ratio);
  CHECK(ratio >= 0.9);
  CHECK(ratio <= 1.1);
  const nlohmann::json seen = (*fault)->observed();
  INFO("observed: " << seen.dump());
  WARN("figures: unthrottled " << unthrottled / kMiB << " MiB/s; at wbps=4MiB dd wrote "
                               << throttled / kMiB << " MiB/s (ratio " << ratio << "), the probe "
                               << seen["probe"]["write_ratio"] << " of the limit");
  CHECK(seen["probe"]["write_ratio"].get<double>() >= 0.9);
  CHECK(seen["probe"]["write_ratio"].get<double>() <= 1.1);
  CHECK(seen["io_stat_delta"]["wbytes"].get<int64_t>() >= bytes);
  CHECK((*fault)->confirmed());
  const std::string probe_cgroup = seen["probe"]["cgroup"];
  REQUIRE_OK((*fault)->revert());
  CHECK(cg.throttle_state() == before);
  if (cg.h.v2()) CHECK_FALSE(exists(probe_cgroup));
  CHECK((*fault)->undo_plan().empty());
}

TEST_CASE("io_throttle: after a SIGKILL of faultline, its guardian puts the previous limit back",
          "[io_throttle][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes a loop-device filesystem and a cgroup");
  ScratchFs fs(ScratchKind::Ext4, 128);
  if (!fs.ok()) {
    WARN("SKIP: " << fs.skip_reason());
    return;
  }
  TestIoCgroup cg("fl-test-io");
  ChildProcess target("/bin/sleep", "fl-test-io-target", {"600"});
  cg.add(target.pid());
  const PidFile pidfile(target.pid());
  cg.set_read_limit(fs.major_minor());
  const std::string before = cg.throttle_state();
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"inject", "io_throttle", "--duration", "60s", "path=" + fs.mount_point(),
                     "wbps=4MiB", "pidfile=" + pidfile.path});
  bool limited = false;
  for (int i = 0; i < 200 && !(limited = cg.write_limited()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(limited);
  kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  bool restored = false;
  for (int i = 0; i < 200 && !(restored = cg.throttle_state() == before); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  INFO("throttle files now: " << cg.throttle_state() << "\nbefore: " << before);
  CHECK(restored);
  // The probe's cgroup below the target's went too (the guardian's remove_cgroup step).
  const auto faultline_children = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(cg.dir, ec))
      n += e.is_directory() && e.path().filename().string().starts_with("faultline-");
    return n;
  };
  for (int i = 0; i < 200 && faultline_children() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  CHECK(faultline_children() == 0);
}

TEST_CASE("io_throttle refuses what it cannot throttle, saying why", "[io_throttle][cgroup2-lab]") {
  faultline::test::skip_unless_root("it makes scratch filesystems and moves a process");
  ScratchFs fs(ScratchKind::Ext4, 128);
  ScratchFs tmp(ScratchKind::Tmpfs, 16);
  if (!fs.ok() || !tmp.ok()) {
    WARN("SKIP: " << fs.skip_reason() << tmp.skip_reason());
    return;
  }
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("io"));
  const InjectorDescriptor* d = find_injector("io_throttle");
  REQUIRE(d != nullptr);

  SECTION("no target") {
    FaultRequest r = throttle_request(fs.mount_point(), "");
    r.selector = {};
    const auto refused = d->reach_check(r);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().refused);
    CHECK(refused.error().message ==
          "io_throttle needs a target: the processes (name=, cmdline=, pidfile=, parent_pidfile= or "
          "cgroup=) or the container whose cgroup is throttled");
  }
  SECTION("a filesystem with no block device") {
    ChildProcess target("/bin/sleep", "fl-test-io-target", {"600"});
    const PidFile pidfile(target.pid());
    struct stat st {};
    REQUIRE(::stat(tmp.mount_point().c_str(), &st) == 0);
    auto fault = create_fault(throttle_request(tmp.mount_point(), pidfile.path));
    REQUIRE_OK(fault);
    const auto refused = (*fault)->prepare();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message ==
          fmt::format("path {0} is on tmpfs at {0} (device {1}:{2}), which has no block device "
                      "behind it: I/O faults act on a disk's queue; give a path on a filesystem on "
                      "a disk (ext4, xfs)",
                      tmp.mount_point(), major(st.st_dev), minor(st.st_dev)));
  }
  SECTION("a target in the root cgroup") {
    ChildProcess target("/bin/sleep", "fl-test-io-target", {"600"});
    REQUIRE_OK(write_cgroup_file(h.mount + "/cgroup.procs", std::to_string(target.pid())));
    const PidFile pidfile(target.pid());
    const auto refused = d->reach_check(throttle_request(fs.mount_point(), pidfile.path));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().refused);
    CHECK(refused.error().message ==
          fmt::format("io_throttle: 1 process(es) of pidfile='{}' is in the root cgroup of {}, which "
                      "cannot be throttled; run it in a cgroup of its own (a systemd unit, a "
                      "container)",
                      pidfile.path, h.describe()));
  }
  SECTION("targets in two cgroups") {
    TestIoCgroup a("fl-test-io-a"), b("fl-test-io-b");
    ChildProcess one("/bin/sleep", "fl-test-io-two", {"600"});
    ChildProcess two("/bin/sleep", "fl-test-io-two", {"600"});
    a.add(one.pid());
    b.add(two.pid());
    FaultRequest r = throttle_request(fs.mount_point(), "");
    r.selector = {};
    r.selector.cmdline = "^fl-test-io-two";
    const auto refused = d->reach_check(r);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().refused);
    const std::string ca = a.dir.substr(h.mount.size()), cb = b.dir.substr(h.mount.size());
    CHECK(refused.error().message ==
          fmt::format("io_throttle: the processes of cmdline='^fl-test-io-two' are in 2 cgroups of "
                      "{} ({} (1), {} (1)); a throttle holds one cgroup: narrow the selector to "
                      "the processes of one",
                      h.describe(), std::min(ca, cb), std::max(ca, cb)));
  }
  SECTION("plan's line names the device, the cgroup and the hierarchy") {
    TestIoCgroup cg("fl-test-io");
    ChildProcess target("/bin/sleep", "fl-test-io-target", {"600"});
    cg.add(target.pid());
    const PidFile pidfile(target.pid());
    const auto line = d->reach_check(throttle_request(fs.mount_point(), pidfile.path));
    REQUIRE_OK(line);
    const std::string dev = fs.major_minor();
    const std::string now = h.v2() ? dev + " rbps=max wbps=max riops=max wiops=max" : dev + " 0";
    CHECK(*line == fmt::format("throttle wbps=4194304 on {} ({}) for 1 process(es) of pidfile='{}' "
                               "(cgroup {}), {}; now {}",
                               fs.device().substr(5), dev, pidfile.path,
                               cg.dir.substr(h.mount.size()), h.describe(), now));
  }
}
