// memory_pressure: the request is resident within 2% on incompressible pages held without CPU, in
// the hierarchy this host has (cgroup v1 here, v2 in the kernel lab); a ramp takes its time; a
// target's limit is what gets tested with into: target; nothing is left after revert or a SIGKILL
// of faultline; what the host cannot give is refused.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <set>
#include <string_view>
#include <thread>

#include "core/byte_size.h"
#include "core/defer.h"
#include "core/poll.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/cgroup_hierarchy.h"
#include "injectors/memory_pressure/memory_plan.h"
#include "injectors/memory_pressure/memory_views.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

FaultRequest memory_request(std::vector<std::pair<std::string, ParamValue>> params) {
  FaultRequest r;
  r.id = "memory";
  r.kind = "memory_pressure";
  r.params.set("mode", std::string("add"));
  r.params.set("into", std::string("own"));
  r.params.set("workers", int64_t{1});
  for (auto& [k, v] : params) r.params.set(k, std::move(v));
  r.duration = 60s;
  return r;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool within_2_percent(int64_t value, int64_t want) {
  return std::llabs(value - want) * 50 <= want;
}

// Waits until every worker holds its share (or one died); the observation then.
nlohmann::json wait_reached(Fault& fault, Duration limit = 60s) {
  poll_until(
      [&] {
        const nlohmann::json o = fault.observed();
        if (o["reached"].get<bool>()) return true;
        for (const auto& w : o["workers"])
          if (w["state"].get<std::string>().starts_with("killed")) return true;
        return false;
      },
      limit, 20ms);
  return fault.observed();
}

// `n` bytes of a process's memory at `address` (root reads /proc/PID/mem).
std::string read_memory(pid_t pid, uint64_t address, size_t n) {
  std::string out(n, '\0');
  const int fd = ::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  const ssize_t got = ::pread(fd, out.data(), n, static_cast<off_t>(address));
  ::close(fd);
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

// Shannon entropy in bits per byte: 8 for random data; what zram/zswap could squeeze is 8 - it.
double entropy(std::string_view data) {
  std::array<double, 256> counts{};
  for (unsigned char c : data) counts[c] += 1;
  double h = 0;
  for (double c : counts)
    if (c > 0) h -= c / static_cast<double>(data.size()) * std::log2(c / static_cast<double>(data.size()));
  return h;
}

// A cgroup of the test's own in the memory hierarchy with a memory limit, holding a sleeping
// child named fl-test-memtarget-PID: a target whose limit memory_pressure can test. Removed when
// the test ends, whichever way (the child is killed first: it is declared last).
struct TargetCgroup {
  CgroupHierarchy h;
  std::string dir;
  explicit TargetCgroup(int64_t limit) {
    h = find_cgroup_hierarchy("memory").value();
    (void)enable_controller_below(h, h.mount);
    dir = h.mount + fmt::format("/fl-test-memtarget-{}", getpid());
    ::mkdir(dir.c_str(), 0755);
    REQUIRE_OK(write_cgroup_file(dir + "/" + cgroup_memory_limit_file(h), std::to_string(limit)));
  }
  ~TargetCgroup() { (void)kill_and_remove_cgroup(dir); }
};

struct Target {
  TargetCgroup cgroup;
  test::ChildProcess sleeper;
  std::string name;
  explicit Target(int64_t limit)
      : cgroup(limit),
        sleeper("/bin/sleep", fmt::format("fl-test-memtarget-{}", getpid()), test::sleep_args()),
        name(fmt::format("fl-test-memtarget-{}", getpid())) {
    REQUIRE_OK(write_cgroup_file(cgroup.dir + "/cgroup.procs", std::to_string(sleeper.pid())));
  }
};

}  // namespace

TEST_CASE("memory_pressure holds the request within 2%, incompressible, without CPU, and revert "
          "releases it",
          "[memory_pressure][cgroup2-lab]") {
  test::skip_unless_root("its workers go into a cgroup of their own");
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("memory"));
  const int64_t request = 96 * kMiB;
  auto fault = create_fault(memory_request({{"bytes", ByteSize{request}}, {"workers", int64_t{2}}}));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const nlohmann::json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "remove_cgroup");
  REQUIRE_OK((*fault)->apply(Clock::now()));
  const nlohmann::json o = wait_reached(**fault);
  INFO(o.dump());
  REQUIRE(o["reached"] == true);
  // The hierarchy this host has: v1 memory on the hybrid development host, v2 in the kernel lab.
  CHECK(o["hierarchy"] == h.describe());
  const std::string cgroup = o["cgroup"];
  CHECK(cgroup.starts_with(h.mount + "/"));
  CHECK(read_cgroup_number(cgroup + "/" + cgroup_memory_limit_file(h)) ==
        own_cgroup_limit(request, 2));
  if (h.v2()) CHECK(read_cgroup_number(cgroup + "/memory.oom.group") == 1);
  CHECK(within_2_percent(o["workers_resident_bytes"], request));
  CHECK(within_2_percent(o["cgroup_bytes"], request));
  CHECK(o["oom_kills"]["ours"] == 0);

  // Holding costs no CPU: each worker's utime+stime over a second of holding.
  std::vector<pid_t> pids;
  for (const auto& w : o["workers"]) pids.push_back(w["pid"]);
  REQUIRE(pids.size() == 2);
  std::vector<int64_t> before;
  for (pid_t pid : pids) before.push_back(process_cpu_ticks(pid).value_or(-1));
  std::this_thread::sleep_for(1s);
  for (size_t i = 0; i < pids.size(); ++i) {
    const int64_t after = process_cpu_ticks(pids[i]).value_or(-1);
    INFO("worker " << pids[i] << " used " << after - before[i] << " ticks in 1 s of holding");
    CHECK(after - before[i] <= 1);
  }

  // Incompressible: the first MiB of each worker is random bytes (entropy 8 bits a byte, to
  // three decimals), and no 4 KiB page repeats within or across the two workers.
  std::set<std::string> pages;
  size_t page_count = 0;
  for (const auto& w : o["workers"]) {
    const std::string data = read_memory(w["pid"], w["address"], kMiB);
    REQUIRE(data.size() == static_cast<size_t>(kMiB));
    INFO("worker " << w["pid"] << ": entropy " << entropy(data) << " bits/byte");
    CHECK(entropy(data) > 7.999);
    for (size_t at = 0; at < data.size(); at += 4096, ++page_count)
      pages.insert(data.substr(at, 4096));
  }
  CHECK(pages.size() == page_count);

  REQUIRE_OK((*fault)->revert());
  CHECK((*fault)->confirmed());
  CHECK((*fault)->undo_plan().empty());
  CHECK_FALSE(exists(cgroup));
  for (pid_t pid : pids) CHECK((::kill(pid, 0) != 0 && errno == ESRCH));
  const std::string summary = (*fault)->summary();
  INFO(summary);
  CHECK(summary.starts_with("requested 96.0 MiB: resident 96.0 MiB (workers' pages; VmRSS "));
}

