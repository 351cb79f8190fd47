// CPU stress accuracy in every standard view: faultline's cpu_stress and stress-ng --cpu-load
// as a peer, at 10/30/50/70/90% with 1 and 2 workers (pinned to CPUs 0 and 1), one after the
// other in the same run (`cpu_accuracy_bench FAULTLINE [SECONDS] [first]`; `first` runs both
// tools' workers SCHED_FIFO, for a machine shared with other load). For each, the load per worker
// over the same interval as seen by:
//   /proc/stat   busy time of the workers' CPUs (tick accounting: top, mpstat, node_exporter);
//                this includes anything else that ran on those CPUs, so a quiet baseline of the
//                same CPUs, measured just before, is printed beside it
//   ticks        cpuacct.usage_user + usage_sys of a v1 cpuacct cgroup holding only the workers:
//                the same tick samples as /proc/stat, charged to the workers alone
//   cpuacct      cpuacct.usage of that cgroup (precise)
//   cpu.stat     usage_usec of the workers' cgroup v2 (faultline's own; one made for stress-ng)
//   schedstat    the workers' /proc/PID/schedstat (precise)
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

#include "bench/bench_util.h"
#include "injectors/cpu_stress/cpu_views.h"
#include "injectors/linux/cgroup.h"
#include "injectors/process/proc.h"

using namespace faultline;

