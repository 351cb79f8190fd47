#pragma once
// The file that holds disk_fill's space: an O_TMPFILE (no name: when the last descriptor closes,
// however faultline ends, the kernel frees its blocks) or, where the filesystem has no
// O_TMPFILE or the user asks for a visible file, a named .faultline-fill-PID-N that an undo step
// removes. Filled in chunks, re-reading statvfs between them, until the free space reaches the
// target.
#include <cstdint>
#include <string>

#include "core/duration.h"
#include "core/result.h"
#include "injectors/disk_fill/fill_space.h"

namespace faultline {

// True when `dir` takes O_TMPFILE files; false where the filesystem answers EOPNOTSUPP, EISDIR
// or EINVAL (no O_TMPFILE there). Opens one and closes it at once: nothing is left.
Result<bool> tmpfile_supported(const std::string& dir);

// A fresh ".faultline-fill-PID-N" path in `dir` (not created).
std::string reserve_fill_file_path(const std::string& dir);

struct FillOutcome {
  std::string method;  // "fallocate", or "write" (incompressible data) where it is not supported
  // "target"; "ENOSPC" (what was allocated is kept and counted); "no progress" (the free
  // space did not go down after a chunk).
  std::string stopped_by;
  Duration took{};
  int chunks = 0;
};

class FillFile {
 public:
  // An unnamed file in `dir`.
  static Result<FillFile> open_tmpfile(const std::string& dir);
  // The named file `path` (made by reserve_fill_file_path), created exclusively.
  static Result<FillFile> create_named(const std::string& path);
  FillFile(FillFile&& other) noexcept;
  FillFile& operator=(FillFile&&) = delete;
  FillFile(const FillFile&) = delete;
  ~FillFile();

  // Allocates until free_in(statvfs of dir, target.of) is at most target.target_free (within a
  // block or a filesystem's metadata of the last chunk). ENOSPC stops it and is reported, not
  // an error: what was allocated stays held and counted in allocated_bytes().
  Result<FillOutcome> fill(const std::string& dir, const FillTarget& target);
  // Bytes the file holds on disk: st_blocks * 512 (not st_size: an allocation beyond the end of
  // the file counts too).
  int64_t allocated_bytes() const;
  // Closes the file (the kernel frees an O_TMPFILE's blocks) and removes a named one.
  Result<void> release();

  bool named() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  FillFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Result<bool> allocate(int64_t bytes, FillOutcome& outcome);
  int fd_ = -1;
  std::string path_;  // empty for an O_TMPFILE
  int64_t offset_ = 0;
  bool use_write_ = false;
  std::string random_;  // the incompressible buffer of the write fallback
};

}  // namespace faultline
