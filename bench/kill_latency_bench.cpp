// Kill latency: from a fault's scheduled time until the target has exited, seen through its
// pidfd, the way the engine schedules it (targets found ahead, then applied on time). Next to
// it, in the same run, the floor: kill(2) straight away and waitpid on one's own child.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "agent/local/local_agent.h"
#include "bench/bench_util.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  std::vector<double> ours, floor;
  LocalAgent agent;
  for (int i = 0; i < runs; ++i) {
    const pid_t child = bench::spawn({"/bin/sleep", "1000"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the exec happen
    const std::string pidfile = "/tmp/faultline-bench-kill.pid";
    FILE* f = std::fopen(pidfile.c_str(), "w");
    std::fprintf(f, "%d\n", child);
    std::fclose(f);
    FaultRequest r;
    r.id = "kill-" + std::to_string(i);
    r.kind = "process_kill";
    r.selector.pidfile = pidfile;
    r.params.set("signal", SignalNumber{SIGKILL});
    r.params.set("count", Count{});
    r.params.set("replacement_window", Duration::zero());
    // As the engine does: prepare 50 ms ahead, apply at the scheduled time.
    const TimePoint scheduled = Clock::now() + std::chrono::milliseconds(50);
    if (auto p = agent.prepare(std::move(r), "bench", scheduled + std::chrono::seconds(5)); !p) {
      std::fprintf(stderr, "prepare: %s\n", p.error().message.c_str());
      return 1;
    }
    std::this_thread::sleep_until(scheduled);
    if (auto a = agent.apply("kill-" + std::to_string(i), scheduled); !a) {
      std::fprintf(stderr, "apply: %s\n", a.error().message.c_str());
      return 1;
    }
    waitpid(child, nullptr, 0);
    // The exit is observed by the fault's own watcher; wait until it has recorded it.
    std::optional<double> latency;
    for (int spin = 0; spin < 1000 && !latency; ++spin) {
      auto st = agent.state("kill-" + std::to_string(i));
      const auto& v = st->observed["rounds"][0]["victims"][0];
      if (v.contains("exit_latency_ms"))
        latency = v["exit_latency_ms"].get<double>();
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    (void)agent.revert("kill-" + std::to_string(i));
    if (latency) ours.push_back(*latency);

    // The floor: a plain kill and waitpid on our own child, timed from the same kind of
    // scheduled instant.
    const pid_t plain = bench::spawn({"/bin/sleep", "1000"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const TimePoint at = Clock::now() + std::chrono::milliseconds(50);
    std::this_thread::sleep_until(at);
    kill(plain, SIGKILL);
    waitpid(plain, nullptr, 0);
    floor.push_back(Ms(Clock::now() - at).count());
  }
  const auto a = bench::stats(ours), b = bench::stats(floor);
  std::printf("kill latency, scheduled time -> target exited (%zu kills):\n", ours.size());
  std::printf(
      "  faultline process_kill (pidfd): median %.3f ms, p95 %.3f ms, max %.3f ms "
      "(target: median < 2 ms)\n",
      a.median, a.p95, a.max);
  std::printf("  kill(2) + waitpid (floor):      median %.3f ms, p95 %.3f ms, max %.3f ms\n",
              b.median, b.p95, b.max);
  std::printf("  ratio of medians: %.2fx the floor\n", a.median / b.median);
  return 0;
}
