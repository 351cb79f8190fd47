// Undo plans, performed as the agent performs them after its own SIGKILL: the plan of an applied
// fault is written to a state file, and a forked child (which has none of the fault's memory)
// recovers that file. The host must be back as it was, without the fault's revert ever running;
// the revert that follows must still succeed (nothing left to do) and leave it so.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

#include "agent/local/state_file.h"
#include "core/defer.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/cpu_workers.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using faultline::test::ChildProcess;
using faultline::test::NamespacePair;
using faultline::test::TempDir;
using nlohmann::json;

namespace {

void set_param(FaultRequest& r, const std::string& key, const std::string& value) {
  for (const ParamSpec& s : find_injector(r.kind)->params)
    if (s.name == key) r.params.set(key, *parse_param_value(s, value));
}

FaultRequest request(const std::string& kind,
                     const std::vector<std::pair<std::string, std::string>>& params) {
  FaultRequest r;
  r.id = "undo-" + kind;
  r.kind = kind;
  for (const auto& [k, v] : params) set_param(r, k, v);
  for (const ParamSpec& s : find_injector(kind)->params)
    if (!r.params.has(s.name) && !s.default_value.empty())
      set_param(r, std::string(s.name), std::string(s.default_value));
  r.duration = std::chrono::seconds(30);
  r.max_processes = 5;
  return r;
}

// Writes the fault's plan to a state file, then recovers it from a forked child, as a restarted
// agent would. Returns how many entries the recovery had to keep (0: all undone).
int recover_in_child(const TempDir& dir, const Fault& fault) {
  StateFile file(dir.file("agent-state.json"));
  StateEntry entry;
  entry.owner = "undo-test";
  entry.fault_id = "fault";
  entry.kind = "test";
  entry.undo = fault.undo_plan();
  REQUIRE(file.record(entry));
  std::fflush(nullptr);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    StateFile fresh(dir.file("agent-state.json"));
    auto report = recover(fresh);
    if (!report) {
      std::fprintf(stderr, "recover: %s\n", report.error().message.c_str());
      _exit(100);
    }
    for (const StateEntry& kept : report->kept)
      for (const std::string& e : kept.undo_errors) std::fprintf(stderr, "kept: %s\n", e.c_str());
    _exit(static_cast<int>(report->kept.size()));
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  auto left = file.load();
  REQUIRE(left);
  CHECK(left->size() == static_cast<size_t>(WEXITSTATUS(status)));
  return WEXITSTATUS(status);
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

bool frozen(const std::string& dir) {
  std::ifstream events(dir + "/cgroup.events");
  std::string key, value;
  while (events >> key >> value)
    if (key == "frozen") return value == "1";
  return false;
}

uint64_t netns_inode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_ino);
}

// Waits for the kernel to show a state that a signal changes asynchronously.
char state_after_settling(ChildProcess& p, char from) {
  for (int i = 0; i < 100 && p.state() == from; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return p.state();
}

}  // namespace

TEST_CASE("undo: process_pause (signal) is resumed from its plan alone", "[undo]") {
  faultline::test::skip_unless_root("the undo is recovered from a state file by another process");
  TempDir dir;
  ChildProcess child("/bin/sleep", "fl-test-undo-pause", {"1000"});
  ProcessSelector s;
  s.name = "fl-test-undo-pause";
  FaultRequest r = request("process_pause", {{"count", "1"}, {"method", "signal"}});
  r.selector = s;
  auto fault = create_fault(std::move(r));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const auto info = read_process_stat(child.pid());
  REQUIRE(info);
  const json expected = json::parse(fmt::format(R"([{{"op":"resume","pid":{},"start_ticks":{}}}])",
                                                child.pid(), info->start_ticks));
  CHECK((*fault)->undo_plan() == expected);  // before apply: what apply is about to do
  REQUIRE_OK((*fault)->apply(Clock::now()));
  REQUIRE(child.state() == 'T');
  CHECK((*fault)->undo_plan() == expected);

  CHECK(recover_in_child(dir, **fault) == 0);
  CHECK(state_after_settling(child, 'T') == 'S');

  REQUIRE_OK((*fault)->revert());
  CHECK(child.state() == 'S');
  CHECK((*fault)->undo_plan() == json::array());
}

