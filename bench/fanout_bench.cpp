// Fan-out: one process_pause fault applied on N real agents at once (mutual TLS, loopback) and
// reverted on all of them, through RemoteFaults as `faultline run` does it. Each round's figure
// is the time from the controller's call to the last agent's answer. Next to it, in the same
// run and the same rounds, the peer: the same round against one agent. The effect is checked
// every round: each agent's target must be stopped ('T') after apply, running after revert.
//
//   fanout_bench [N=50] [ROUNDS=30]
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench/bench_util.h"
#include "bench/fleet_util.h"
#include "controller/run/remote_faults.h"
#include "core/user_regex.h"
#include "injectors/process/targets.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

constexpr const char* kPrefix = "fl-bench-fan";

struct Round {
  double apply_ms = 0, revert_ms = 0;
  size_t apply_errors = 0, revert_errors = 0;
  size_t paused = 0, resumed = 0;  // targets seen stopped after apply, running after revert
  std::string first_error;
  double agents_cpu_ms = 0;      // all agents' CPU time during the apply call
  double controller_cpu_ms = 0;  // this process's, during the apply call
};

double self_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
          static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3);
}

double agents_cpu_ms(const std::vector<pid_t>& agents) {
  long ticks = 0;
  for (pid_t p : agents) ticks += bench::cpu_ticks(p);
  return static_cast<double>(ticks) * 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void note_error(Round& r, const std::optional<Error>& e, size_t& count) {
  if (!e) return;
  ++count;
  if (r.first_error.empty()) r.first_error = e->message;
}

// Applies and reverts `fault_id` on `hosts`; `targets` are the processes they must pause.
Round one_round(RemoteFaults& remote, const std::vector<Agent>& hosts,
                const std::vector<pid_t>& agent_pids,
                const std::vector<std::unique_ptr<bench::Target>>& targets,
                const std::string& fault_id) {
  RemoteFault fault;
  fault.owner = "fanout-bench";
  fault.fault_id = fault_id;
  fault.kind = "process_pause";
  fault.params = {{"count", "1"}};
  fault.selector = bench::group_selector(kPrefix);
  fault.duration = std::chrono::seconds(30);
  fault.lease = std::chrono::seconds(60);
  Round r;
  const double agents0 = agents_cpu_ms(agent_pids), self0 = self_cpu_ms();
  auto t0 = Clock::now();
  for (const auto& h : remote.apply(hosts, fault)) note_error(r, h.error, r.apply_errors);
  r.apply_ms = Ms(Clock::now() - t0).count();
  r.controller_cpu_ms = self_cpu_ms() - self0;
  r.agents_cpu_ms = agents_cpu_ms(agent_pids) - agents0;
  for (size_t i = 0; i < hosts.size(); ++i)
    r.paused += bench::process_state(targets[i]->pid()) == 'T' ? 1 : 0;
  t0 = Clock::now();
  for (const auto& h : remote.revert(fault_id)) note_error(r, h.error, r.revert_errors);
  r.revert_ms = Ms(Clock::now() - t0).count();
  for (size_t i = 0; i < hosts.size(); ++i) {
    const char s = bench::process_state(targets[i]->pid());
    r.resumed += s != 'T' && s != '?' ? 1 : 0;
  }
  return r;
}

// The transport's share: one Describe on every host at once (no /proc scan, no state file),
// a thread per host as RemoteFaults makes them.
double describe_all(RemoteFaults& remote, const std::vector<Agent>& hosts, size_t& errors) {
  std::vector<std::shared_ptr<AgentClient>> clients;
  for (const Agent& a : hosts) clients.push_back(remote.client(a));
  std::vector<char> failed(hosts.size(), 0);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < hosts.size(); ++i)
    threads.emplace_back(
        [&, i] { failed[i] = clients[i]->describe(std::chrono::seconds(10)) ? 0 : 1; });
  for (std::thread& t : threads) t.join();
  const double ms = Ms(Clock::now() - t0).count();
  for (char f : failed) errors += static_cast<size_t>(f);
  return ms;
}

void print_series(const char* label, const std::vector<Round>& rounds, size_t hosts) {
  std::vector<double> apply, revert;
  size_t errors = 0, paused = 0, resumed = 0;
  double agents_cpu = 0, controller_cpu = 0;
  std::string first_error;
  for (const Round& r : rounds) {
    agents_cpu += r.agents_cpu_ms;
    controller_cpu += r.controller_cpu_ms;
    if (first_error.empty()) first_error = r.first_error;
    apply.push_back(r.apply_ms);
    revert.push_back(r.revert_ms);
    errors += r.apply_errors + r.revert_errors;
    paused += r.paused;
    resumed += r.resumed;
  }
  const auto a = bench::stats(apply), v = bench::stats(revert);
  std::printf("  %-10s apply  median %7.2f ms, p99 %7.2f ms, max %7.2f ms\n", label, a.median,
              a.p99, a.max);
  std::printf("  %-10s revert median %7.2f ms, p99 %7.2f ms, max %7.2f ms\n", "", v.median, v.p99,
              v.max);
  std::printf("  %-10s effect: paused %zu/%zu, resumed %zu/%zu, RPC errors %zu\n", "", paused,
              rounds.size() * hosts, resumed, rounds.size() * hosts, errors);
  if (!first_error.empty()) std::printf("  %-10s first error: %s\n", "", first_error.c_str());
  // What the round's CPU work alone takes on this machine's cores, whatever the fan-out does.
  const double cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  const double per_round = (agents_cpu + controller_cpu) / static_cast<double>(rounds.size());
  std::printf(
      "  %-10s apply CPU: agents %.1f ms per agent, controller %.1f ms per round; floor "
      "on %.0f cores %.1f ms\n",
      "", agents_cpu / static_cast<double>(rounds.size() * hosts),
      controller_cpu / static_cast<double>(rounds.size()), cores, per_round / cores);
}

