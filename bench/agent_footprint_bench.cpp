// Agent footprint: one faultline-agent (mutual TLS) on 127.0.0.1, its resident memory (VmRSS)
// and CPU time (utime + stime) sampled once a second over SECONDS, first idle, then with one
// active process_pause fault whose lease a client in this benchmark renews every lease/4
// (RemoteFaults, as `faultline run` does): a fleet's usual "busy idle". The agent's guardian
// (the process it forks at start to hold undo steps) is reported on its own line.
//
//   agent_footprint_bench [SECONDS=60]
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "bench/bench_util.h"
#include "bench/fleet_util.h"
#include "controller/run/remote_faults.h"

using namespace faultline;

namespace {

constexpr const char* kPrefix = "fl-bench-foot";
constexpr auto kSettle = std::chrono::seconds(2);
constexpr auto kLease = std::chrono::seconds(4);

// A field of /proc/PID/status ("Threads", "VmRSS"...) as a number; 0 if absent.
long status_field(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key + ":")) return std::stol(line.substr(key.size() + 1));
  return 0;
}

// Proportional set size in KiB: shared pages divided among the processes that map them.
long pss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Pss:")) return std::stol(line.substr(4));
  return 0;
}

// Where the resident memory is: /proc/PID/smaps's Rss summed by what is mapped (a file's base
// name, [heap], [stack], or anonymous), largest first.
std::vector<std::pair<std::string, double>> rss_by_mapping(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, long> kib;
  std::string current = "anonymous";
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    // A mapping's header: "start-end perms offset dev inode [path]".
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 16 &&
        !line.starts_with("Rss")) {
      std::istringstream f(line);
      std::string range, perms, offset, dev, inode, path;
      f >> range >> perms >> offset >> dev >> inode;
      std::getline(f >> std::ws, path);
      current = path.empty() ? "anonymous" : path.substr(path.rfind('/') + 1);
      if (current.empty()) current = path;
    } else if (line.starts_with("Rss:")) {
      kib[current] += std::stol(line.substr(4));
    }
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, k] : kib) out.emplace_back(name, static_cast<double>(k) / 1024.0);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

// Start-up to ready: a new agent with an empty state file, from fork to its port accepting a
// connection (it listens only after the config, the state file's lock, recovery and the
// guardian); polled every 1 ms. Peer: the same binary's bare start (`--version`).
void startup(const std::string& dir, const std::string& certs, int runs) {
  std::vector<double> ready_ms, bare_ms;
  for (int r = 0; r < runs; ++r) {
    bench::throw_if_interrupted();
    bench::BenchAgent agent(dir, certs, "start-1", bench::group_agent_config(kPrefix, 1, "5s"));
    std::filesystem::remove(dir + "/start-1-state.json");
    const auto t0 = std::chrono::steady_clock::now();
    agent.start();
    if (!agent.ready(5000, 1)) throw std::runtime_error("agent did not start: " + agent.log_tail());
    ready_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    agent.stop();
    const auto t1 = std::chrono::steady_clock::now();
    (void)bench::wait_cpu_seconds(bench::spawn({bench::agent_binary(), "--version"}));
    bare_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count());
  }
  const auto ready = bench::stats(ready_ms), bare = bench::stats(bare_ms);
  std::printf("  start-up to ready (empty state file, %d starts): median %.1f ms, max %.1f ms; "
              "peer `faultline-agent --version` %.1f ms: %.2fx; goal < 50 ms\n",
              runs, ready.median, ready.max, bare.median, ready.median / bare.median);
}

struct Footprint {
  double rss_median_mib = 0, rss_max_mib = 0, cpu_percent = 0, pss_mib = 0;
  long threads = 0;
  double anon_mib = 0, file_mib = 0;  // RSS split: private anonymous, file-backed (libraries)
};

Footprint sample(pid_t pid, int seconds) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<double> rss;
  const long cpu0 = bench::cpu_ticks(pid);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= seconds; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::seconds(i));
    bench::throw_if_interrupted();
    rss.push_back(static_cast<double>(bench::rss_kib(pid)) / 1024.0);
  }
  const long cpu1 = bench::cpu_ticks(pid);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto s = bench::stats(rss);
  return {s.median,
          s.max,
          100.0 * (static_cast<double>(cpu1 - cpu0) / tick) / wall,
          static_cast<double>(pss_kib(pid)) / 1024.0,
          status_field(pid, "Threads"),
          static_cast<double>(status_field(pid, "RssAnon")) / 1024.0,
          static_cast<double>(status_field(pid, "RssFile")) / 1024.0};
}

