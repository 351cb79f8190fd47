// Undo steps as data: every step a fault can write survives a trip through text, and a step that
// is malformed or unknown is an error that quotes it, never a crash and never an action.
#include "injectors/linux/undo_steps.h"

#include <catch2/catch.hpp>

using namespace faultline;
using nlohmann::json;

TEST_CASE("undo steps: the shapes every injector writes", "[undo]") {
  CHECK(undo_text(resume_step(4242, 123456)) ==
        R"({"op":"resume","pid":4242,"start_ticks":123456})");
  CHECK(undo_text(thaw_cgroup_step("/sys/fs/cgroup/app")) ==
        R"({"op":"thaw_cgroup","path":"/sys/fs/cgroup/app"})");
  CHECK(undo_text(remove_cgroup_step("/sys/fs/cgroup/faultline-7-cpu-0")) ==
        R"({"op":"remove_cgroup","path":"/sys/fs/cgroup/faultline-7-cpu-0"})");
  QdiscState tbf;
  tbf.kind = "tbf";
  tbf.handle = 0x50000;
  tbf.options = {0x01, 0xab, 0x00};
  CHECK(undo_text(remove_tc_root_step({"/run/netns/lab", 0, 4026532000}, "eth0", tbf)) ==
        R"({"interface":"eth0","netns":{"inode":4026532000,"path":"/run/netns/lab"},)"
        R"("op":"remove_tc_root","restore":{"handle":327680,"kind":"tbf","options":"01ab00"}})");
  CHECK(
      undo_text(remove_tc_root_step({"", 0, 4026531840}, "eth0", std::nullopt)) ==
      R"({"interface":"eth0","netns":{"inode":4026531840},"op":"remove_tc_root","restore":null})");
  CHECK(undo_text(remove_ingress_redirect_step({"/proc/99/ns/net", 555, 4026532001}, "eth0",
                                               "flifb99a")) ==
        R"({"ifb":"flifb99a","interface":"eth0",)"
        R"("netns":{"inode":4026532001,"path":"/proc/99/ns/net","start_ticks":555},)"
        R"("op":"remove_ingress_redirect"})");
  CHECK(undo_text(remove_ifb_step({"/run/netns/lab", 0, 4026532000}, "flifb99b")) ==
        R"({"ifb":"flifb99b","netns":{"inode":4026532000,"path":"/run/netns/lab"},)"
        R"("op":"remove_ifb"})");
  CHECK(undo_text(delete_nft_table_step({"", 0, 4026531840}, "faultline_7_1")) ==
        R"({"netns":{"inode":4026531840},"op":"delete_nft_table","table":"faultline_7_1"})");
}

TEST_CASE("undo steps: a qdisc snapshot comes back byte for byte", "[undo]") {
  QdiscState q;
  q.kind = "tbf";
  q.handle = 0x70000;
  q.options = {0x00, 0x01, 0x7f, 0x80, 0xff};
  auto back = qdisc_snapshot_from_json(json::parse(undo_text(qdisc_snapshot_json(q))));
  REQUIRE(back);
  CHECK(back->kind == "tbf");
  CHECK(back->handle == 0x70000u);
  CHECK(back->options == q.options);
}

