// CPU stress accuracy: faultline's cpu_stress and stress-ng --cpu-load, one worker pinned to
// CPU 0 at 25/50/75%, each measured the same way (the worker's CPU time from
// /proc/PID/schedstat over 10 s of wall time), one after the other in the same run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <thread>

#include "bench/bench_util.h"
#include "injectors/process/proc.h"

using namespace faultline;

namespace {

// Finds the busy worker among the descendants of `tool` (the tool forks it).
pid_t find_worker(pid_t tool, const std::string& comm_prefix) {
  for (int i = 0; i < 300; ++i) {
    for (pid_t child : bench::children_of(tool)) {
      auto p = read_process_stat(child);
      if (p && p->comm.starts_with(comm_prefix)) return child;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

double measure(pid_t worker, double seconds) {
  const double c0 = bench::cpu_seconds(worker);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double c1 = bench::cpu_seconds(worker);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 100.0 * (c1 - c0) / wall;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string binary = argc > 1 ? argv[1] : "build/controller/faultline";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 10.0;
  const bool have_stress_ng = access("/usr/bin/stress-ng", X_OK) == 0;
  std::printf("CPU stress accuracy, one worker on CPU 0, %.0f s each:\n", seconds);
  std::printf("  request   faultline   error    stress-ng   error\n");
  double worst = 0;
  for (int load : {25, 50, 75}) {
    const std::string duration = std::to_string(static_cast<int>(seconds) + 5) + "s";
    const pid_t ours = bench::spawn({binary, "inject", "cpu_stress", "--duration", duration,
                                     "load=" + std::to_string(load), "cpus=0"});
    const pid_t our_worker = find_worker(ours, "faultline-cpu");
    std::this_thread::sleep_for(std::chrono::seconds(1));  // past the start
    const double our_load = our_worker ? measure(our_worker, seconds) : NAN;
    kill(ours, SIGTERM);  // the tool reverts: workers killed, cgroup removed
    waitpid(ours, nullptr, 0);

    double their_load = NAN;
    if (have_stress_ng) {
      const pid_t theirs =
          bench::spawn({"/usr/bin/stress-ng", "--cpu", "1", "--cpu-load", std::to_string(load),
                        "--taskset", "0", "--timeout", duration});
      const pid_t their_worker = find_worker(theirs, "stress-ng");
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (their_worker) their_load = measure(their_worker, seconds);
      bench::kill_group(theirs);
    }
    worst = std::max(worst, std::abs(our_load - load));
    std::printf("  %3d%%      %6.2f%%    %+5.2f    %6.2f%%     %+5.2f\n", load, our_load,
                our_load - load, their_load, their_load - load);
  }
  std::printf("  faultline's largest error: %.2f points (target: within 1.5)%s\n", worst,
              have_stress_ng ? "" : "; stress-ng is not installed, so no peer figures");
  return 0;
}