TEST_CASE("memory_pressure's ramp reaches the level no earlier than the ramp time",
          "[memory_pressure][cgroup2-lab]") {
  test::skip_unless_root("its workers go into a cgroup of their own");
  auto fault = create_fault(
      memory_request({{"bytes", ByteSize{64 * kMiB}}, {"ramp", Duration(2s)}}));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->apply(Clock::now()));
  // Part of the way, part of the memory: at a third of the ramp, well below the whole.
  std::this_thread::sleep_for(700ms);
  const int64_t early = (*fault)->observed()["workers_resident_bytes"];
  const nlohmann::json o = wait_reached(**fault);
  INFO(o.dump());
  REQUIRE(o["reached"] == true);
  const double ratio = o["reached_after_ms"].get<double>() / o["ramp_ms"].get<double>();
  INFO("reached after " << ratio << " of the ramp; " << early << " bytes resident at 0.7 s");
  CHECK(ratio >= 0.9);
  CHECK(ratio <= 2.0);
  CHECK(early < 48 * kMiB);
  REQUIRE_OK((*fault)->revert());
  CHECK((*fault)->confirmed());
}

TEST_CASE("memory_pressure into: target: the target's limit OOM-kills, and is named",
          "[memory_pressure][cgroup2-lab]") {
  test::skip_unless_root("makes a cgroup with a memory limit");
  Target target(96 * kMiB);
  FaultRequest r = memory_request({{"bytes", ByteSize{128 * kMiB}}, {"into", std::string("target")}});
  r.selector.cmdline = "^" + target.name + " ";
  auto fault = create_fault(r);
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const nlohmann::json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  const std::string ours = plan[0]["path"];
  CHECK(ours.starts_with(target.cgroup.dir + "/faultline-"));  // below the target's cgroup
  REQUIRE_OK((*fault)->apply(Clock::now()));
  const nlohmann::json o = wait_reached(**fault);
  INFO(o.dump());
  CHECK(o["reached"] == false);
  REQUIRE_OK((*fault)->revert());
  const nlohmann::json after = (*fault)->observed();
  INFO(after.dump());
  CHECK(after["oom_kills"]["the target's"] == 1);
  CHECK(after["workers"][0]["state"] == "killed by SIGKILL");
  CHECK(after["target"]["limit_bytes"] == 96 * kMiB);
  CHECK(after["oom"].get<std::string>().starts_with(
      "the target's limit (96.0 MiB) OOM-killed 1 process(es) in its cgroup, our worker(s) "));
  CHECK((*fault)->confirmed());
  CHECK_FALSE(exists(ours));
  CHECK(target.sleeper.state() != 'Z');  // the target's own process was not the victim
}

