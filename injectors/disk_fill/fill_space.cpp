#include "injectors/disk_fill/fill_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "core/byte_size.h"
#include "injectors/block/block_device.h"

namespace faultline {

Result<FsSpace> read_fs_space(const std::string& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0)
    return fail("cannot read the free space of {} (statvfs): {}", dir, std::strerror(errno));
  const auto unit = static_cast<int64_t>(s.f_frsize);
  return FsSpace{.block_size = unit,
                 .size = static_cast<int64_t>(s.f_blocks) * unit,
                 .free = static_cast<int64_t>(s.f_bfree) * unit,
                 .avail = static_cast<int64_t>(s.f_bavail) * unit};
}

int64_t free_in(const FsSpace& s, FillOf of) {
  return of == FillOf::Avail ? s.avail : s.free;
}

int64_t total_in(const FsSpace& s, FillOf of) {
  return of == FillOf::Avail ? s.size - (s.free - s.avail) : s.size;
}

std::string describe_view(FillOf of) {
  return of == FillOf::Avail ? "of: avail, statvfs f_bavail: what unprivileged users can use"
                             : "of: size, statvfs f_bfree: root's reserve included";
}

std::string FillAmount::text() const {
  switch (mode) {
    case Mode::Bytes:
      return "bytes " + format_byte_size(ByteSize{bytes});
    case Mode::Percent:
      return "percent " + format_percent(percent);
    case Mode::Leave:
      return "leave " + format_byte_size(ByteSize{bytes});
  }
  return "";
}

Result<FillTarget> compute_fill_target(const FillAmount& amount, FillOf of, const FsSpace& space,
                                       const std::string& path) {
  FillTarget t{.of = of, .free_before = free_in(space, of)};
  const std::string free_text =
      fmt::format("{} has {} free ({})", path, human_bytes(static_cast<double>(t.free_before)),
                  describe_view(of));
  switch (amount.mode) {
    case FillAmount::Mode::Bytes:
      if (amount.bytes > t.free_before)
        return fail("{}: less than {}; ask for less", free_text, amount.text());
      t.target_free = t.free_before - amount.bytes;
      break;
    case FillAmount::Mode::Leave:
      if (amount.bytes >= t.free_before)
        return fail("{}: not more than {}, so there is nothing to fill", free_text, amount.text());
      t.target_free = amount.bytes;
      break;
    case FillAmount::Mode::Percent: {
      const int64_t total = total_in(space, of);
      const auto used_at_target =
          static_cast<int64_t>(static_cast<__int128>(total) * amount.percent.basis_points / 10000);
      t.target_free = total - used_at_target;
      if (t.target_free >= t.free_before) {
        const double used = total > 0 ? 100.0 * static_cast<double>(total - t.free_before) /
                                            static_cast<double>(total)
                                      : 100.0;
        return fail(
            "{} is already {:.1f}% used ({}): not less than {}, so there is nothing to "
            "fill",
            path, used, describe_view(of), amount.text());
      }
      break;
    }
  }
  return t;
}

std::string describe_filesystem(const std::string& dir) {
  const MountedFilesystem fs = filesystem_of(dir);
  if (fs.type.empty()) return "";
  return fs.source.starts_with("/") ? fmt::format("{} on {}", fs.type, fs.source) : fs.type;
}

}  // namespace faultline
