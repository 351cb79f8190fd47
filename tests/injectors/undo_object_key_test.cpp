// The key of the object an undo step acts on: `recover --scan` leaves alone an orphan whose key
// is in a live run's undo plan, so a step written by a fault and the step the scan builds for
// the same object must give the same key, whatever else they carry.
#include <catch2/catch.hpp>

#include "injectors/linux/orphans.h"
#include "injectors/linux/undo_steps.h"

using namespace faultline;
using nlohmann::json;

TEST_CASE("undo object key: each op names its object", "[undo][orphans]") {
  const NetnsLocation named{"/run/netns/lab", 0, 4026532000};
  const NetnsLocation by_process{"/proc/99/ns/net", 555, 4026532000};
  const NetnsLocation own{"", 0, 4026531840};
  QdiscState tbf;
  tbf.kind = "tbf";
  tbf.handle = 0x50000;

  CHECK(undo_object_key(remove_tc_root_step(named, "eth0", tbf)) == "tc:4026532000:eth0");
  CHECK(undo_object_key(remove_tc_root_step(own, "eth0", std::nullopt)) == "tc:4026531840:eth0");
  CHECK(undo_object_key(remove_ingress_redirect_step(by_process, "eth0", "flifb99a")) ==
        "ifb:4026532000:flifb99a");
  CHECK(undo_object_key(remove_ifb_step(own, "flifb99a")) == "ifb:4026531840:flifb99a");
  CHECK(undo_object_key(delete_nft_table_step(named, "faultline_7_1")) ==
        "nft:4026532000:faultline_7_1");
  CHECK(undo_object_key(remove_cgroup_step("/sys/fs/cgroup/faultline-7-cpu-0")) ==
        "cgroup:/sys/fs/cgroup/faultline-7-cpu-0");
  // Steps that name no object that a scan could find.
  CHECK(undo_object_key(resume_step(4242, 123456)) == "");
  CHECK(undo_object_key(thaw_cgroup_step("/sys/fs/cgroup/app")) == "");
}

TEST_CASE("undo object key: the same object, however the step found it", "[undo][orphans]") {
  // A fault's step names the namespace as it was opened (a path, a process); a scan's as it
  // found it: only the inode names the namespace.
  const NetnsLocation named{"/run/netns/lab", 0, 4026532000};
  const NetnsLocation by_process{"/proc/99/ns/net", 555, 4026532000};
  const NetnsLocation inode_only{"", 0, 4026532000};
  QdiscState tbf;
  tbf.kind = "tbf";
  tbf.handle = 0x50000;
  CHECK(undo_object_key(remove_tc_root_step(named, "eth0", tbf)) ==
        undo_object_key(remove_tc_root_step(inode_only, "eth0", std::nullopt)));
  // An ingress redirect and the IFB alone are the same object: the IFB.
  CHECK(undo_object_key(remove_ingress_redirect_step(by_process, "eth0", "flifb7a")) ==
        undo_object_key(remove_ifb_step(named, "flifb7a")));
  CHECK(undo_object_key(delete_nft_table_step(by_process, "faultline_7_1")) ==
        undo_object_key(delete_nft_table_step(inode_only, "faultline_7_1")));
  // Read back from text (an undo file), numbers are unsigned: the same key.
  CHECK(undo_object_key(json::parse(undo_text(delete_nft_table_step(named, "faultline_7_1")))) ==
        "nft:4026532000:faultline_7_1");
  // Different objects, different keys.
  CHECK(undo_object_key(remove_tc_root_step(named, "eth0", std::nullopt)) !=
        undo_object_key(remove_tc_root_step(named, "eth1", std::nullopt)));
  CHECK(undo_object_key(remove_tc_root_step(named, "eth0", std::nullopt)) !=
        undo_object_key(remove_tc_root_step({"", 0, 4026532001}, "eth0", std::nullopt)));
}

TEST_CASE("undo object key: a malformed step names nothing and never throws", "[undo][orphans]") {
  const char* steps[] = {
      "42",
      "null",
      "{}",
      R"({"op":7})",
      R"({"op":"frobnicate","path":"/x"})",
      R"({"op":"remove_cgroup"})",
      R"({"op":"remove_cgroup","path":3})",
      R"({"op":"remove_tc_root","interface":"eth0"})",
      R"({"op":"remove_tc_root","netns":"host","interface":"eth0"})",
      R"({"op":"remove_tc_root","netns":{"inode":-1},"interface":"eth0"})",
      R"({"op":"remove_tc_root","netns":{"inode":"5"},"interface":"eth0"})",
      R"({"op":"remove_tc_root","netns":{"inode":5}})",
      R"({"op":"remove_ingress_redirect","netns":{"inode":5},"interface":"eth0"})",
      R"({"op":"remove_ifb","netns":{"inode":5},"ifb":""})",
      R"({"op":"delete_nft_table","netns":{"inode":5},"table":["faultline_1"]})",
  };
  for (const char* text : steps) {
    INFO(text);
    std::string key = "unset";
    REQUIRE_NOTHROW(key = undo_object_key(json::parse(text)));
    CHECK(key == "");
  }
}
