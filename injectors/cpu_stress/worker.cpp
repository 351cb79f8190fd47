#include "injectors/cpu_stress/worker.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

namespace faultline {
namespace {

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Each period the worker spins for its share and sleeps for the rest. The share is corrected
// by the running total (target CPU time so far minus CPU time used), so time lost to other
// processes is made up and the long-run load converges on the request.
//
// Monitoring (top, mpstat, node_exporter: /proc/stat) does not see that precise time: at each
// scheduler tick (4 ms at HZ=250) the kernel charges the whole tick to whatever runs. Two things
// hid the load from the tick:
// - a fixed 20 ms period, a multiple of the tick, put the busy/idle edges at the same tick
//   phase every time (50% showed as 43% in /proc/stat). The period's length is now random, so
//   the edges fall at every phase;
// - on a busy CPU the scheduler lets a woken task run at a tick, so each busy part starts just
//   after one and, ending mid-tick, loses on average half a tick (10% showed as 3%).
// So the worker also keeps the tick's count: ticks fall on multiples of the tick length in
// CLOCK_MONOTONIC; while spinning, it counts those it was running at (a gap between two clock
// reads longer than an interrupt means it was not running). When that count lags the target by
// more than half a tick it spins on just past the next tick; when it leads, it stops just
// before one. Either costs under a tick of precise time, which the running total repays.
constexpr int64_t kMinPeriodNs = 5'000'000;
constexpr int64_t kMaxPeriodNs = 35'000'000;
constexpr int64_t kMeanPeriodNs = (kMinPeriodNs + kMaxPeriodNs) / 2;
constexpr int64_t kMaxDebtNs = 5 * kMeanPeriodNs;  // beyond this, lost time is forgiven, not repaid
// Longer than a tick's interrupt between two clock reads: the worker was off the CPU.
constexpr int64_t kOffCpuGapNs = 100'000;

// xorshift64: cheap, allocation-free, and good enough to spread edges over the tick's phase.
uint64_t next_random(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

// The scheduler tick's length: the resolution of the coarse clock, which the tick advances.
int64_t tick_ns() {
  timespec res{};
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || res.tv_sec != 0 || res.tv_nsec <= 0)
    return 4'000'000;
  return res.tv_nsec;
}

// Runs in the forked child: only async-signal-safe calls, no allocation.
[[noreturn]] void worker_main(int go_read_fd, int64_t load_bp, int cpu, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before PDEATHSIG was set
  prctl(PR_SET_NAME, "faultline-cpu");
  // Wake when asked, not up to 50 us later at a moment shared with other timers (the tick).
  prctl(PR_SET_TIMERSLACK, 1UL);
  // Hold no copy of the parent's descriptors (sockets, pidfds, other workers' pipes).
  if (go_read_fd != 3) {
    dup2(go_read_fd, 3);
    go_read_fd = 3;
  }
  syscall(SYS_close_range, 4U, ~0U, 0U);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  char go = 0;
  while (read(go_read_fd, &go, 1) < 0 && errno == EINTR) {
  }
  close(go_read_fd);
  if (go != 'g') _exit(0);

  const int64_t tick = tick_ns();
  const int64_t margin = tick / 8;  // ticks arrive a little late; stay clear of them
  const int64_t wall_start = now_ns(CLOCK_MONOTONIC);
  int64_t cpu_start = now_ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t ticks_base = 0;  // ticks forgiven with the debt, in ns
  int64_t ticks_seen = 0;  // ticks that found this worker running
  int64_t period_end = wall_start;
  uint64_t random_state =
      (static_cast<uint64_t>(wall_start) ^ (static_cast<uint64_t>(getpid()) << 32)) | 1;
  volatile uint64_t sink = 0;
  for (;;) {
    period_end += kMinPeriodNs +
                  static_cast<int64_t>(next_random(random_state) % (kMaxPeriodNs - kMinPeriodNs));
    const auto target =
        static_cast<int64_t>(static_cast<__int128>(period_end - wall_start) * load_bp / 10000);
    const int64_t cpu_now = now_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t need = target - (cpu_now - cpu_start);
    if (need > kMaxDebtNs) {
      cpu_start -= need - kMaxDebtNs;
      need = kMaxDebtNs;
    }
    if (target - (ticks_base + ticks_seen * tick) > kMaxDebtNs)
      ticks_base = target - kMaxDebtNs - ticks_seen * tick;
    const int64_t spin_until = cpu_now + need;
    int64_t last = now_ns(CLOCK_MONOTONIC);
    int64_t stop_at = 0;  // set once the precise share is done: where the tick view wants to stop
    while (last < period_end) {
      for (int i = 0; i < 2000; ++i) sink = sink + static_cast<uint64_t>(i) * 2654435761u;
      const int64_t t = now_ns(CLOCK_MONOTONIC);
      const int64_t next_tick = (last / tick + 1) * tick;
      if (t - last < kOffCpuGapNs)
        ticks_seen += t / tick - last / tick;
      else if (next_tick - last < kOffCpuGapNs)
        ++ticks_seen;  // taken off the CPU at a tick: that tick was charged to this worker
      last = t;
      if (stop_at == 0 && now_ns(CLOCK_THREAD_CPUTIME_ID) >= spin_until) {
        const int64_t lag = target - (ticks_base + ticks_seen * tick);
        const int64_t to_next = (t / tick + 1) * tick - t;
        if (lag > tick / 2)
          stop_at = t + to_next + margin;  // just past the next tick
        else
          stop_at = t;
      } else if (stop_at == 0 && target - (ticks_base + ticks_seen * tick) < -tick / 2 &&
                 (t / tick + 1) * tick - t < margin) {
        stop_at = t;  // the tick view leads: let the next tick find the CPU idle
      }
      if (stop_at != 0 && t >= stop_at) break;
    }
    if (load_bp < 10000) {
      timespec until{static_cast<time_t>(period_end / 1'000'000'000LL),
                     static_cast<long>(period_end % 1'000'000'000LL)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
      }
    }
  }
}

}  // namespace

Result<CpuWorker> spawn_cpu_worker(Percent load, std::optional<int> cpu) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail("cannot create a pipe: {}", std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int saved = errno;
    close(fds[0]);
    close(fds[1]);
    return fail("cannot fork a CPU worker: {}", std::strerror(saved));
  }
  if (pid == 0) {
    close(fds[1]);
    worker_main(fds[0], load.basis_points, cpu.value_or(-1), parent);
  }
  close(fds[0]);
  return CpuWorker{pid, fds[1]};
}

void start_cpu_worker(CpuWorker& worker) {
  if (worker.go_fd < 0) return;
  const char go = 'g';
  (void)!write(worker.go_fd, &go, 1);
  close(worker.go_fd);
  worker.go_fd = -1;
}

void stop_cpu_worker(CpuWorker& worker) {
  if (worker.go_fd >= 0) {
    close(worker.go_fd);  // an unstarted worker sees EOF and exits
    worker.go_fd = -1;
  }
  if (worker.pid <= 0) return;
  kill(worker.pid, SIGKILL);
  while (waitpid(worker.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  worker.pid = 0;
}

}  // namespace faultline