TEST_CASE("undo: process_pause (freezer) is thawed from its plan alone", "[undo]") {
  faultline::test::skip_unless_root("it creates a cgroup");
  auto mount = cgroup2_mount();
  if (!mount) {
    std::printf("SKIPPED: cgroup v2 is not mounted\n");
    std::_Exit(77);
  }
  TempDir dir;
  const std::string name = "/fl-test-undo-freezer-" + std::to_string(getpid());
  const std::string cgroup = *mount + name;
  REQUIRE(mkdir(cgroup.c_str(), 0755) == 0);
  Defer remove_cgroup([&] {
    (void)write_cgroup_file(cgroup + "/cgroup.freeze", "0");
    (void)write_cgroup_file(cgroup + "/cgroup.kill", "1");
    for (int i = 0; i < 200 && rmdir(cgroup.c_str()) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  ChildProcess child("/bin/sleep", "fl-test-undo-frozen", {"1000"});
  REQUIRE(write_cgroup_file(cgroup + "/cgroup.procs", std::to_string(child.pid())));
  ProcessSelector s;
  s.cgroup = name;
  FaultRequest r = request("process_pause", {{"count", "1"}, {"method", "freezer"}});
  r.selector = s;
  auto fault = create_fault(std::move(r));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const json expected = json::array({{{"op", "thaw_cgroup"}, {"path", cgroup}}});
  CHECK((*fault)->undo_plan() == expected);
  REQUIRE_OK((*fault)->apply(Clock::now()));
  REQUIRE(frozen(cgroup));
  CHECK((*fault)->undo_plan() == expected);

  CHECK(recover_in_child(dir, **fault) == 0);
  CHECK_FALSE(frozen(cgroup));
  CHECK(child.state() == 'S');

  REQUIRE_OK((*fault)->revert());
  CHECK_FALSE(frozen(cgroup));
  CHECK((*fault)->undo_plan() == json::array());
}

TEST_CASE("undo: cpu_stress's cgroup and workers are removed from its plan alone", "[undo]") {
  faultline::test::skip_unless_root("its workers go into a cgroup of their own");
  if (!cgroup2_mount()) {
    std::printf("SKIPPED: cgroup v2 is not mounted\n");
    std::_Exit(77);
  }
  TempDir dir;
  auto fault = create_fault(request("cpu_stress", {{"load", "20"}, {"workers", "2"}}));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "remove_cgroup");
  const std::string cgroup = plan[0]["path"];
  CHECK(std::regex_match(cgroup,
                         std::regex(".*/faultline-" + std::to_string(getpid()) + R"(-cpu-\d+)")));
  CHECK_FALSE(exists(cgroup));  // named before it exists
  REQUIRE_OK((*fault)->apply(Clock::now()));
  REQUIRE(exists(cgroup));
  const std::vector<pid_t> workers = faultline::test::wait_for_cpu_workers(getpid(), 2);
  REQUIRE(workers.size() == 2);
  CHECK((*fault)->undo_plan() == plan);

  CHECK(recover_in_child(dir, **fault) == 0);
  CHECK_FALSE(exists(cgroup));
  CHECK(faultline::test::still_working(workers) == 0);

  REQUIRE_OK((*fault)->revert());
  CHECK_FALSE(exists(cgroup));
  CHECK((*fault)->undo_plan() == json::array());
}

TEST_CASE("undo: a network fault's tree goes and the user's tbf comes back identically", "[undo]") {
  TempDir dir;
  NamespacePair net;  // skips unless root and namespaces work
  REQUIRE(net.exec(
              net.a(),
              "tc qdisc add dev fl-a root handle 5: tbf rate 10mbit burst 32kb latency 50ms") == 0);
  std::string before, during, after;
  net.exec(net.a(), "tc -d qdisc show dev fl-a", &before);
  REQUIRE(before.find("qdisc tbf 5: root") != std::string::npos);
  // Created from the host's namespace, acting in namespace a by its name.
  auto fault = create_fault(request("bandwidth", {{"interface", "fl-a"},
                                                  {"netns", net.a()},
                                                  {"destination", "10.200.0.2/32"},
                                                  {"rate", "1mbit"}}));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  const json plan = (*fault)->undo_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "remove_tc_root");
  CHECK(plan[0]["interface"] == "fl-a");
  const std::string path = "/run/netns/" + net.a();
  CHECK(plan[0]["netns"] == json{{"inode", netns_inode(path)}, {"path", path}});
  CHECK(plan[0]["restore"]["kind"] == "tbf");
  CHECK(plan[0]["restore"]["handle"] == 0x50000);
  REQUIRE_OK((*fault)->apply(Clock::now()));
  net.exec(net.a(), "tc qdisc show dev fl-a", &during);
  REQUIRE(during.find("qdisc htb fa01: root") != std::string::npos);
  CHECK((*fault)->undo_plan() == plan);

  CHECK(recover_in_child(dir, **fault) == 0);
  net.exec(net.a(), "tc -d qdisc show dev fl-a", &after);
  CHECK(after == before);

  REQUIRE_OK((*fault)->revert());
  net.exec(net.a(), "tc -d qdisc show dev fl-a", &after);
  CHECK(after == before);
  CHECK((*fault)->undo_plan() == json::array());
}

TEST_CASE("undo: an ingress fault's redirect and IFB go, found by namespace identity alone",
          "[undo]") {
  TempDir dir;
  NamespacePair net;
  std::string links_before, qdiscs_before, links_after, qdiscs_after;
  net.exec(net.a(), "ip -o link show", &links_before);
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs_before);
  std::unique_ptr<Fault> fault;
  // Whatever happens, the fault is destroyed (and its destructor reverts) inside namespace a.
  Defer destroy_inside([&] { net.run_in(net.a(), [&] { fault.reset(); }); });
  json plan;
  // Created inside namespace a (its own namespace, as far as the fault knows): the plan can name
  // it only by its inode, and the recovering process, in the host's namespace, must find it.
  net.run_in(net.a(), [&] {
    auto created = create_fault(request("bandwidth", {{"interface", "fl-a"},
                                                      {"direction", "ingress"},
                                                      {"destination", "10.200.0.2/32"},
                                                      {"rate", "1mbit"}}));
    REQUIRE_OK(created);
    fault = std::move(*created);
    REQUIRE_OK(fault->prepare());
    plan = fault->undo_plan();
    REQUIRE_OK(fault->apply(Clock::now()));
  });
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "remove_ingress_redirect");
  CHECK(plan[0]["interface"] == "fl-a");
  CHECK(plan[0]["netns"] == json{{"inode", netns_inode("/run/netns/" + net.a())}});
  const std::string ifb = plan[0]["ifb"];
  CHECK(ifb == fault->observed()["ifb"]);
  CHECK(fault->undo_plan() == plan);
  std::string links_during, qdiscs_during;
  net.exec(net.a(), "ip -o link show", &links_during);
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs_during);
  REQUIRE(links_during.find(ifb) != std::string::npos);
  REQUIRE(qdiscs_during.find("qdisc ingress ffff:") != std::string::npos);

  CHECK(recover_in_child(dir, *fault) == 0);
  net.exec(net.a(), "ip -o link show", &links_after);
  net.exec(net.a(), "tc qdisc show dev fl-a", &qdiscs_after);
  CHECK(links_after == links_before);
  CHECK(qdiscs_after == qdiscs_before);

  net.run_in(net.a(), [&] {
    auto reverted = fault->revert();
    INFO((reverted ? std::string() : reverted.error().message));
    REQUIRE_OK(reverted);
    CHECK(fault->undo_plan() == json::array());
  });
  net.exec(net.a(), "ip -o link show", &links_after);
  CHECK(links_after == links_before);
}

