#include "tests/support/scratch_fs.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

namespace faultline::test {

int run_shell(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer{};
  std::string text;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) text.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ScratchFs::ScratchFs(ScratchKind kind, int64_t size_mib, const std::string& mkfs_options) {
  if (::geteuid() != 0) {
    skip_reason_ = "needs root (mount, loop devices)";
    return;
  }
  char pattern[] = "/tmp/fl-scratch-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    skip_reason_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  mount_point_ = dir_ + "/mnt";
  ::mkdir(mount_point_.c_str(), 0755);
  std::string out;
  if (kind == ScratchKind::Tmpfs) {
    const std::string options = fmt::format("size={}m,mode=0777", size_mib);
    if (::mount("fl-scratch", mount_point_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      skip_reason_ = "cannot mount a tmpfs";
      return;
    }
    mounted_ = true;
    return;
  }
  const std::string mkfs = kind == ScratchKind::Ext4 ? "mkfs.ext4 -q -F" : "mkfs.xfs -q -f";
  const std::string tool = kind == ScratchKind::Ext4 ? "mkfs.ext4" : "mkfs.xfs";
  if (run_shell("command -v " + tool) != 0) {
    skip_reason_ = tool + " is not installed (e2fsprogs / xfsprogs)";
    return;
  }
  image_ = dir_ + "/image";
  if (run_shell(fmt::format("truncate -s {}M {} && {} {} {}", size_mib, image_, mkfs, mkfs_options,
                            image_),
                &out) != 0) {
    skip_reason_ = "mkfs failed: " + out;
    return;
  }
  if (run_shell("losetup --find --show " + image_, &out) != 0) {
    skip_reason_ = "no loop device: " + out;
    return;
  }
  device_ = out.substr(0, out.find('\n'));
  const char* type = kind == ScratchKind::Ext4 ? "ext4" : "xfs";
  if (::mount(device_.c_str(), mount_point_.c_str(), type, 0, nullptr) != 0) {
    skip_reason_ = fmt::format("cannot mount {} as {}", device_, type);
    return;
  }
  mounted_ = true;
  ::chmod(mount_point_.c_str(), 0777);
}

ScratchFs::~ScratchFs() {
  if (mounted_ && ::umount2(mount_point_.c_str(), 0) != 0)
    ::umount2(mount_point_.c_str(), MNT_DETACH);  // a file still open (a killed writer's)
  if (!device_.empty()) {
    // A lazily unmounted filesystem keeps its device until the last file on it closes: retry.
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (run_shell("losetup -d " + device_) == 0) break;
      ::usleep(100'000);
    }
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string ScratchFs::major_minor() const {
  struct stat st {};
  if (device_.empty() || ::stat(device_.c_str(), &st) != 0) return "";
  return fmt::format("{}:{}", major(st.st_rdev), minor(st.st_rdev));
}

int64_t ScratchFs::available_bytes() const {
  struct statvfs s {};
  if (::statvfs(mount_point_.c_str(), &s) != 0) return -1;
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

int64_t ScratchFs::free_bytes() const {
  struct statvfs s {};
  if (::statvfs(mount_point_.c_str(), &s) != 0) return -1;
  return static_cast<int64_t>(s.f_bfree) * static_cast<int64_t>(s.f_frsize);
}

}  // namespace faultline::test