void print(const char* label, const Footprint& f) {
  std::printf(
      "  %-28s RSS median %5.1f MiB (max %5.1f, PSS %5.1f), %2ld threads, CPU %.3f%% of a "
      "core\n",
      label, f.rss_median_mib, f.rss_max_mib, f.pss_mib, f.threads, f.cpu_percent);
  std::printf(
      "  %-28s RSS = %.1f MiB anonymous (heap, stacks) + %.1f MiB file-backed (the binary "
      "and its shared libraries)\n",
      "", f.anon_mib, f.file_mib);
}

int run(int seconds) {
  bench::ScratchDir dir;
  const std::string certs = bench::make_certs(dir.path(), {"foot-1", "start-1"});
  bench::Target target(std::string(kPrefix) + "-1");
  auto agents = bench::start_agents(dir.path(), certs, {"foot-1"}, [](size_t) {
    return bench::group_agent_config(kPrefix, 1, "5s");
  });
  const pid_t agent = agents.front()->pid();
  std::this_thread::sleep_for(kSettle);
  const Footprint idle = sample(agent, seconds);
  const auto idle_mappings = rss_by_mapping(agent);
  pid_t guardian = 0;
  for (pid_t c : bench::children_of(agent)) guardian = c;

  Footprint busy;
  size_t renew_failures = 0;
  char state_at_end = '?';
  {
    RemoteFaults remote(std::make_shared<AgentPool>(), "footprint-bench", kLease, Clock::now(),
                        [&](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      ++renew_failures;
    });
    RemoteFault fault;
    fault.owner = "footprint-bench";
    fault.fault_id = "pause";
    fault.kind = "process_pause";
    fault.params = {{"count", "1"}};
    fault.selector = bench::group_selector(kPrefix);
    fault.duration = std::chrono::seconds(seconds) + kSettle + std::chrono::seconds(30);
    fault.lease = kLease;
    const auto applied = remote.apply({agents.front()->inventory_entry()}, fault);
    if (applied.front().error) throw std::runtime_error("apply: " + applied.front().error->message);
    std::this_thread::sleep_for(kSettle);
    busy = sample(agent, seconds);
    state_at_end = bench::process_state(target.pid());
    remote.revert_all();
  }

  std::printf("agent footprint, one faultline-agent (mutual TLS), %d s per phase, %ld cores, %s:\n",
              seconds, sysconf(_SC_NPROCESSORS_ONLN), bench::load_note().c_str());
  print("idle:", idle);
  print("1 fault, renewed every 1s:", busy);
  std::printf(
      "  (the fault held for the whole phase: target state '%c' at its end, %zu renewal "
      "problems)\n",
      state_at_end, renew_failures);
  if (guardian > 0)
    std::printf("  guardian process (forked at start): RSS %.1f MiB, PSS %.1f MiB\n",
                static_cast<double>(bench::rss_kib(guardian)) / 1024.0,
                static_cast<double>(pss_kib(guardian)) / 1024.0);
  std::printf("  where the idle RSS is (/proc/PID/smaps, MiB):");
  size_t shown = 0;
  double rest = 0;
  for (const auto& [name, mib] : idle_mappings)
    if (shown < 12 && mib >= 0.05) {
      std::printf("%s %s %.2f", shown++ == 0 ? "" : ",", name.c_str(), mib);
    } else {
      rest += mib;
    }
  std::printf(", the rest %.2f\n", rest);
  startup(dir.path(), certs, 10);
  std::printf("  goals: RSS < 15 MiB, CPU < 0.5%% of a core\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
  if (seconds < 1) {
    std::fprintf(stderr, "usage: agent_footprint_bench [SECONDS>=1]\n");
    return 2;
  }
  bench::install_interrupt_flag();
  try {
    return run(seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agent_footprint_bench: %s\n", e.what());
    return 1;
  }
}