TEST_CASE("undo: network_partition's table is deleted from its plan alone", "[undo]") {
  TempDir dir;
  NamespacePair net;
  std::unique_ptr<Fault> fault;
  Defer destroy_inside([&] { net.run_in(net.a(), [&] { fault.reset(); }); });
  json plan;
  std::string table;
  bool usable = true;
  net.run_in(net.a(), [&] { usable = nftables_usable().has_value(); });
  if (!usable) {
    std::printf("SKIPPED: nftables is not usable here\n");
    std::_Exit(77);
  }
  auto tables = [&] {
    std::string listed;
    net.run_in(net.a(), [&] {
      auto r = nft_run("list tables");
      REQUIRE_OK(r);
      listed = *r;
    });
    return listed;
  };
  net.run_in(net.a(), [&] {
    auto created = create_fault(request("network_partition", {{"destination", "10.200.0.2/32"}}));
    REQUIRE_OK(created);
    fault = std::move(*created);
    REQUIRE_OK(fault->prepare());
    plan = fault->undo_plan();
    REQUIRE_OK(fault->apply(Clock::now()));
    table = fault->observed()["table"];
  });
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["op"] == "delete_nft_table");
  CHECK(plan[0]["netns"] == json{{"inode", netns_inode("/run/netns/" + net.a())}});
  CHECK("inet " + plan[0]["table"].get<std::string>() == table);
  CHECK(fault->undo_plan() == plan);
  REQUIRE(tables().find(table) != std::string::npos);

  CHECK(recover_in_child(dir, *fault) == 0);
  CHECK(tables().find("faultline") == std::string::npos);

  net.run_in(net.a(), [&] {
    REQUIRE_OK(fault->revert());
    CHECK(fault->undo_plan() == json::array());
  });
  CHECK(tables().find("faultline") == std::string::npos);
}

TEST_CASE("undo: a plan for a namespace that is gone has nothing left to do", "[undo]") {
  faultline::test::skip_unless_root("it creates network namespaces");
  TempDir dir;
  json plan;
  {
    NamespacePair net;
    auto fault = create_fault(
        request("bandwidth", {{"interface", "fl-a"}, {"netns", net.a()}, {"rate", "1mbit"}}));
    REQUIRE_OK(fault);
    REQUIRE_OK((*fault)->prepare());
    plan = (*fault)->undo_plan();
    REQUIRE(plan.size() == 1);
  }  // the namespaces, and everything in them, are gone
  CHECK(perform_undo_plan(plan).empty());
}