namespace {

// Finds `count` busy workers among the children of `tool` (the tool forks them).
std::vector<pid_t> find_workers(pid_t tool, const std::string& comm_prefix, size_t count) {
  for (int i = 0; i < 300; ++i) {
    std::vector<pid_t> found;
    for (pid_t child : bench::children_of(tool)) {
      auto p = read_process_stat(child);
      if (p && p->comm.starts_with(comm_prefix)) found.push_back(child);
    }
    if (found.size() >= count) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

std::string cgroup2_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) return cgroup2_directory(line.substr(3)).value_or("");
  return "";
}

// A cgroup directory the benchmark makes and removes once its processes are gone.
struct BenchCgroup {
  std::string dir;
  explicit BenchCgroup(std::string d) : dir(std::move(d)) {
    if (mkdir(dir.c_str(), 0755) != 0) dir.clear();
  }
  ~BenchCgroup() {
    for (int i = 0; !dir.empty() && rmdir(dir.c_str()) != 0 && i < 100; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void add(pid_t pid) const {
    if (!dir.empty()) (void)write_cgroup_file(dir + "/cgroup.procs", std::to_string(pid));
  }
};

struct Sample {
  double proc_stat = 0, ticks = 0, cpuacct = 0, cpu_stat = 0, schedstat = 0;
};

Sample sample(const std::vector<int>& cpus, const std::string& v1, const std::string& v2,
              const std::vector<pid_t>& workers) {
  Sample s;
  for (int cpu : cpus) s.proc_stat += proc_stat_busy_seconds(cpu).value_or(NAN);
  auto acct = cpuacct_usage_seconds(v1);
  s.ticks = acct ? acct->ticks : NAN;
  s.cpuacct = acct ? acct->precise : NAN;
  s.cpu_stat = cgroup2_usage_seconds(v2).value_or(NAN);
  for (pid_t w : workers) s.schedstat += bench::cpu_seconds(w);
  return s;
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Busy share of `cpus` in /proc/stat over `seconds`, per CPU, in percent.
double quiet_baseline(const std::vector<int>& cpus, double seconds) {
  double b0 = 0, b1 = 0;
  for (int cpu : cpus) b0 += proc_stat_busy_seconds(cpu).value_or(NAN);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  for (int cpu : cpus) b1 += proc_stat_busy_seconds(cpu).value_or(NAN);
  return 100.0 * (b1 - b0) / since(t0) / static_cast<double>(cpus.size());
}

struct Row {
  double baseline = NAN;
  Sample load;  // percent per worker
};

// With `first`, the workers (both tools') run SCHED_FIFO, so that other load on a shared
// machine cannot take their CPU: what is left is the duty cycle and each view's accounting.
bool g_first = false;

Row run_tool(const std::vector<std::string>& argv, const std::string& comm, bool own_cgroup2,
             const std::vector<int>& cpus, double seconds, const std::string& acct_root,
             const std::string& tag) {
  Row row;
  row.baseline = quiet_baseline(cpus, 1.0);
  BenchCgroup v1(acct_root + "/faultline-bench-" + std::to_string(getpid()) + "-" + tag);
  std::optional<BenchCgroup> v2;
  const pid_t tool = bench::spawn(argv);
  const auto workers = find_workers(tool, comm, cpus.size());
  if (workers.empty()) {
    bench::kill_group(tool);
    row.load = {NAN, NAN, NAN, NAN, NAN};
    return row;
  }
  if (!own_cgroup2)
    v2.emplace(*cgroup2_mount() + "/faultline-bench-" + std::to_string(getpid()) + "-" + tag);
  for (pid_t w : workers) {
    const sched_param fifo{.sched_priority = 1};
    if (g_first) sched_setscheduler(w, SCHED_FIFO, &fifo);
    v1.add(w);
    if (v2) v2->add(w);
  }
  const std::string v2_dir = v2 ? v2->dir : cgroup2_of(workers.front());
  std::this_thread::sleep_for(std::chrono::seconds(1));  // past the start
  const Sample a = sample(cpus, v1.dir, v2_dir, workers);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const Sample b = sample(cpus, v1.dir, v2_dir, workers);
  const double scale = 100.0 / since(t0) / static_cast<double>(workers.size());
  row.load = {(b.proc_stat - a.proc_stat) * scale, (b.ticks - a.ticks) * scale,
              (b.cpuacct - a.cpuacct) * scale, (b.cpu_stat - a.cpu_stat) * scale,
              (b.schedstat - a.schedstat) * scale};
  kill(tool, SIGTERM);  // faultline reverts: workers killed, its cgroup removed
  waitpid(tool, nullptr, 0);
  kill(-tool, SIGKILL);  // stress-ng's workers are in its process group
  return row;
}

void print(int load, size_t workers, const char* tool, const Row& r, double& worst) {
  const Sample& s = r.load;
  // The raw /proc/stat figure holds other tasks too; it counts only on a quiet CPU.
  const bool quiet = r.baseline < 1.0;
  for (double v : {quiet ? s.proc_stat : s.ticks, s.ticks, s.cpuacct, s.cpu_stat, s.schedstat})
    if (std::string(tool) == "faultline") worst = std::max(worst, std::abs(v - load));
  std::printf("  %3d%%  %zu  %-9s  %6.1f (%4.1f)  %6.1f  %6.1f  %6.1f  %6.1f\n", load, workers,
              tool, s.proc_stat, r.baseline, s.ticks, s.cpuacct, s.cpu_stat, s.schedstat);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string binary = argc > 1 ? argv[1] : "build/controller/faultline";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
  g_first = argc > 3 && std::string(argv[3]) == "first";
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each row as it is measured
  const bool have_stress_ng = access("/usr/bin/stress-ng", X_OK) == 0;
  const auto acct_root = cpuacct_mount();
  if (!acct_root || !cgroup2_mount()) {
    std::fprintf(stderr, "needs cgroup v1 cpuacct and cgroup v2 mounted (and root)\n");
    return 1;
  }
  std::printf(
      "CPU stress accuracy, load per worker in percent over %.0f s, workers pinned to CPU"
      " 0 (and 1)%s:\n",
      seconds, g_first ? ", SCHED_FIFO" : "");
  std::printf("  load  W  tool       /proc/stat(idle)  ticks  cpuacct cpu.stat schedstat\n");
  double worst = 0;
  for (size_t workers : {1, 2}) {
    const std::vector<int> cpus = workers == 1 ? std::vector<int>{0} : std::vector<int>{0, 1};
    const std::string cpu_list = workers == 1 ? "0" : "0,1";
    for (int load : {10, 30, 50, 70, 90}) {
      const std::string duration = std::to_string(static_cast<int>(seconds) + 5) + "s";
      const std::string tag = std::to_string(load) + "-" + std::to_string(workers);
      const Row ours = run_tool(
          {binary, "inject", "cpu_stress", "--duration", duration, "load=" + std::to_string(load),
           "workers=" + std::to_string(workers), "cpus=" + cpu_list},
          "faultline-cpu", true, cpus, seconds, *acct_root, tag + "-ours");
      print(load, workers, "faultline", ours, worst);
      if (!have_stress_ng) continue;
      const Row theirs =
          run_tool({"/usr/bin/stress-ng", "--cpu", std::to_string(workers), "--cpu-load",
                    std::to_string(load), "--taskset", cpu_list, "--timeout", duration},
                   "stress-ng", false, cpus, seconds, *acct_root, tag + "-peer");
      print(load, workers, "stress-ng", theirs, worst);
    }
  }
  std::printf(
      "  (in brackets: the same CPUs' busy share in the second before, with no stressor)\n");
  std::printf(
      "  faultline's largest error in any view (raw /proc/stat only where its CPUs were"
      " quiet before): %.1f points (target: within 2)%s\n",
      worst, have_stress_ng ? "" : "; stress-ng is not installed, so no peer figures");
  return 0;
}
