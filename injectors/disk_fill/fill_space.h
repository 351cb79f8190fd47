#pragma once
// How full a filesystem is, and how much disk_fill must allocate to reach a request. The
// arithmetic is pure (tests feed it statvfs figures); reading statvfs and /proc/self/mountinfo
// are the only host reads.
#include <cstdint>
#include <string>

#include "core/percent.h"
#include "core/result.h"

namespace faultline {

// statvfs of a filesystem, in bytes.
struct FsSpace {
  int64_t block_size = 0;  // f_frsize
  int64_t size = 0;        // f_blocks
  int64_t free = 0;        // f_bfree: free in all, root's reserve (ext4's -m) included
  int64_t avail = 0;       // f_bavail: what unprivileged users can still use
};

Result<FsSpace> read_fs_space(const std::string& dir);

// Which free space a request counts: `avail` (f_bavail, what unprivileged users can use: df's
// Avail and Use%) or `size` (f_bfree of f_blocks: the whole filesystem; root, which disk_fill
// runs as, also fills ext4's reserved blocks).
enum class FillOf { Avail, Size };

int64_t free_in(const FsSpace& s, FillOf of);
// The filesystem's size as the view counts it: with `avail`, without root's reserve (used +
// avail, as df computes Use%).
int64_t total_in(const FsSpace& s, FillOf of);
// "of: avail (statvfs f_bavail: what unprivileged users can use)".
std::string describe_view(FillOf of);

// One of the three ways to say how much to fill.
struct FillAmount {
  enum class Mode { Bytes, Percent, Leave } mode = Mode::Bytes;
  int64_t bytes = 0;         // Bytes: fill this much; Leave: leave this much free
  Percent percent{};         // Percent: fill until this share of total_in() is used
  std::string text() const;  // "bytes 512MiB", "percent 90%", "leave 1MiB"
};

struct FillTarget {
  FillOf of = FillOf::Avail;
  int64_t free_before = 0;  // free_in() when it was computed
  int64_t target_free = 0;  // free_in() to fill down to
  int64_t fill_bytes() const { return free_before - target_free; }
};

// The target for `amount` on a filesystem at `space`, or why there is nothing to fill there
// (more asked than is free, already fuller than the request). `path` names it in messages.
Result<FillTarget> compute_fill_target(const FillAmount& amount, FillOf of, const FsSpace& space,
                                       const std::string& path);

// "ext4 on /dev/loop3", "tmpfs": the mount that holds `dir`, from /proc/self/mountinfo; empty
// when it cannot be told.
std::string describe_filesystem(const std::string& dir);

}  // namespace faultline
