#include "injectors/disk_fill/fill_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/byte_size.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

// Large enough that 1 GiB takes 16 calls, small enough that the last chunk before the target is
// re-measured first: each chunk is at most what is left to fill.
constexpr int64_t kChunk = 64 * kMiB;
constexpr int64_t kWriteBuffer = 1 * kMiB;

bool no_tmpfile_here(int error) {
  return error == EOPNOTSUPP || error == EISDIR || error == EINVAL;
}

}  // namespace

Result<bool> tmpfile_supported(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  if (no_tmpfile_here(errno)) return false;
  return fail("cannot create a file in {}: {}", dir, std::strerror(errno));
}

std::string reserve_fill_file_path(const std::string& dir) {
  static std::atomic<int> next{0};
  return fmt::format("{}/{}{}-{}", dir, kFillFilePrefix, ::getpid(), next++);
}

Result<FillFile> FillFile::open_tmpfile(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot open an O_TMPFILE in {}: {}", dir, std::strerror(errno));
  return FillFile(fd, "");
}

Result<FillFile> FillFile::create_named(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create {}: {}", path, std::strerror(errno));
  return FillFile(fd, path);
}

FillFile::FillFile(FillFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      offset_(other.offset_),
      use_write_(other.use_write_),
      random_(std::move(other.random_)) {}

FillFile::~FillFile() {
  (void)release();
}

// Allocates `bytes` more at the end of the file; false when the filesystem said ENOSPC first
// (what was allocated before it stays, counted in st_blocks).
Result<bool> FillFile::allocate(int64_t bytes, FillOutcome& outcome) {
  if (!use_write_) {
    if (::fallocate(fd_, 0, offset_, bytes) == 0) {
      offset_ += bytes;
      return true;
    }
    if (errno == ENOSPC) return false;
    if (errno != EOPNOTSUPP) return fail("fallocate: {}", std::strerror(errno));
    // No fallocate here (ext4 without extents, some network filesystems): write data that
    // compression cannot shrink.
    use_write_ = true;
    outcome.method = "write";
    random_.resize(kWriteBuffer);
    for (size_t at = 0; at < random_.size();) {
      const ssize_t n = ::getrandom(random_.data() + at, random_.size() - at, 0);
      if (n < 0 && errno != EINTR) return fail("getrandom: {}", std::strerror(errno));
      if (n > 0) at += static_cast<size_t>(n);
    }
  }
  int64_t written = 0;
  while (written < bytes) {
    const auto n = static_cast<size_t>(std::min<int64_t>(bytes - written, kWriteBuffer));
    const ssize_t w = ::pwrite(fd_, random_.data(), n, offset_);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == ENOSPC) break;
    if (w < 0) return fail("write: {}", std::strerror(errno));
    offset_ += w;
    written += w;
  }
  // Delayed allocation (ext4, xfs) reserves worst-case metadata until writeback: statvfs is
  // only exact once the data is on disk.
  if (::fdatasync(fd_) != 0) {
    if (errno != ENOSPC) return fail("fdatasync: {}", std::strerror(errno));
    return false;
  }
  return written == bytes;
}

Result<FillOutcome> FillFile::fill(const std::string& dir, const FillTarget& target) {
  FillOutcome outcome{.method = use_write_ ? "write" : "fallocate", .stopped_by = "target"};
  const TimePoint start = Clock::now();
  int64_t limit = kChunk;
  int64_t previous_gap = INT64_MAX;
  bool last_fitted = true;
  while (true) {
    const FsSpace space = FL_TRY(read_fs_space(dir));
    const int64_t gap = free_in(space, target.of) - target.target_free;
    // Within a block of the target: a smaller allocation cannot be made.
    if (gap < space.block_size) break;
    // A filesystem whose free space does not follow what it allocates (compression, thin
    // provisioning underneath) would be filled for ever: stop and say so.
    if (last_fitted && gap >= previous_gap) {
      outcome.stopped_by = "no progress";
      break;
    }
    previous_gap = gap;
    const int64_t chunk = std::min(limit, gap / space.block_size * space.block_size);
    ++outcome.chunks;
    last_fitted = FL_TRY(allocate(chunk, outcome));
    if (last_fitted) continue;
    // ENOSPC before the target: xfs reserves the whole range and its metadata up front, so a
    // chunk the size of what is free does not fit while half of it does. Down to one block.
    if (chunk <= space.block_size) {
      outcome.stopped_by = "ENOSPC";
      break;
    }
    limit = std::max(space.block_size, chunk / 2 / space.block_size * space.block_size);
  }
  outcome.took = Clock::now() - start;
  return outcome;
}

int64_t FillFile::allocated_bytes() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) return 0;
  return static_cast<int64_t>(st.st_blocks) * 512;
}

Result<void> FillFile::release() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!path_.empty()) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      return fail("cannot remove {}: {}", path_, std::strerror(errno));
    path_.clear();
  }
  return {};
}

}  // namespace faultline
