#include "injectors/network/userspace/kernel_queue_counters.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace faultline {
namespace {

// /proc/thread-self, not /proc/self: a process's threads may sit in different namespaces, and
// /proc/self/net is the namespace of the main thread.
constexpr const char* kPath = "/proc/thread-self/net/netfilter/nfnetlink_queue";

// The whitespace-separated numbers of one line, as many as fit.
size_t numbers_of(std::string_view line, std::array<uint64_t, 9>& out) {
  size_t count = 0;
  size_t at = 0;
  while (count < out.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
    if (at >= line.size()) break;
    const char* begin = line.data() + at;
    const char* end = line.data() + line.size();
    // The last column is printed signed ("%2d"); it is always 1 and not used.
    if (*begin == '-') ++begin;
    const auto [next, error] = std::from_chars(begin, end, out[count]);
    if (error != std::errc()) break;
    ++count;
    at = static_cast<size_t>(next - line.data());
  }
  return count;
}

}  // namespace

std::optional<KernelQueueCounters> parse_kernel_queue_counters(std::string_view text,
                                                               uint16_t queue_number) {
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    std::array<uint64_t, 9> n{};
    if (numbers_of(line, n) < 7 || n[0] != queue_number) continue;
    return KernelQueueCounters{.queue_dropped = n[5], .user_dropped = n[6]};
  }
  return std::nullopt;
}

Result<KernelQueueCounterFile> KernelQueueCounterFile::open() {
  const int fd = ::open(kPath, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open {}: {} (the kernel's nfnetlink_queue counters; is /proc mounted?)",
                kPath, std::strerror(errno));
  return KernelQueueCounterFile(fd);
}

KernelQueueCounterFile::KernelQueueCounterFile(KernelQueueCounterFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

KernelQueueCounterFile& KernelQueueCounterFile::operator=(KernelQueueCounterFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

KernelQueueCounterFile::~KernelQueueCounterFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::optional<KernelQueueCounters>> KernelQueueCounterFile::read(
    uint16_t queue_number) const {
  // One line per bound queue, ~50 bytes each; a seq_file read from offset 0 starts over.
  std::string text;
  std::array<char, 4096> chunk;
  for (;;) {
    const ssize_t n = ::pread(fd_, chunk.data(), chunk.size(), static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read {}: {}", kPath, std::strerror(errno));
    if (n == 0) break;
    text.append(chunk.data(), static_cast<size_t>(n));
  }
  return parse_kernel_queue_counters(text, queue_number);
}

}  // namespace faultline