TEST_CASE("memory_pressure fill_to fills the target's cgroup up to the level",
          "[memory_pressure][cgroup2-lab]") {
  test::skip_unless_root("makes a cgroup with a memory limit");
  Target target(192 * kMiB);
  FaultRequest r = memory_request({{"bytes", ByteSize{80 * kMiB}},
                                   {"into", std::string("target")},
                                   {"mode", std::string("fill_to")}});
  r.selector.cmdline = "^" + target.name + " ";
  auto fault = create_fault(r);
  REQUIRE_OK(fault);
  auto line = find_injector("memory_pressure")->reach_check(r);
  REQUIRE_OK(line);
  CHECK(line->starts_with("fill the cgroup of processes cmdline='^" + target.name +
                          " ' to 80.0 MiB (now "));
  REQUIRE_OK((*fault)->apply(Clock::now()));
  const nlohmann::json o = wait_reached(**fault);
  INFO(o.dump());
  REQUIRE(o["reached"] == true);
  CHECK(within_2_percent(o["target"]["usage_bytes"], 80 * kMiB));
  // What the target held already counts (on v1 the sleeper's own pages stayed charged where it
  // started, so that may be 0).
  CHECK(o["added_bytes"].get<int64_t>() ==
        80 * kMiB - o["target"]["usage_at_start_bytes"].get<int64_t>());
  REQUIRE_OK((*fault)->revert());
  CHECK((*fault)->confirmed());
}

