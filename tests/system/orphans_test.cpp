// What faults leave when nothing recorded them (faultline and its guardian both killed): real
// faults are applied and never reverted, then find_orphans() must name exactly what they left in
// the test's own namespaces and cgroups (other tests may run beside this one, so the host's
// totals are not asserted), by names and handles alone, without changing anything; performing
// the steps it gives must put every namespace back exactly as it was before the faults.
#include "injectors/linux/orphans.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "core/defer.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/netns.h"

using namespace faultline;
using faultline::test::ChildProcess;
using faultline::test::NamespacePair;
using faultline::test::run_command;
using nlohmann::json;

namespace {

void set_param(FaultRequest& r, const std::string& key, const std::string& value) {
  for (const ParamSpec& s : find_injector(r.kind)->params)
    if (s.name == key) r.params.set(key, *parse_param_value(s, value));
}

FaultRequest request(const std::string& kind,
                     const std::vector<std::pair<std::string, std::string>>& params) {
  FaultRequest r;
  r.id = "orphans-" + kind;
  r.kind = kind;
  for (const auto& [k, v] : params) set_param(r, k, v);
  for (const ParamSpec& s : find_injector(kind)->params)
    if (!r.params.has(s.name) && !s.default_value.empty())
      set_param(r, std::string(s.name), std::string(s.default_value));
  r.duration = std::chrono::seconds(60);
  r.max_processes = 5;
  return r;
}

uint64_t netns_inode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_ino);
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// Runs a command and returns what it printed; a failing command fails the test, saying why.
std::string output_of(const std::string& command) {
  auto r = run_command({"/bin/sh", "-c", command + " 2>&1"});
  INFO(command << " exited " << r.exit_code << ": " << r.out);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Everything a fault could leave in a namespace, as its tools show it. htb's count of packets
// sent on untouched (direct_packets_stat) is left out: neighbour discovery between the
// namespaces moves it at any moment, and it is a counter, not a change.
std::string net_state(const std::string& enter) {
  return "qdiscs:\n" +
         output_of(enter + " tc -d qdisc show | sed 's/ direct_packets_stat [0-9]*//'") +
         "links:\n" + output_of(enter + " ip -o link show") + "tables:\n" +
         output_of(enter + " nft list tables");
}

uint64_t step_inode(const json& step) {
  const auto netns = step.find("netns");
  return netns == step.end() ? 0 : netns->value("inode", uint64_t{0});
}

json as_json(const std::vector<Orphan>& orphans) {
  json out = json::array();
  for (const Orphan& o : orphans) out.push_back({{"what", o.what}, {"step", o.step}});
  return out;
}

}  // namespace

