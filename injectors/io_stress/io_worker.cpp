#include "injectors/io_stress/io_worker.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <algorithm>
#include <cstring>
#include <new>
#include <thread>

#include "injectors/block/direct_io.h"

namespace faultline {

// The shared mapping: the stop flag, then one slot per worker.
struct IoWorkers::Board {
  std::atomic<int> stop{0};
};

namespace {

constexpr auto relaxed = std::memory_order_relaxed;
// The writes that fill a worker's file before the mix starts.
constexpr int64_t kFillChunk = 1024 * 1024;

[[noreturn]] void fail_worker(IoWorkerSlot& slot, int step, int error) {
  slot.error.store(error, relaxed);
  slot.failed_step.store(step, relaxed);
  slot.stopped_at_ns.store(static_cast<uint64_t>(monotonic_ns()), relaxed);
  slot.phase.store(static_cast<int>(IoWorkerPhase::Failed), std::memory_order_release);
  _exit(1);
}

// Runs in the forked child: system calls and arithmetic only; the buffer was made before the fork.
[[noreturn]] void worker_main(const IoWorkerPlan& plan, char* buffer, const char* fill,
                              int64_t fill_bytes, int go_fd,
                              const std::atomic<int>& stop, IoWorkerSlot& slot, pid_t parent,
                              uint64_t seed) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_NAME, "faultline-io");
  char go = 0;
  while (::read(go_fd, &go, 1) < 0 && errno == EINTR) {
  }
  if (go != 'g') _exit(0);
  const int fd = ::open(plan.dir.c_str(), O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) fail_worker(slot, 1, errno);
  const auto block = static_cast<size_t>(plan.block);
  // Reads need data on the disk: the whole file is written once first.
  slot.phase.store(static_cast<int>(IoWorkerPhase::Filling), relaxed);
  const int64_t fill_start = monotonic_ns();
  // In large sequential writes: filling is not the load, only its precondition.
  for (int64_t off = 0; off < plan.file_bytes && stop.load(relaxed) == 0;) {
    const auto chunk = static_cast<size_t>(std::min(fill_bytes, plan.file_bytes - off));
    if (::pwrite(fd, fill, chunk, off) != static_cast<ssize_t>(chunk)) fail_worker(slot, 2, errno ? errno : EIO);
    off += static_cast<int64_t>(chunk);
  }
  slot.fill_ns.store(static_cast<uint64_t>(monotonic_ns() - fill_start), relaxed);
  slot.running_since_ns.store(static_cast<uint64_t>(monotonic_ns()), relaxed);
  slot.phase.store(static_cast<int>(IoWorkerPhase::Running), relaxed);
  const auto blocks = static_cast<uint64_t>(plan.file_bytes / plan.block);
  uint64_t state = seed | 1;
  while (stop.load(relaxed) == 0) {
    const auto off = static_cast<off_t>(next_random(state) % blocks * block);
    const bool read = static_cast<int64_t>(next_random(state) % 10000) < plan.read_basis_points;
    const int64_t t0 = monotonic_ns();
    const ssize_t n = read ? ::pread(fd, buffer, block, off) : ::pwrite(fd, buffer, block, off);
    const auto took = static_cast<uint64_t>(monotonic_ns() - t0);
    if (n != static_cast<ssize_t>(block)) fail_worker(slot, read ? 3 : 4, n < 0 ? errno : EIO);
    const auto bucket = static_cast<size_t>(latency_bucket(took));
    if (read) {
      slot.reads.fetch_add(1, relaxed);
      slot.read_bytes.fetch_add(block, relaxed);
      slot.read_latency[bucket].fetch_add(1, relaxed);
    } else {
      slot.writes.fetch_add(1, relaxed);
      slot.written_bytes.fetch_add(block, relaxed);
      slot.write_latency[bucket].fetch_add(1, relaxed);
    }
  }
  slot.stopped_at_ns.store(static_cast<uint64_t>(monotonic_ns()), relaxed);
  slot.phase.store(static_cast<int>(IoWorkerPhase::Stopped), std::memory_order_release);
  _exit(0);
}

std::string step_problem(int step, int error) {
  const char* what = step == 1   ? "open an O_DIRECT O_TMPFILE"
                     : step == 2 ? "fill its file"
                     : step == 3 ? "read"
                                 : "write";
  return fmt::format("could not {}: {}", what, std::strerror(error));
}

}  // namespace

IoWorkerSlot& IoWorkers::slot(size_t i) const {
  return *reinterpret_cast<IoWorkerSlot*>(reinterpret_cast<char*>(board_) + kSlotsOffset +
                                          i * sizeof(IoWorkerSlot));
}