TEST_CASE("memory_pressure: faultline inject SIGKILLed mid-fault: the guardian removes the "
          "cgroup and the workers die",
          "[memory_pressure][cgroup2-lab]") {
  test::skip_unless_root("its workers go into a cgroup of their own");
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("memory"));
  // The guardian outlives faultline; as a subreaper this test inherits it and reaps it.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Defer no_longer_subreaper([] { prctl(PR_SET_CHILD_SUBREAPER, 0); });
  test::TempDir run_dir;
  ::setenv("FAULTLINE_RUN_DIR", run_dir.path().c_str(), 1);
  Defer unset([] { ::unsetenv("FAULTLINE_RUN_DIR"); });
  test::ChildProcess tool(FAULTLINE_BINARY, "faultline",
                          {"inject", "memory_pressure", "--duration", "60s", "bytes=64MiB"});
  pid_t worker = 0, guardian = 0;
  REQUIRE(poll_until(
      [&] {
        for (const ProcessInfo& p : scan_processes(false)) {
          if (p.ppid == tool.pid() && p.comm == "faultline-mem") worker = p.pid;
          if (p.ppid == tool.pid() && p.comm == "faultline-guard") guardian = p.pid;
        }
        return worker != 0 && guardian != 0;
      },
      20s, 10ms));
  // The worker is forked, then moved into the fault's cgroup.
  std::string cgroup;
  CHECK(poll_until(
      [&] {
        cgroup = cgroup_directory(h, process_cgroup_path(worker, h).value_or("/"));
        return std::filesystem::path(cgroup).filename().string().starts_with(
            fmt::format("faultline-{}-mem-", tool.pid()));
      },
      5s, 10ms));
  INFO("the workers' cgroup: " << cgroup);
  REQUIRE(poll_until([&] { return cgroup_memory_usage(h, cgroup).value_or(0) >= 64 * kMiB; },
                     20s, 10ms));
  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  CHECK(poll_until([&] { return !exists(cgroup); }, 5s, 10ms));
  // As a subreaper this test inherited the worker: reaped here once dead, or gone already.
  CHECK(poll_until([&] { return waitpid(worker, nullptr, WNOHANG) == worker || ::kill(worker, 0) != 0; },
                   5s, 10ms));
  CHECK(poll_until([&] { return waitpid(guardian, nullptr, WNOHANG) == guardian; }, 5s));
}

TEST_CASE("memory_pressure refuses what is over the bounds or more than the host can give",
          "[memory_pressure][cgroup2-lab]") {
  const InjectorDescriptor* d = find_injector("memory_pressure");
  REQUIRE(d != nullptr);
  REQUIRE(d->reach_check != nullptr);

  FaultRequest bounded = memory_request({{"bytes", ByteSize{64 * kMiB}}});
  bounded.resource_bounds.max_memory = MemoryBound{.bytes = 32 * kMiB, .percent = {}};
  const auto over = d->reach_check(bounded);
  REQUIRE_FALSE(over);
  CHECK(over.error().message ==
        "would hold 64.0 MiB of memory, more than blast_radius.max_memory 32MiB; ask for less "
        "or raise it");
  CHECK(over.error().refused);
  // prepare() checks the same on the host that applies it (the agent), before anything is made.
  auto fault = create_fault(bounded);
  REQUIRE_OK(fault);
  const auto prepared = (*fault)->prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().message == over.error().message);
  CHECK((*fault)->undo_plan().empty());

  // More than MemAvailable minus the reserve, with no target's limit to cap it.
  const MemInfo m = read_meminfo().value();
  const auto huge = d->reach_check(memory_request({{"bytes", ByteSize{4 * 1024 * kGiB}}}));
  REQUIRE_FALSE(huge);
  const std::string& msg = huge.error().message;
  INFO(msg);
  CHECK(msg.starts_with("would hold 4.00 TiB of memory, more than this host can give without "
                        "its own OOM killer: MemAvailable "));
  CHECK(msg.find(fmt::format(" minus a reserve of {} (the larger of 256 MiB and 5% of MemTotal) "
                             "leaves ",
                             human_bytes(static_cast<double>(memory_reserve(m.total))))) !=
        std::string::npos);
  CHECK(msg.ends_with("; ask for less, or aim it at a target's limit (into: target)"));

  // into: target with no target.
  const auto no_target = d->reach_check(
      memory_request({{"bytes", ByteSize{64 * kMiB}}, {"into", std::string("target")}}));
  REQUIRE_FALSE(no_target);
  CHECK(no_target.error().message ==
        "into: target needs a target (a target with processes: or containers:); this fault has "
        "none");

  // What plan shows for a fault that fits.
  const auto fits = d->reach_check(memory_request({{"bytes", ByteSize{64 * kMiB}}}));
  REQUIRE_OK(fits);
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("memory"));
  CHECK(fits->starts_with("hold 64.0 MiB in a cgroup of its own, " + h.describe() + "; "));
  CHECK(fits->ends_with("% of MemAvailable"));
}
