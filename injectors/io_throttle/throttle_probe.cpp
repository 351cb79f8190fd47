#include "injectors/io_throttle/throttle_probe.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "injectors/block/direct_io.h"

namespace faultline {
namespace {

void write_result(int fd, const ProbeResult& r) {
  (void)!::write(fd, &r, sizeof r);
}

// Runs in the forked child: system calls only; the buffer was made before the fork.
[[noreturn]] void probe_main(const ProbePlan& plan, char* buffer, int go_fd, int result_fd,
                             pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_NAME, "faultline-probe");
  char go = 0;
  while (::read(go_fd, &go, 1) < 0 && errno == EINTR) {
  }
  if (go != 'g') _exit(0);
  ProbeResult r;
  const int fd = ::open(plan.dir.c_str(), O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) {
    r.error = errno;
    r.stage = 1;
    write_result(result_fd, r);
    _exit(1);
  }
  const auto block = static_cast<size_t>(plan.block);
  int64_t start = monotonic_ns();
  for (int64_t off = 0; off < plan.write_bytes; off += plan.block) {
    const ssize_t n = ::pwrite(fd, buffer, block, off);
    if (n != static_cast<ssize_t>(block)) {
      r.error = n < 0 ? errno : EIO;
      r.stage = 2;
      write_result(result_fd, r);
      _exit(1);
    }
    r.write_bytes += n;
    ++r.write_ops;
  }
  r.write_ns = monotonic_ns() - start;
  start = monotonic_ns();
  for (int64_t done = 0; done < plan.read_bytes && plan.write_bytes > 0; done += plan.block) {
    const ssize_t n = ::pread(fd, buffer, block, done % plan.write_bytes);
    if (n != static_cast<ssize_t>(block)) {
      r.error = n < 0 ? errno : EIO;
      r.stage = 3;
      write_result(result_fd, r);
      _exit(1);
    }
    r.read_bytes += n;
    ++r.read_ops;
  }
  r.read_ns = monotonic_ns() - start;
  write_result(result_fd, r);
  _exit(0);
}

double per_second(int64_t amount, int64_t ns) {
  return ns > 0 ? static_cast<double>(amount) * 1e9 / static_cast<double>(ns) : 0.0;
}

}  // namespace

std::string ProbeResult::problem() const {
  if (stage == 0) return "";
  const char* what = stage == 1 ? "open an O_DIRECT O_TMPFILE" : stage == 2 ? "write" : "read";
  return fmt::format("the probe could not {}: {}", what, std::strerror(error));
}

double ProbeResult::write_bytes_per_s() const { return per_second(write_bytes, write_ns); }
double ProbeResult::read_bytes_per_s() const { return per_second(read_bytes, read_ns); }
double ProbeResult::write_iops() const { return per_second(write_ops, write_ns); }
double ProbeResult::read_iops() const { return per_second(read_ops, read_ns); }

nlohmann::json ProbeResult::to_json() const {
  nlohmann::json j = {{"direct_io", true},
                      {"write_bytes", write_bytes},
                      {"write_seconds", static_cast<double>(write_ns) / 1e9},
                      {"write_bytes_per_s", static_cast<int64_t>(write_bytes_per_s())},
                      {"write_iops", static_cast<int64_t>(write_iops())}};
  if (read_ops > 0) {
    j["read_bytes"] = read_bytes;
    j["read_seconds"] = static_cast<double>(read_ns) / 1e9;
    j["read_bytes_per_s"] = static_cast<int64_t>(read_bytes_per_s());
    j["read_iops"] = static_cast<int64_t>(read_iops());
  }
  if (stage != 0) j["error"] = problem();
  return j;
}

Result<std::unique_ptr<ProbeChild>> ProbeChild::spawn(const ProbePlan& plan) {
  DirectBuffer buffer(static_cast<size_t>(plan.block));
  if (!buffer) return fail("cannot allocate the probe's {}-byte buffer", plan.block);
  int go[2], result[2];
  if (pipe2(go, O_CLOEXEC) != 0) return fail("cannot create a pipe: {}", std::strerror(errno));
  if (pipe2(result, O_CLOEXEC) != 0) {
    const int err = errno;
    close(go[0]);
    close(go[1]);
    return fail("cannot create a pipe: {}", std::strerror(err));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {go[0], go[1], result[0], result[1]}) close(fd);
    return fail("cannot fork the probe: {}", std::strerror(err));
  }
  if (pid == 0) {
    close(go[1]);
    close(result[0]);
    probe_main(plan, buffer.data(), go[0], result[1], parent);
  }
  close(go[0]);
  close(result[1]);
  // Our own unreaped child: its pid cannot be reused before the pidfd is open.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  return std::unique_ptr<ProbeChild>(new ProbeChild(pid, pidfd, go[1], result[0]));
}

ProbeChild::~ProbeChild() {
  kill();
  (void)wait();
  if (go_fd_ >= 0) close(go_fd_);
  if (pidfd_ >= 0) close(pidfd_);
}

void ProbeChild::start() {
  if (go_fd_ < 0) return;
  const char go = 'g';
  (void)!::write(go_fd_, &go, 1);
  close(go_fd_);
  go_fd_ = -1;
}

std::optional<ProbeResult> ProbeChild::wait() {
  if (reaped_) return std::nullopt;
  ProbeResult r;
  size_t got = 0;
  while (result_fd_ >= 0 && got < sizeof r) {
    const ssize_t n = ::read(result_fd_, reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (result_fd_ >= 0) close(result_fd_);
  result_fd_ = -1;
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  if (got != sizeof r) return std::nullopt;
  return r;
}

void ProbeChild::kill() const {
  if (pidfd_ >= 0) syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
}

}  // namespace faultline
