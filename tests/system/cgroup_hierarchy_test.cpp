// Which hierarchy holds memory and io, on this host's layout (hybrid here: v1 memory and blkio;
// pure v2 in the kernel lab), and an owned cgroup made in it and removed by its undo step.
#include "injectors/linux/cgroup_hierarchy.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_steps.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

namespace faultline {

TEST_CASE("cgroup hierarchy: memory and io are found where their control files are",
          "[cgroup-hierarchy][cgroup2-lab]") {
  test::skip_unless_root("creates a cgroup");
  for (const char* controller : {"memory", "io"}) {
    INFO(controller);
    const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy(controller));
    const std::string probe_file =
        std::string(controller) == "memory" ? (h.v2() ? "memory.max" : "memory.limit_in_bytes")
                                            : (h.v2() ? "io.max" : "blkio.throttle.read_bps_device");
    const std::string own = REQUIRE_VALUE(process_cgroup_path(getpid(), h));
    CHECK(own.starts_with("/"));

    const std::string dir = reserve_owned_cgroup(h, "test");
    CHECK(std::filesystem::path(dir).filename().string().starts_with(
        "faultline-" + std::to_string(getpid()) + "-test-"));
    const std::string parent = std::filesystem::path(dir).parent_path();
    REQUIRE_OK(enable_controller_below(h, parent));
    OwnedCgroup cg = REQUIRE_VALUE(OwnedCgroup::create_at(dir));
    CHECK(std::filesystem::exists(dir + "/" + probe_file));
    // The step that a guardian or an agent would perform removes it.
    REQUIRE(perform_undo_plan(nlohmann::json::array({remove_cgroup_step(dir)})).empty());
    CHECK_FALSE(std::filesystem::exists(dir));
    REQUIRE_OK(cg.destroy());
  }
}

TEST_CASE("cgroup hierarchy: a process's path in it is what /proc/PID/cgroup says",
          "[cgroup-hierarchy][cgroup2-lab]") {
  const CgroupHierarchy h = REQUIRE_VALUE(find_cgroup_hierarchy("memory"));
  const std::string path = REQUIRE_VALUE(process_cgroup_path(1, h));
  CHECK(std::filesystem::is_directory(cgroup_directory(h, path)));
  CHECK(process_cgroup_path(999999999, h).error().message ==
        "cannot read /proc/999999999/cgroup: the process is gone");
  CHECK(find_cgroup_hierarchy("nosuch").error().message.starts_with(
      "no cgroup hierarchy on this host has the nosuch controller"));
}

}  // namespace faultline
