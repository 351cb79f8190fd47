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
constexpr int64_t kPeriodNs = 20'000'000;
constexpr int64_t kMaxDebtNs = 5 * kPeriodNs;  // beyond this, lost time is forgiven, not repaid

// Runs in the forked child: only async-signal-safe calls, no allocation.
[[noreturn]] void worker_main(int go_read_fd, int64_t load_bp, int cpu, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before PDEATHSIG was set
  prctl(PR_SET_NAME, "faultline-cpu");
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

  const int64_t wall_start = now_ns(CLOCK_MONOTONIC);
  int64_t cpu_start = now_ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t period_end = wall_start;
  volatile uint64_t sink = 0;
  for (;;) {
    period_end += kPeriodNs;
    const auto target =
        static_cast<int64_t>(static_cast<__int128>(period_end - wall_start) * load_bp / 10000);
    const int64_t cpu_now = now_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t need = target - (cpu_now - cpu_start);
    if (need > kMaxDebtNs) {
      cpu_start -= need - kMaxDebtNs;
      need = kMaxDebtNs;
    }
    const int64_t spin_until = cpu_now + need;
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) < spin_until && now_ns(CLOCK_MONOTONIC) < period_end) {
      for (int i = 0; i < 2000; ++i) sink = sink + static_cast<uint64_t>(i) * 2654435761u;
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
