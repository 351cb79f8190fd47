#include "injectors/block/direct_io.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace faultline {

Result<int> open_direct_tmpfile(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  const int err = errno;
  if (err == EOPNOTSUPP || err == EISDIR)
    return fail("{} does not support unnamed files (O_TMPFILE), which keep the I/O faults from "
                "leaving files behind; give a directory on ext4, xfs or btrfs",
                dir);
  if (err == EINVAL)
    return fail("{} does not support direct I/O (O_DIRECT), without which the page cache would "
                "absorb the I/O; give a directory on a disk's filesystem (ext4, xfs)",
                dir);
  return fail("cannot open a direct-I/O file in {}: {}", dir, std::strerror(err));
}

Result<void> check_direct_io(const std::string& dir) {
  const int fd = FL_TRY(open_direct_tmpfile(dir));
  ::close(fd);
  return {};
}

DirectBuffer::DirectBuffer(size_t bytes) : size_(bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, kDirectAlign, bytes) != 0) {
    size_ = 0;
    return;
  }
  data_ = static_cast<char*>(p);
  uint64_t state = static_cast<uint64_t>(monotonic_ns()) | 1;
  for (size_t i = 0; i + sizeof(uint64_t) <= bytes; i += sizeof(uint64_t)) {
    const uint64_t r = next_random(state);
    std::memcpy(data_ + i, &r, sizeof r);
  }
}

DirectBuffer::~DirectBuffer() {
  std::free(data_);
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

uint64_t next_random(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace faultline
