// The scratch filesystems that resource-fault tests use: made with the size asked, and gone
// (mount, loop device, image) when the object goes.
#include "tests/support/scratch_fs.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/child_process.h"

namespace faultline::test {

TEST_CASE("scratch filesystems are made at their size and removed", "[scratch-fs]") {
  skip_unless_root("mounts filesystems on loop devices");
  for (ScratchKind kind : {ScratchKind::Ext4, ScratchKind::Xfs, ScratchKind::Tmpfs}) {
    std::string mount, device;
    {
      // mkfs.xfs refuses less than 300 MiB; the image is sparse, so that costs nothing.
      const int64_t mib = kind == ScratchKind::Xfs ? 320 : 64;
      ScratchFs fs(kind, mib, kind == ScratchKind::Ext4 ? "-m 0" : "");
      INFO(fs.skip_reason());
      REQUIRE(fs.ok());
      mount = fs.mount_point();
      device = fs.device();
      CHECK(fs.free_bytes() > mib * 1024 * 1024 * 6 / 10);
      CHECK(fs.free_bytes() <= mib * 1024 * 1024);
      CHECK(run_shell("findmnt -n " + mount) == 0);
      const bool has_device = !fs.major_minor().empty();
      CHECK(has_device == (kind != ScratchKind::Tmpfs));
    }
    CHECK(run_shell("findmnt -n " + mount) != 0);
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(mount).parent_path()));
    if (!device.empty()) {
      std::string out;
      run_shell("losetup -n -O BACK-FILE " + device, &out);
      CHECK(out.find("fl-scratch") == std::string::npos);
    }
  }
}

}  // namespace faultline::test
