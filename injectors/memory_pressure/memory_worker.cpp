#include "injectors/memory_pressure/memory_worker.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace faultline {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// splitmix64: one multiply-xorshift round per 64-bit word, statistically random, so zram, zswap
// and KSM find nothing to compress or merge, at a cost well below the page faults' own.
uint64_t next_word(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Without a ramp, the worker still reports every chunk so a long fill shows progress; at most
// 256 reports (plus 200 ramp steps) fit in a pipe's 64 KiB, so writing never blocks.
constexpr int64_t kMinReportChunk = 64 * 1024 * 1024;
constexpr int64_t kMaxReports = 256;
constexpr int64_t kRampStepNs = 50'000'000;
constexpr int64_t kMaxRampSteps = 200;

void report(int fd, const MemoryProgress& p) {
  while (write(fd, &p, sizeof p) < 0 && errno == EINTR) {
  }
}

// Runs in the forked child: only async-signal-safe calls, no allocation.
[[noreturn]] void worker_main(int go_fd, int progress_fd, int64_t bytes, int64_t ramp_ns,
                              uint64_t seed, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before PDEATHSIG was set
  prctl(PR_SET_NAME, "faultline-mem");
  // Hold no copy of the parent's descriptors (sockets, pidfds, other workers' pipes).
  dup2(go_fd, 100);
  dup2(progress_fd, 101);
  dup2(100, 3);
  dup2(101, 4);
  go_fd = 3;
  progress_fd = 4;
  syscall(SYS_close_range, 5U, ~0U, 0U);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  char go = 0;
  while (read(go_fd, &go, 1) < 0 && errno == EINTR) {
  }
  if (go != 'g') _exit(0);

  const int64_t start = monotonic_ns();
  MemoryProgress p{.touched = 0, .at_ns = start, .address = 0, .done = 0, .error = 0};
  // MAP_NORESERVE: the cgroup's limit, not the overcommit heuristic, decides what this may hold.
  void* map = mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) {
    p.error = errno;
    report(progress_fd, p);
    _exit(1);
  }
  // 4 KiB pages, not transparent huge pages: the level rises page by page as a service's heap
  // does, the limit just above the request is not overshot by a 2 MiB fault, and no compaction
  // or khugepaged work depends on how fragmented this host's memory is.
  madvise(map, static_cast<size_t>(bytes), MADV_NOHUGEPAGE);
  p.address = reinterpret_cast<uint64_t>(map);
  report(progress_fd, p);

  auto* words = static_cast<uint64_t*>(map);
  const int64_t total_words = bytes / 8;
  int64_t written = 0;  // words
  auto fill_to = [&](int64_t word_target) {
    for (; written < word_target; ++written) words[written] = next_word(seed);
  };
  if (ramp_ns <= 0) {
    const int64_t chunk = std::max(kMinReportChunk, bytes / kMaxReports) / 8;
    while (written < total_words) {
      fill_to(std::min(total_words, written + chunk));
      p.touched = written * 8;
      p.at_ns = monotonic_ns();
      if (written < total_words) report(progress_fd, p);
    }
  } else {
    // Step k of n, at start + ramp*k/n, brings the fill to k/n of it: the level is reached
    // when the ramp ends, not before.
    const int64_t steps = std::clamp(ramp_ns / kRampStepNs, int64_t{1}, kMaxRampSteps);
    for (int64_t k = 1; k <= steps; ++k) {
      const int64_t when = start + static_cast<int64_t>(static_cast<__int128>(ramp_ns) * k / steps);
      timespec until{static_cast<time_t>(when / 1'000'000'000LL),
                     static_cast<long>(when % 1'000'000'000LL)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
      }
      fill_to(static_cast<int64_t>(static_cast<__int128>(total_words) * k / steps));
      p.touched = written * 8;
      p.at_ns = monotonic_ns();
      if (k < steps) report(progress_fd, p);
    }
  }
  p.touched = bytes;
  p.at_ns = monotonic_ns();
  p.done = 1;
  report(progress_fd, p);
  // Hold without running: blocked in read until the parent closes its end (revert) or dies.
  while (read(go_fd, &go, 1) != 0) {
  }
  _exit(0);
}

}  // namespace

Result<MemoryWorker> spawn_memory_worker(int64_t bytes, Duration ramp, uint64_t seed) {
  int go[2];
  int progress[2];
  if (pipe2(go, O_CLOEXEC) != 0) return fail("cannot create a pipe: {}", std::strerror(errno));
  if (pipe2(progress, O_CLOEXEC) != 0) {
    const int saved = errno;
    close(go[0]);
    close(go[1]);
    return fail("cannot create a pipe: {}", std::strerror(saved));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int saved = errno;
    for (int fd : {go[0], go[1], progress[0], progress[1]}) close(fd);
    return fail("cannot fork a memory worker: {}", std::strerror(saved));
  }
  if (pid == 0) {
    close(go[1]);
    close(progress[0]);
    worker_main(go[0], progress[1], bytes & ~int64_t{7}, ramp.count(), seed, parent);
  }
  close(go[0]);
  close(progress[1]);
  fcntl(progress[0], F_SETFL, O_NONBLOCK);
  MemoryWorker w;
  w.pid = pid;
  w.go_fd = go[1];
  w.progress_fd = progress[0];
  w.bytes = bytes & ~int64_t{7};
  return w;
}

void start_memory_worker(MemoryWorker& worker) {
  if (worker.go_fd < 0) return;
  const char go = 'g';
  (void)!write(worker.go_fd, &go, 1);
}

void poll_memory_worker(MemoryWorker& worker) {
  if (worker.progress_fd >= 0) {
    MemoryProgress p;
    for (;;) {
      const ssize_t n = read(worker.progress_fd, &p, sizeof p);
      if (n == static_cast<ssize_t>(sizeof p)) {
        if (!worker.first) worker.first = p;
        worker.last = p;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  if (worker.pid > 0 && !worker.exit_status) {
    int status = 0;
    if (waitpid(worker.pid, &status, WNOHANG) == worker.pid) worker.exit_status = status;
  }
}

void stop_memory_worker(MemoryWorker& worker) {
  if (worker.go_fd >= 0) {
    close(worker.go_fd);  // an unstarted worker sees EOF and exits; a holding one too
    worker.go_fd = -1;
  }
  if (worker.pid > 0 && !worker.exit_status) {
    kill(worker.pid, SIGKILL);
    int status = 0;
    while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
    }
    worker.exit_status = status;
  }
  worker.pid = 0;
  if (worker.progress_fd >= 0) {
    close(worker.progress_fd);
    worker.progress_fd = -1;
  }
}

}  // namespace faultline