TEST_CASE("undo steps: malformed or unknown steps are errors that quote them", "[undo]") {
  const std::string inode5 = R"("netns":{"inode":5})";
  struct Case {
    std::string step;
    std::string error;
  };
  const Case cases[] = {
      {"42", "an undo step must be a JSON object, not 42"},
      {"null", "an undo step must be a JSON object, not null"},
      {R"(["resume"])", R"(an undo step must be a JSON object, not ["resume"])"},
      {"{}", "undo step {} has no 'op' naming what to undo"},
      {R"({"op":7})", R"(undo step {"op":7} has no 'op' naming what to undo)"},
      {R"({"op":"frobnicate","pid":3})",
       R"(unknown undo step op 'frobnicate' in {"op":"frobnicate","pid":3})"},
      {R"({"op":"RESUME","pid":3,"start_ticks":1})",
       R"(unknown undo step op 'RESUME' in {"op":"RESUME","pid":3,"start_ticks":1})"},
      {R"({"op":"resume"})", R"(undo step {"op":"resume"}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":1,"start_ticks":9})",
       R"(undo step {"op":"resume","pid":1,"start_ticks":9}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":-4,"start_ticks":9})",
       R"(undo step {"op":"resume","pid":-4,"start_ticks":9}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":"77","start_ticks":9})",
       R"(undo step {"op":"resume","pid":"77","start_ticks":9}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":77.5,"start_ticks":9})",
       R"(undo step {"op":"resume","pid":77.5,"start_ticks":9}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":4294967296,"start_ticks":9})",
       R"(undo step {"op":"resume","pid":4294967296,"start_ticks":9}: 'pid' must be a process id above 1)"},
      {R"({"op":"resume","pid":77})",
       R"(undo step {"op":"resume","pid":77}: 'start_ticks' must be the process's start time)"},
      {R"({"op":"thaw_cgroup"})",
       R"(undo step {"op":"thaw_cgroup"}: 'path' must be a cgroup directory below the cgroup v2 mount)"},
      {R"({"op":"thaw_cgroup","path":"app.slice"})",
       R"(undo step {"op":"thaw_cgroup","path":"app.slice"}: 'path' must be a cgroup directory below the cgroup v2 mount)"},
      {R"({"op":"thaw_cgroup","path":"/sys/fs/cgroup/../../etc"})",
       R"(undo step {"op":"thaw_cgroup","path":"/sys/fs/cgroup/../../etc"}: 'path' must be a cgroup directory below the cgroup v2 mount)"},
      {R"({"op":"remove_cgroup","path":"/sys/fs/cgroup/system.slice"})",
       R"(undo step {"op":"remove_cgroup","path":"/sys/fs/cgroup/system.slice"}: 'path' must be a cgroup that faultline created (.../faultline-PID-...))"},
      {R"({"op":"remove_cgroup","path":"/sys/fs/cgroup/faultline-x-cpu-0"})",
       R"(undo step {"op":"remove_cgroup","path":"/sys/fs/cgroup/faultline-x-cpu-0"}: 'path' must be a cgroup that faultline created (.../faultline-PID-...))"},
      {R"({"op":"remove_cgroup","path":"/sys/fs/cgroup/faultline-7-cpu-0/../x"})",
       R"(undo step {"op":"remove_cgroup","path":"/sys/fs/cgroup/faultline-7-cpu-0/../x"}: 'path' must be a cgroup that faultline created (.../faultline-PID-...))"},
      {R"({"op":"remove_tc_root","interface":"eth0","restore":null})",
       R"(undo step {"interface":"eth0","op":"remove_tc_root","restore":null}: 'netns' must be an object with 'inode' (and optionally 'path', 'start_ticks'))"},
      {R"({"op":"remove_tc_root","netns":{"inode":0},"interface":"eth0","restore":null})",
       R"(undo step {"interface":"eth0","netns":{"inode":0},"op":"remove_tc_root","restore":null}: 'netns' must be an object with 'inode' (and optionally 'path', 'start_ticks'))"},
      {R"({"op":"remove_tc_root","netns":{"inode":5,"path":"run/netns/x"},"interface":"eth0","restore":null})",
       R"(undo step {"interface":"eth0","netns":{"inode":5,"path":"run/netns/x"},"op":"remove_tc_root","restore":null}: 'netns' must be an object with 'inode' (and optionally 'path', 'start_ticks'))"},
      {R"({"op":"remove_tc_root",)" + inode5 + R"(,"interface":"eth0/../lo","restore":null})",
       R"(undo step {"interface":"eth0/../lo","netns":{"inode":5},"op":"remove_tc_root","restore":null}: 'interface' must be an interface name)"},
      {R"({"op":"remove_tc_root",)" + inode5 +
           R"(,"interface":"a-very-long-interface-name","restore":null})",
       R"(undo step {"interface":"a-very-long-interface-name","netns":{"inode":5},"op":"remove_tc_root","restore":null}: 'interface' must be an interface name)"},
      {R"({"op":"remove_tc_root",)" + inode5 + R"(,"interface":"eth0"})",
       R"(undo step {"interface":"eth0","netns":{"inode":5},"op":"remove_tc_root"}: 'restore' must be null or a qdisc snapshot)"},
      {R"({"op":"remove_tc_root",)" + inode5 +
           R"(,"interface":"eth0","restore":{"kind":"tbf","handle":5,"options":""}})",
       R"(undo step {"interface":"eth0","netns":{"inode":5},"op":"remove_tc_root","restore":{"handle":5,"kind":"tbf","options":""}}: a qdisc snapshot needs 'handle', a qdisc handle (MAJOR:) as a 32-bit number)"},
      {R"({"op":"remove_tc_root",)" + inode5 +
           R"(,"interface":"eth0","restore":{"kind":"tbf","handle":327680,"options":"xyz"}})",
       R"(undo step {"interface":"eth0","netns":{"inode":5},"op":"remove_tc_root","restore":{"handle":327680,"kind":"tbf","options":"xyz"}}: a qdisc snapshot needs 'options', its netlink attributes in lowercase hex)"},
      {R"({"op":"remove_tc_root",)" + inode5 +
           R"(,"interface":"eth0","restore":{"kind":"t b f","handle":327680,"options":""}})",
       R"(undo step {"interface":"eth0","netns":{"inode":5},"op":"remove_tc_root","restore":{"handle":327680,"kind":"t b f","options":""}}: a qdisc snapshot needs 'kind', a qdisc kind such as "tbf")"},
      {R"({"op":"remove_ingress_redirect",)" + inode5 + R"(,"interface":"eth0","ifb":"eth1"})",
       R"(undo step {"ifb":"eth1","interface":"eth0","netns":{"inode":5},"op":"remove_ingress_redirect"}: 'ifb' must be an IFB device named flifb...)"},
      {R"({"op":"remove_ingress_redirect",)" + inode5 + R"(,"interface":"eth0"})",
       R"(undo step {"interface":"eth0","netns":{"inode":5},"op":"remove_ingress_redirect"}: 'ifb' must be an IFB device named flifb...)"},
      {R"({"op":"remove_ifb",)" + inode5 + R"(,"ifb":"ifb0"})",
       R"(undo step {"ifb":"ifb0","netns":{"inode":5},"op":"remove_ifb"}: 'ifb' must be an IFB device named flifb...)"},
      {R"({"op":"remove_ifb",)" + inode5 + R"(,"ifb":"flifb/../eth0"})",
       R"(undo step {"ifb":"flifb/../eth0","netns":{"inode":5},"op":"remove_ifb"}: 'ifb' must be an IFB device named flifb...)"},
      {R"({"op":"remove_ifb","ifb":"flifb1a"})",
       R"(undo step {"ifb":"flifb1a","op":"remove_ifb"}: 'netns' must be an object with 'inode' (and optionally 'path', 'start_ticks'))"},
      {R"({"op":"set_cgroup_value","path":"/sys/fs/cgroup/x/memory.max","value":"max"})",
       R"(undo step {"op":"set_cgroup_value","path":"/sys/fs/cgroup/x/memory.max","value":"max"}: 'path' must be a cgroup's io.max or blkio.throttle.* file)"},
      {R"({"op":"set_cgroup_value","path":"/etc/io.max","value":"8:0 rbps=max"})",
       R"(undo step {"op":"set_cgroup_value","path":"/etc/io.max","value":"8:0 rbps=max"}: 'path' must be a cgroup directory below a cgroup mount)"},
      {R"({"op":"remove_fill_file","path":"/etc/passwd"})",
       R"(undo step {"op":"remove_fill_file","path":"/etc/passwd"}: 'path' must be a file named .faultline-fill-...)"},
      {R"({"op":"remove_fill_file","path":"/tmp/.faultline-fill-1/../../etc/passwd"})",
       R"(undo step {"op":"remove_fill_file","path":"/tmp/.faultline-fill-1/../../etc/passwd"}: 'path' must be a file named .faultline-fill-...)"},
      {R"({"op":"remove_cgroup","path":"/etc/faultline-7-cpu-0"})",
       R"(undo step {"op":"remove_cgroup","path":"/etc/faultline-7-cpu-0"}: 'path' must be a cgroup directory below a cgroup mount)"},
      {R"({"op":"delete_nft_table",)" + inode5 + R"(,"table":"filter"})",
       R"(undo step {"netns":{"inode":5},"op":"delete_nft_table","table":"filter"}: 'table' must be an nftables table named faultline_...)"},
      {R"({"op":"delete_nft_table",)" + inode5 + R"(,"table":"faultline_1; flush ruleset"})",
       R"(undo step {"netns":{"inode":5},"op":"delete_nft_table","table":"faultline_1; flush ruleset"}: 'table' must be an nftables table named faultline_...)"},
      {R"({"op":"delete_nft_table","netns":"host","table":"faultline_1"})",
       R"(undo step {"netns":"host","op":"delete_nft_table","table":"faultline_1"}: 'netns' must be an object with 'inode' (and optionally 'path', 'start_ticks'))"},
  };
  for (const Case& c : cases) {
    INFO(c.step);
    const json step = json::parse(c.step);
    Result<void> done;
    REQUIRE_NOTHROW(done = perform_undo_step(step));
    REQUIRE_FALSE(done);
    CHECK(done.error().message == c.error);
  }
}