TEST_CASE("orphans: what unreverted faults left is found by name alone and removed exactly",
          "[orphans]") {
  NamespacePair net;  // skips unless root and namespaces work
  const auto v2 = cgroup2_mount();
  if (!v2) {
    std::printf("SKIPPED: cgroup v2 is not mounted\n");
    std::_Exit(77);
  }
  bool nft_usable = true;
  net.run_in(net.a(), [&] { nft_usable = nftables_usable().has_value(); });
  if (!nft_usable) {
    std::printf("SKIPPED: nftables is not usable here\n");
    std::_Exit(77);
  }
  const std::string pid = std::to_string(getpid());
  const std::string path_a = "/run/netns/" + net.a(), path_b = "/run/netns/" + net.b();
  const NetnsLocation where_a{path_a, 0, netns_inode(path_a)};
  const NetnsLocation where_b{path_b, 0, netns_inode(path_b)};
  const std::string in_a = "ip netns exec " + net.a(), in_b = "ip netns exec " + net.b();

  // What is not faultline's and must be neither found nor touched: an IFB named as the kernel
  // names its own, a user's root qdisc, a user's table.
  output_of(in_b + " ip link add ifb0 type ifb");
  output_of(in_b + " tc qdisc add dev fl-b root handle 5: tbf rate 10mbit burst 32kb latency 50ms");
  output_of(in_b + " nft add table inet filter");

  // A namespace that only a process holds (no /run/netns name), with an IFB of faultline's name
  // left in it. The shell execs sleep once the IFB is there.
  const std::string ifb_c = "flifb" + std::to_string(getpid() % 10000000) + "q";
  ChildProcess holder(
      "/usr/bin/unshare", "fl-test-orphans-netns",
      {"-n", "/bin/sh", "-c", "ip link add " + ifb_c + " type ifb && exec sleep 1000"});
  for (int i = 0; i < 500; ++i) {
    const auto p = read_process_stat(holder.pid());
    if (!p || p->comm == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto holder_stat = read_process_stat(holder.pid());
  REQUIRE(holder_stat);
  REQUIRE(holder_stat->comm == "sleep");
  const std::string path_c = "/proc/" + std::to_string(holder.pid()) + "/ns/net";
  const NetnsLocation where_c{path_c, holder_stat->start_ticks, netns_inode(path_c)};
  const std::string in_c = "nsenter -t " + std::to_string(holder.pid()) + " -n";
  const std::string links_c_before = "links:\n" + output_of(in_c + " ip -o link show lo");

  const std::string before_a = net_state(in_a), before_b = net_state(in_b);

  // The faults, applied and never reverted: a tc tree with an IFB for both directions, a
  // partition's table, CPU workers in a cgroup.
  auto bandwidth = create_fault(request("bandwidth", {{"interface", "fl-a"},
                                                      {"netns", net.a()},
                                                      {"direction", "both"},
                                                      {"destination", "10.200.0.2/32"},
                                                      {"rate", "1mbit"}}));
  REQUIRE(bandwidth);
  std::unique_ptr<Fault> partition;
  auto cpu = create_fault(request("cpu_stress", {{"load", "10"}, {"workers", "1"}}));
  REQUIRE(cpu);
  // Leftovers of the test itself, found or not, never outlive it.
  std::string v1_cgroup;
  Defer cleanup([&] {
    (void)(*bandwidth)->revert();
    net.run_in(net.a(), [&] { partition.reset(); });
    (void)(*cpu)->revert();
    if (!v1_cgroup.empty()) (void)kill_and_remove_cgroup(v1_cgroup);
  });
  {
    auto prepared = (*bandwidth)->prepare();
    INFO((prepared ? "" : prepared.error().message));
    REQUIRE(prepared);
    auto applied = (*bandwidth)->apply(Clock::now());
    INFO((applied ? "" : applied.error().message));
    REQUIRE(applied);
  }
  net.run_in(net.a(), [&] {
    auto created = create_fault(request("network_partition", {{"destination", "10.200.0.2/32"}}));
    REQUIRE(created);
    partition = std::move(*created);
    auto prepared = partition->prepare();
    INFO((prepared ? "" : prepared.error().message));
    REQUIRE(prepared);
    auto applied = partition->apply(Clock::now());
    INFO((applied ? "" : applied.error().message));
    REQUIRE(applied);
  });
  {
    auto prepared = (*cpu)->prepare();
    INFO((prepared ? "" : prepared.error().message));
    REQUIRE(prepared);
    auto applied = (*cpu)->apply(Clock::now());
    INFO((applied ? "" : applied.error().message));
    REQUIRE(applied);
  }
  const json bandwidth_plan = (*bandwidth)->undo_plan();
  const json partition_plan = partition->undo_plan();
  const json cpu_plan = (*cpu)->undo_plan();
  REQUIRE(bandwidth_plan.size() == 2);
  REQUIRE(bandwidth_plan[0]["op"] == "remove_ingress_redirect");
  REQUIRE(bandwidth_plan[1]["op"] == "remove_tc_root");
  REQUIRE(partition_plan.size() == 1);
  REQUIRE(cpu_plan.size() == 1);
  const std::string ifb_a = bandwidth_plan[0]["ifb"];
  const std::string table = partition_plan[0]["table"];
  const std::string cpu_cgroup = cpu_plan[0]["path"];
  REQUIRE(exists(cpu_cgroup));

  // An IFB of faultline's name that nothing redirects to (its fault died between creating it and
  // redirecting to it).
  const std::string ifb_b = "flifb" + std::to_string(getpid() % 10000000) + "z";
  output_of(in_b + " ip link add " + ifb_b + " type ifb");

  // A faultline cgroup in a v1 hierarchy, with a process in it, where there is one.
  std::vector<std::string> mounts = cgroup_mounts();
  REQUIRE(!mounts.empty());
  REQUIRE(mounts.front() == *v2);
  ChildProcess in_v1("/bin/sleep", "fl-test-orphans-v1", {"1000"});
  if (mounts.size() > 1) {
    v1_cgroup = mounts[1] + "/faultline-" + pid + "-orphans-0";
    REQUIRE(mkdir(v1_cgroup.c_str(), 0755) == 0);
    REQUIRE(write_cgroup_file(v1_cgroup + "/cgroup.procs", std::to_string(in_v1.pid())));
  }

  const std::string during_a = net_state(in_a), during_b = net_state(in_b);
  const std::string links_c_during = "links:\n" + output_of(in_c + " ip -o link show");
  REQUIRE(during_a != before_a);
  REQUIRE(during_b != before_b);

  auto found = find_orphans();
  INFO((found ? "" : found.error().message));
  REQUIRE(found);
  // Ours: in the test's namespaces, or cgroups that this process made.
  std::vector<Orphan> ours;
  for (const Orphan& o : *found) {
    const uint64_t inode = step_inode(o.step);
    const bool our_cgroup =
        o.step.value("op", "") == "remove_cgroup" &&
        o.step.value("path", "").find("/faultline-" + pid + "-") != std::string::npos;
    if (inode == where_a.inode || inode == where_b.inode || inode == where_c.inode || our_cgroup)
      ours.push_back(o);
  }
  const std::string ns_a = fmt::format("in netns {} (net:[{}])", net.a(), where_a.inode);
  const std::string ns_b = fmt::format("in netns {} (net:[{}])", net.b(), where_b.inode);
  const std::string ns_c = fmt::format("in the network namespace of pid {} (sleep) (net:[{}])",
                                       holder.pid(), where_c.inode);
  std::vector<Orphan> expected = {
      {"tc root fa01: on fl-a " + ns_a, remove_tc_root_step(where_a, "fl-a", std::nullopt)},
      {"IFB " + ifb_a + " and the ingress qdisc of fl-a that redirects to it, " + ns_a,
       remove_ingress_redirect_step(where_a, "fl-a", ifb_a)},
      {"nftables table inet " + table + " " + ns_a, delete_nft_table_step(where_a, table)},
      {"IFB " + ifb_b + ", which no interface redirects to, " + ns_b,
       remove_ifb_step(where_b, ifb_b)},
      {"IFB " + ifb_c + ", which no interface redirects to, " + ns_c,
       remove_ifb_step(where_c, ifb_c)},
      {"cgroup " + cpu_cgroup + " (made by pid " + pid + ", which still exists)",
       remove_cgroup_step(cpu_cgroup)},
  };
  if (!v1_cgroup.empty())
    expected.push_back({"cgroup " + v1_cgroup + " (made by pid " + pid + ", which still exists)",
                        remove_cgroup_step(v1_cgroup)});
  CHECK(as_json(ours).dump(1) == as_json(expected).dump(1));

  // Looking changed nothing.
  CHECK(net_state(in_a) == during_a);
  CHECK(net_state(in_b) == during_b);
  CHECK("links:\n" + output_of(in_c + " ip -o link show") == links_c_during);

  // Each fault's own steps name the same objects as the orphans found for them, so a live run's
  // plan can keep a scan away from what it holds.
  for (const json& plan : {bandwidth_plan, partition_plan, cpu_plan})
    for (const json& step : plan) {
      INFO(undo_text(step));
      const std::string key = undo_object_key(step);
      CHECK(!key.empty());
      size_t same = 0;
      for (const Orphan& o : ours) same += undo_object_key(o.step) == key ? 1 : 0;
      CHECK(same == 1);
    }

  // Performing what was found puts everything back as it was before the faults.
  for (const Orphan& o : ours) {
    auto done = perform_undo_step(o.step);
    INFO(o.what << ": " << (done ? "" : done.error().message));
    CHECK(done);
  }
  CHECK(net_state(in_a) == before_a);
  CHECK(net_state(in_b) == before_b);
  CHECK("links:\n" + output_of(in_c + " ip -o link show lo") == links_c_before);
  CHECK("links:\n" + output_of(in_c + " ip -o link show") == links_c_before);
  CHECK_FALSE(exists(cpu_cgroup));
  if (!v1_cgroup.empty()) {
    CHECK_FALSE(exists(v1_cgroup));
    CHECK(in_v1.wait_exit(2000));  // killed with its cgroup
  }

  // Nothing of ours is left to find, and the faults' own reverts have nothing left to do.
  auto again = find_orphans();
  INFO((again ? "" : again.error().message));
  REQUIRE(again);
  for (const Orphan& o : *again) {
    INFO(o.what);
    CHECK_FALSE((step_inode(o.step) == where_a.inode || step_inode(o.step) == where_b.inode ||
                 step_inode(o.step) == where_c.inode ||
                 o.step.value("path", "").find("/faultline-" + pid + "-") != std::string::npos));
  }
  auto reverted = (*bandwidth)->revert();
  INFO((reverted ? "" : reverted.error().message));
  CHECK(reverted);
  net.run_in(net.a(), [&] {
    auto r = partition->revert();
    INFO((r ? "" : r.error().message));
    CHECK(r);
  });
  auto cpu_reverted = (*cpu)->revert();
  INFO((cpu_reverted ? "" : cpu_reverted.error().message));
  CHECK(cpu_reverted);
  CHECK(net_state(in_a) == before_a);
  CHECK(net_state(in_b) == before_b);
}