Result<std::unique_ptr<IoWorkers>> IoWorkers::spawn(const IoWorkerPlan& plan, int count) {
  std::unique_ptr<IoWorkers> w(new IoWorkers());
  w->board_bytes_ = kSlotsOffset + static_cast<size_t>(count) * sizeof(IoWorkerSlot);
  void* mem = ::mmap(nullptr, w->board_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
  if (mem == MAP_FAILED) return fail("cannot map the workers' counters: {}", std::strerror(errno));
  w->board_ = new (mem) Board();
  for (int i = 0; i < count; ++i) new (&w->slot(static_cast<size_t>(i))) IoWorkerSlot();
  DirectBuffer buffer(static_cast<size_t>(plan.block));
  const int64_t fill_bytes = std::max(plan.block, kFillChunk);
  DirectBuffer fill(static_cast<size_t>(fill_bytes));
  if (!buffer || !fill) return fail("cannot allocate a {}-byte I/O buffer", fill_bytes);
  const pid_t parent = getpid();
  for (int i = 0; i < count; ++i) {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) return fail("cannot create a pipe: {}", std::strerror(errno));
    const uint64_t seed = static_cast<uint64_t>(monotonic_ns()) ^ (static_cast<uint64_t>(i) << 48);
    const pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      close(go[0]);
      close(go[1]);
      return fail("cannot fork an I/O worker: {}", std::strerror(err));
    }
    if (pid == 0) {
      close(go[1]);
      worker_main(plan, buffer.data(), fill.data(), fill_bytes, go[0], w->board_->stop, w->slot(static_cast<size_t>(i)), parent, seed);
    }
    close(go[0]);
    w->pids_.push_back(pid);
    w->go_fds_.push_back(go[1]);
    w->pidfds_.push_back(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  }
  return w;
}

IoWorkers::~IoWorkers() {
  stop(0);
  for (int fd : pidfds_)
    if (fd >= 0) close(fd);
  if (board_ != nullptr) ::munmap(board_, board_bytes_);
}

void IoWorkers::start() {
  for (int& fd : go_fds_) {
    const char go = 'g';
    (void)!::write(fd, &go, 1);
    close(fd);
    fd = -1;
  }
}

void IoWorkers::stop(int grace_ms) {
  if (reaped_) return;
  for (int& fd : go_fds_)
    if (fd >= 0) {
      close(fd);  // an unstarted worker sees EOF and exits
      fd = -1;
    }
  if (board_ != nullptr) board_->stop.store(1, relaxed);
  std::vector<bool> done(pids_.size(), false);
  for (int waited = 0;; waited += 10) {
    bool all = true;
    for (size_t i = 0; i < pids_.size(); ++i)
      if (!done[i]) {
        const pid_t r = waitpid(pids_[i], nullptr, WNOHANG);
        done[i] = r == pids_[i] || (r < 0 && errno == ECHILD);
        all = all && done[i];
      }
    if (all) break;
    if (waited >= grace_ms) {
      for (size_t i = 0; i < pids_.size(); ++i)
        if (!done[i]) {
          if (pidfds_[i] >= 0) syscall(SYS_pidfd_send_signal, pidfds_[i], SIGKILL, nullptr, 0);
          while (waitpid(pids_[i], nullptr, 0) < 0 && errno == EINTR) {
          }
        }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A worker killed mid-operation did not say when it stopped: now, for its rates.
  const auto now = static_cast<uint64_t>(monotonic_ns());
  for (size_t i = 0; board_ != nullptr && i < pids_.size(); ++i)
    if (slot(i).stopped_at_ns.load(relaxed) == 0) slot(i).stopped_at_ns.store(now, relaxed);
  reaped_ = true;
}

std::vector<IoWorkerReport> IoWorkers::reports() const {
  std::vector<IoWorkerReport> out;
  const auto now = static_cast<uint64_t>(monotonic_ns());
  for (size_t i = 0; i < pids_.size(); ++i) {
    const IoWorkerSlot& s = slot(i);
    IoWorkerReport r;
    r.pid = pids_[i];
    r.phase = static_cast<IoWorkerPhase>(s.phase.load(std::memory_order_acquire));
    if (r.phase == IoWorkerPhase::Failed)
      r.problem = step_problem(s.failed_step.load(relaxed), s.error.load(relaxed));
    r.fill_seconds = static_cast<double>(s.fill_ns.load(relaxed)) / 1e9;
    const uint64_t since = s.running_since_ns.load(relaxed);
    const uint64_t until = s.stopped_at_ns.load(relaxed) ? s.stopped_at_ns.load(relaxed) : now;
    if (since != 0 && until > since) r.running_seconds = static_cast<double>(until - since) / 1e9;
    r.reads = s.reads.load(relaxed);
    r.writes = s.writes.load(relaxed);
    r.read_bytes = s.read_bytes.load(relaxed);
    r.written_bytes = s.written_bytes.load(relaxed);
    for (size_t b = 0; b < kLatencyBuckets; ++b) {
      r.read_latency[b] = s.read_latency[b].load(relaxed);
      r.write_latency[b] = s.write_latency[b].load(relaxed);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace faultline