TEST_CASE("undo steps: text that is not UTF-8 is quoted, not thrown", "[undo]") {
  json step = {{"op", std::string("\xff\xfe")}};
  Result<void> done;
  REQUIRE_NOTHROW(done = perform_undo_step(step));
  REQUIRE_FALSE(done);
  CHECK_THAT(done.error().message, Catch::StartsWith("unknown undo step op '"));
}

TEST_CASE("undo plans: every step is tried, failures are collected in order", "[undo]") {
  const json nothing_to_resume = {{"op", "resume"}, {"pid", 2147483647}, {"start_ticks", 1}};
  const json plan = json::array({json{{"op", "nope"}}, nothing_to_resume, 3});
  const std::vector<UndoFailure> failures = perform_undo_plan(plan);
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].step == json{{"op", "nope"}});
  CHECK(failures[0].error == R"(unknown undo step op 'nope' in {"op":"nope"})");
  CHECK(failures[1].step == 3);
  CHECK(failures[1].error == "an undo step must be a JSON object, not 3");

  CHECK(perform_undo_plan(json::array()).empty());
  const auto not_a_plan = perform_undo_plan(json{{"op", "resume"}});
  REQUIRE(not_a_plan.size() == 1);
  CHECK(not_a_plan[0].error ==
        R"(an undo plan must be a JSON array of steps, not {"op":"resume"})");
}
