#include "injectors/block/block_device.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace faultline {
namespace {

std::string read_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

bool parse_unsigned(std::string_view text, unsigned& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::string BlockDevice::numbers() const {
  return fmt::format("{}:{}", major, minor);
}

std::string BlockDevice::describe() const {
  if (partition.empty()) return fmt::format("{} ({})", name, numbers());
  return fmt::format("{} ({}), the disk of partition {} ({})", name, numbers(), partition,
                     partition_numbers);
}

Result<DeviceNumbers> parse_device_numbers(std::string_view text) {
  const size_t colon = text.find(':');
  DeviceNumbers n;
  if (colon == std::string_view::npos || !parse_unsigned(text.substr(0, colon), n.major) ||
      !parse_unsigned(text.substr(colon + 1), n.minor))
    return fail("'{}' is not a device's MAJ:MIN", text);
  return n;
}

MountedFilesystem filesystem_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  const std::string want = fmt::format("{}:{}", ::major(st.st_dev), ::minor(st.st_dev));
  // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": the
  // last mount of the device wins (it hides the earlier ones).
  std::ifstream in("/proc/self/mountinfo");
  MountedFilesystem found;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, numbers, root, mount_point;
    if (!(fields >> id >> parent >> numbers >> root >> mount_point) || numbers != want) continue;
    std::string word;
    while (fields >> word && word != "-") {
    }
    MountedFilesystem m;
    m.mount_point = mount_point;
    fields >> m.type >> m.source;
    found = m;
  }
  return found;
}

Result<BlockDevice> block_device_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail("path {}: {}", path, std::strerror(errno));
  BlockDevice d;
  d.major = ::major(st.st_dev);
  d.minor = ::minor(st.st_dev);
  const std::string sys = fmt::format("/sys/dev/block/{}", d.numbers());
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::canonical(sys, ec);
  if (ec) {
    const MountedFilesystem fs = filesystem_of(path);
    return fail("path {} is on {}{} (device {}), which has no block device behind it: I/O faults "
                "act on a disk's queue; give a path on a filesystem on a disk (ext4, xfs)",
                path, fs.type.empty() ? "a filesystem" : fs.type,
                fs.mount_point.empty() ? "" : " at " + fs.mount_point, d.numbers());
  }
  d.name = real.filename().string();
  if (::access((real / "partition").c_str(), F_OK) == 0) {
    // A partition's sysfs directory sits inside its disk's.
    d.partition = d.name;
    d.partition_numbers = d.numbers();
    const std::filesystem::path disk = real.parent_path();
    auto numbers = parse_device_numbers(read_line((disk / "dev").string()));
    if (!numbers)
      return fail("path {} is on partition {} ({}), whose disk {} cannot be read: {}", path,
                  d.partition, d.partition_numbers, disk.string(), numbers.error().message);
    d.major = numbers->major;
    d.minor = numbers->minor;
    d.name = disk.filename().string();
  }
  return d;
}

}  // namespace faultline
