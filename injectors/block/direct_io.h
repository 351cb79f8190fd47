#pragma once
// Direct I/O on an unnamed file: what io_stress's workers and io_throttle's probe write and read.
// O_DIRECT, so the page cache neither hides reads nor absorbs writes (and because cgroup v1
// charges only direct I/O to the writer's cgroup: buffered writeback is the flusher's); O_TMPFILE,
// so nothing is left in the directory whatever happens to the process.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace faultline {

// The alignment O_DIRECT needs for buffers, offsets and sizes on any disk we meet (4 KiB logical
// blocks are the largest in use).
inline constexpr int64_t kDirectAlign = 4096;

// Opens an unnamed O_DIRECT file in `dir`. The error says which of the two the filesystem lacks.
Result<int> open_direct_tmpfile(const std::string& dir);

// Why a direct-I/O file cannot be made in `dir` (after trying one, closed at once: it leaves
// nothing), or nothing when it can.
Result<void> check_direct_io(const std::string& dir);

// A buffer aligned for O_DIRECT, filled with incompressible bytes; freed on destruction.
class DirectBuffer {
 public:
  explicit DirectBuffer(size_t bytes);
  ~DirectBuffer();
  DirectBuffer(const DirectBuffer&) = delete;
  DirectBuffer& operator=(const DirectBuffer&) = delete;
  char* data() const { return data_; }
  size_t size() const { return size_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

// CLOCK_MONOTONIC in nanoseconds; safe in a forked child.
int64_t monotonic_ns();

// xorshift64: allocation-free randomness for forked children.
uint64_t next_random(uint64_t& state);

}  // namespace faultline
