#pragma once
// A filesystem of the test's own: ext4 or xfs (at least 300 MiB: mkfs.xfs refuses less) on a
// loop device backed by a sparse file in /tmp, or a tmpfs, mounted on a fresh directory. Resource-fault tests fill, stress and throttle these, never
// the host's own filesystems. The destructor unmounts (lazily if something still holds it),
// detaches the loop device and removes the image and the directory, whichever way the test ends.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace faultline::test {

enum class ScratchKind { Ext4, Xfs, Tmpfs };

class ScratchFs {
 public:
  // Creates and mounts; the reason it could not (a missing mkfs, no loop devices, not root) is
  // in skip_reason() and the object holds nothing then. `mkfs_options` go to mkfs as extra
  // arguments (e.g. "-m 0" for ext4 without reserved blocks).
  ScratchFs(ScratchKind kind, int64_t size_mib, const std::string& mkfs_options = "");
  ~ScratchFs();
  ScratchFs(const ScratchFs&) = delete;
  ScratchFs& operator=(const ScratchFs&) = delete;

  bool ok() const { return skip_reason_.empty(); }
  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& mount_point() const { return mount_point_; }
  // "/dev/loop3"; empty for tmpfs.
  const std::string& device() const { return device_; }
  // The block device's "MAJ:MIN" (what io.max and blkio.throttle.* name); empty for tmpfs.
  std::string major_minor() const;
  // statvfs of the mount: bytes available to unprivileged users, and in all (f_bfree).
  int64_t available_bytes() const;
  int64_t free_bytes() const;

 private:
  std::string dir_;          // holds the image and the mount point
  std::string mount_point_;  // dir_ + "/mnt"
  std::string image_;
  std::string device_;
  bool mounted_ = false;
  std::string skip_reason_;
};

// Runs a shell command; its exit status (-1 when it could not run), with its output in `output`.
int run_shell(const std::string& command, std::string* output = nullptr);

}  // namespace faultline::test
