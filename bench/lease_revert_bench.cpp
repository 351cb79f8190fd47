// Lease revert: a controller that dies without reverting. A child process of this benchmark
// (the controller) applies process_pause on AGENTS agents with a lease of LEASE and renews it
// every lease/4 through RemoteFaults, as `faultline run` does. After two leases (the pauses must
// still hold: renewal works) the child is SIGKILLed; per agent, the figure is the time from the
// SIGKILL until its paused target runs again, its state in /proc/PID/stat polled every 5 ms.
// Every agent must have reverted within lease + 1 s.
//
//   lease_revert_bench [AGENTS=10] [LEASE=2s]
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "bench/bench_util.h"
#include "bench/fleet_util.h"
#include "controller/run/remote_faults.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

constexpr const char* kPrefix = "fl-bench-lease";
constexpr auto kPoll = std::chrono::milliseconds(5);

// The controller child: apply on every host, say how it went on `report_fd` ('1' all applied,
// '0' not), then renew until killed.
[[noreturn]] void controller(const std::vector<Agent>& hosts, Duration lease, int report_fd) {
  RemoteFaults remote(std::make_shared<AgentPool>(), "lease-bench", lease, Clock::now(),
                      [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  RemoteFault fault;
  fault.owner = "lease-bench";
  fault.fault_id = "pause";
  fault.kind = "process_pause";
  fault.params = {{"count", "1"}};
  fault.selector = bench::group_selector(kPrefix);
  fault.duration = std::chrono::minutes(10);
  fault.lease = lease;
  char ok = '1';
  for (const auto& r : remote.apply(hosts, fault))
    if (r.error) {
      std::fprintf(stderr, "lease_revert_bench controller: %s\n", r.error->message.c_str());
      ok = '0';
    }
  (void)!write(report_fd, &ok, 1);
  for (;;) pause();  // RemoteFaults' own thread renews; SIGKILL ends this
}

// Kills and reaps the controller child when the benchmark leaves early.
struct ChildGuard {
  pid_t pid = 0;
  ~ChildGuard() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

int run(size_t n, Duration lease) {
  bench::ScratchDir dir;
  const std::vector<std::string> names = bench::numbered("lease", n);
  const std::string certs = bench::make_certs(dir.path(), names);
  std::vector<std::unique_ptr<bench::Target>> targets;
  for (const std::string& t : bench::numbered(kPrefix, n))
    targets.push_back(std::make_unique<bench::Target>(t));
  auto agents = bench::start_agents(dir.path(), certs, names, [](size_t i) {
    return bench::group_agent_config(kPrefix, i + 1, "5s");
  });
  std::vector<Agent> hosts;
  for (const auto& a : agents) hosts.push_back(a->inventory_entry());

  int report[2];
  if (pipe(report) != 0) throw std::runtime_error("pipe failed");
  ChildGuard child;
  const pid_t parent = getpid();
  // This process has started no thread and no gRPC yet, so the child may use both.
  child.pid = fork();
  if (child.pid < 0) throw std::runtime_error("fork failed");
  if (child.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    close(report[0]);
    try {
      controller(hosts, lease, report[1]);
    } catch (...) {
    }
    _exit(1);  // never unwind into the parent's objects (agents, targets, directory)
  }
  close(report[1]);
  pollfd p{report[0], POLLIN, 0};
  char ok = 0;
  if (poll(&p, 1, 30000) != 1 || read(report[0], &ok, 1) != 1 || ok != '1')
    throw std::runtime_error("the controller child could not apply on every agent");
  close(report[0]);
  auto paused = [&] {
    size_t k = 0;
    for (const auto& t : targets) k += bench::process_state(t->pid()) == 'T' ? 1 : 0;
    return k;
  };
  const size_t paused_after_apply = paused();
  // Two leases and a random part of a renewal period: the pauses must outlive their first
  // lease, and the kill must fall anywhere in the renewal cycle.
  std::mt19937 rng(std::random_device{}());
  const auto jitter = std::chrono::milliseconds(
      std::uniform_int_distribution<long>(0, static_cast<long>(to_ms(lease) / 4))(rng));
  const auto until = Clock::now() + 2 * lease + jitter;
  while (Clock::now() < until) {
    bench::throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const size_t paused_before_kill = paused();

  const TimePoint killed = Clock::now();
  kill(child.pid, SIGKILL);
  std::vector<std::optional<double>> resumed(n);
  size_t left = n;
  const TimePoint give_up = killed + lease + std::chrono::seconds(10);
  while (left > 0 && Clock::now() < give_up) {
    for (size_t i = 0; i < n; ++i)
      if (!resumed[i] && bench::process_state(targets[i]->pid()) != 'T') {
        resumed[i] = Ms(Clock::now() - killed).count();
        --left;
      }
    if (left > 0) std::this_thread::sleep_for(kPoll);
  }
  waitpid(child.pid, nullptr, 0);
  child.pid = 0;

  const double lease_ms = Ms(lease).count();
  std::printf(
      "lease revert, %zu agents, lease %s, controller SIGKILLed; SIGKILL -> target "
      "running again (polled every 5 ms), %s:\n",
      n, format_duration(lease).c_str(), bench::load_note().c_str());
  std::printf("  paused: %zu/%zu after apply, %zu/%zu after two leases of renewals\n",
              paused_after_apply, n, paused_before_kill, n);
  std::vector<double> values;
  for (size_t i = 0; i < n; ++i) {
    if (resumed[i]) {
      values.push_back(*resumed[i]);
      std::printf("  %-10s %8.1f ms\n", names[i].c_str(), *resumed[i]);
    } else {
      std::printf("  %-10s NOT RESUMED within lease + 10 s\n", names[i].c_str());
    }
  }
  const auto s = bench::stats(values);
  std::printf(
      "  median %.1f ms, max %.1f ms; max - lease = %+.1f ms (goal: <= +1000 ms on every "
      "host)%s\n",
      s.median, s.max, s.max - lease_ms,
      values.size() == n && s.max <= lease_ms + 1000 ? "" : "  GOAL MISSED");
  return values.size() == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10;
  auto lease = parse_duration(argc > 2 ? argv[2] : "2s");
  if (n < 1 || !lease || *lease < std::chrono::milliseconds(400)) {
    std::fprintf(stderr, "usage: lease_revert_bench [AGENTS>=1] [LEASE>=400ms]\n");
    return 2;
  }
  bench::install_interrupt_flag();
  try {
    return run(n, *lease);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lease_revert_bench: %s\n", e.what());
    return 1;
  }
}