double median_of(const std::vector<Round>& rounds, double Round::*field) {
  std::vector<double> v;
  for (const Round& r : rounds) v.push_back(r.*field);
  return bench::stats(v).median;
}

int run(size_t n, int rounds) {
  bench::ScratchDir dir;
  const std::vector<std::string> names = bench::numbered("fan", n);
  const std::string certs = bench::make_certs(dir.path(), names);
  std::vector<std::unique_ptr<bench::Target>> targets;
  for (const std::string& t : bench::numbered(kPrefix, n))
    targets.push_back(std::make_unique<bench::Target>(t));
  const auto started = Clock::now();
  auto agents = bench::start_agents(dir.path(), certs, names, [](size_t i) {
    return bench::group_agent_config(kPrefix, i + 1, "5s");
  });
  const double start_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<Agent> hosts;
  std::vector<pid_t> pids;
  for (const auto& a : agents) {
    hosts.push_back(a->inventory_entry());
    pids.push_back(a->pid());
  }

  // RemoteFaults' own log (renewals, "fault X ended by controller") is not this benchmark's
  // output; an unreachable agent shows in the error counts.
  RemoteFaults remote(std::make_shared<AgentPool>(), "fanout-bench", std::chrono::seconds(60),
                      Clock::now(), [](const std::string&) {});
  // The first round makes every connection (TCP, TLS handshake): reported on its own.
  const Round cold_all = one_round(remote, hosts, pids, targets, "cold-all");
  std::vector<Round> all, single;
  std::vector<double> describe;
  size_t describe_errors = 0;
  for (int i = 0; i < rounds; ++i) {
    bench::throw_if_interrupted();
    all.push_back(one_round(remote, hosts, pids, targets, fmt::format("all-{}", i)));
    single.push_back(
        one_round(remote, {hosts.front()}, {pids.front()}, targets, fmt::format("one-{}", i)));
    describe.push_back(describe_all(remote, hosts, describe_errors));
  }

  std::printf(
      "fan-out, process_pause on %zu agents (mutual TLS, 127.0.0.1), %d rounds, %ld "
      "cores, %s; agents started in %.1f s:\n",
      n, rounds, sysconf(_SC_NPROCESSORS_ONLN), bench::load_note().c_str(), start_s);
  std::printf("  first round (connections made): apply %.2f ms, revert %.2f ms, paused %zu/%zu\n",
              cold_all.apply_ms, cold_all.revert_ms, cold_all.paused, n);
  if (!cold_all.first_error.empty())
    std::printf("  first round's first error: %s\n", cold_all.first_error.c_str());
  print_series(fmt::format("{} agents", n).c_str(), all, n);
  print_series("1 agent", single, 1);
  const auto d = bench::stats(describe);
  std::printf(
      "  %-10s describe median %7.2f ms, p99 %7.2f ms, max %7.2f ms (RPC only), errors %zu\n",
      fmt::format("{} agents", n).c_str(), d.median, d.p99, d.max, describe_errors);
  std::printf("  ratio of medians, %zu agents / 1 agent: apply %.1fx, revert %.1fx\n", n,
              median_of(all, &Round::apply_ms) / median_of(single, &Round::apply_ms),
              median_of(all, &Round::revert_ms) / median_of(single, &Round::revert_ms));
  // What one agent's apply spends finding its target: the same selector and policy, resolved
  // here, on the same processes (the agents', their guardians', the targets' and the rest).
  {
    Protection protection;
    protection.agent_policy.push_back({});
    protection.agent_policy.back().cmdline =
        fmt::format("^{}-{}", kPrefix, regex_not_starting_with("1 "));
    std::vector<double> scan_ms;
    size_t processes = 0;
    for (int i = 0; i < 50; ++i) {
      const double cpu0 = self_cpu_ms();
      auto r = resolve_processes(bench::group_selector(kPrefix), protection);
      scan_ms.push_back(self_cpu_ms() - cpu0);
      if (!r || r->matched.size() != 1) throw std::runtime_error("the scan did not find 1 target");
    }
    processes = list_pids().size();
    std::vector<double> compile_ms;
    for (int i = 0; i < 50; ++i) {
      const double cpu0 = self_cpu_ms();
      auto m = ProcessMatcher::compile(protection.agent_policy.front());
      auto g = ProcessMatcher::compile(bench::group_selector(kPrefix));
      compile_ms.push_back(self_cpu_ms() - cpu0);
      if (!m || !g) throw std::runtime_error("cannot compile the selectors");
    }

    std::printf("  one agent's target search (resolve_processes, its selector and policy), CPU: "
                "median %.2f ms over %zu processes (compiling its two patterns: %.3f ms)\n",
                bench::stats(scan_ms).median, processes, bench::stats(compile_ms).median);
  }
  std::printf("  goals: apply p99 < 50 ms for 50 agents; agent CPU < 1.5 ms per apply\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 30;
  if (n < 1 || rounds < 1) {
    std::fprintf(stderr, "usage: fanout_bench [N>=1] [ROUNDS>=1]\n");
    return 2;
  }
  bench::install_interrupt_flag();
  try {
    return run(n, rounds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fanout_bench: %s\n", e.what());
    return 1;
  }
}
