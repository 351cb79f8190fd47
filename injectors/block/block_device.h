#pragma once
// The block device behind a path, as the I/O controllers name it. io.max and
// blkio.throttle.*_device take the MAJ:MIN of a whole disk: the kernel refuses a partition's
// (blkcg_conf_open_bdev: ENODEV), so a path on a partition is throttled on its disk, and the
// fault says so.
#include <string>

#include "core/result.h"

namespace faultline {

struct BlockDevice {
  unsigned major = 0;
  unsigned minor = 0;
  std::string name;  // "loop3", "sda", "nvme0n1" (/sys/dev/block/MAJ:MIN's target)
  // The partition the filesystem is on ("sda1", "8:1") when the device is its disk; empty for a
  // filesystem on a whole disk.
  std::string partition;
  std::string partition_numbers;

  // "7:3": how io.max, io.stat and the blkio files name the device.
  std::string numbers() const;
  // "loop3 (7:3)" or "sda (8:0), the disk of partition sda1 (8:1)".
  std::string describe() const;
};

// The filesystem holding `path`, from /proc/self/mountinfo: its type ("ext4", "tmpfs") and where
// it is mounted. Empty strings when mountinfo does not list its device.
struct MountedFilesystem {
  std::string type;
  std::string mount_point;
  std::string source;  // "/dev/loop3"
};
MountedFilesystem filesystem_of(const std::string& path);

// The whole disk that holds the filesystem of `path` (stat's st_dev, then /sys/dev/block). An
// error names the path and why (it does not exist; tmpfs, overlayfs, btrfs or NFS: no single
// block device behind it).
Result<BlockDevice> block_device_of(const std::string& path);

// "MAJ:MIN" -> the pair; nullopt for anything else.
struct DeviceNumbers {
  unsigned major = 0;
  unsigned minor = 0;
};
Result<DeviceNumbers> parse_device_numbers(std::string_view text);

}  // namespace faultline
