// disk_fill's pure half: its parameters through the ParamSpecs, the checks between them (exact
// messages), the target arithmetic for bytes, percent and leave against statvfs figures, and the
// host checks that need no root (a missing path, a file instead of a directory).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "core/byte_size.h"
#include "injectors/disk_fill/fill_space.h"
#include "injectors/injector.h"
#include "tests/support/require_ok.h"

namespace faultline {
namespace {

const InjectorDescriptor& descriptor() {
  const InjectorDescriptor* d = find_injector("disk_fill");
  REQUIRE(d != nullptr);
  return *d;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

ParsedParams parse(const Pairs& pairs) {
  std::vector<RawParam> raw;
  for (auto& [k, v] : pairs) raw.push_back({k, v, {"t.yaml", 1, 1}, {"t.yaml", 1, 9}});
  return parse_params(descriptor().params, raw, {"t.yaml", 1, 1}, "fault 'fill'");
}

std::vector<std::string> problems(const Pairs& pairs) {
  ParsedParams p = parse(pairs);
  INFO((p.errors.empty() ? std::string() : p.errors.front().message));
  REQUIRE(p.errors.empty());
  return descriptor().cross_check(p.params, std::chrono::seconds(10), ProcessSelector{});
}

using Strings = std::vector<std::string>;

// An ext4 of 1000 blocks of 4 KiB: 600 free, 550 of them available (50 reserved for root).
constexpr FsSpace kExt4{
    .block_size = 4096, .size = 1000 * 4096, .free = 600 * 4096, .avail = 550 * 4096};

}  // namespace

TEST_CASE("disk_fill is a host fault with a required duration and a reach check") {
  CHECK_FALSE(descriptor().targets_processes);
  CHECK(descriptor().duration == DurationRule::Required);
  CHECK(descriptor().host_check != nullptr);
  CHECK(descriptor().reach_check != nullptr);
}

TEST_CASE("disk_fill parameters: path and one amount, of avail and file tmpfile by default") {
  ParsedParams none = parse({});
  REQUIRE(none.errors.size() == 1);
  CHECK(none.errors[0].message ==
        "fault 'fill' needs the parameter 'path' (a directory on the filesystem to fill, "
        "e.g. /var/lib/app)");
  ParsedParams p = parse({{"path", "/mnt/data"}, {"leave", "1MiB"}});
  REQUIRE(p.errors.empty());
  CHECK(p.params.bytes("leave") == kMiB);
  CHECK(p.params.text("of") == "avail");
  CHECK(p.params.text("file") == "tmpfile");
  CHECK(problems({{"path", "/mnt/data"}, {"leave", "0"}}).empty());
  CHECK(problems({{"path", "/mnt/data"}, {"bytes", "512MiB"}, {"of", "size"}}).empty());
  CHECK(problems({{"path", "/mnt/data"}, {"percent", "95%"}}).empty());
}

TEST_CASE("disk_fill refuses bad values with messages that quote them") {
  auto first_error = [](const Pairs& pairs) {
    ParsedParams p = parse(pairs);
    REQUIRE(p.errors.size() == 1);
    return p.errors[0].message;
  };
  CHECK(first_error({{"path", "/d"}, {"bytes", "0"}}) ==
        "bytes must be between 1 and 1024TiB (got 0)");
  CHECK(first_error({{"path", "/d"}, {"percent", "0"}}) ==
        "percent must be between 0.01% and 100% (got 0%)");
  CHECK(first_error({{"path", "/d"}, {"percent", "101%"}}) ==
        "percent must be between 0.01% and 100% (got 101%)");
  CHECK(first_error({{"path", "/d"}, {"leave", "1.5GiB"}}).starts_with("leave: "));
  CHECK(first_error({{"path", "/d"}, {"leave", "0"}, {"of", "free"}}) ==
        "of must be one of avail, size (got 'free')");
}

TEST_CASE("disk_fill takes exactly one of bytes, percent and leave, and an absolute path") {
  CHECK(problems({{"path", "/d"}}) ==
        Strings{"say how much to fill with one of bytes, percent or leave"});
  CHECK(problems({{"path", "/d"}, {"bytes", "1MiB"}, {"leave", "0"}}) ==
        Strings{"give only one of bytes, percent or leave (got bytes and leave)"});
  CHECK(problems({{"path", "/d"}, {"bytes", "1MiB"}, {"percent", "50"}, {"leave", "0"}}) ==
        Strings{"give only one of bytes, percent or leave (got bytes and percent and leave)"});
  CHECK(problems({{"path", "data"}, {"leave", "0"}}) ==
        Strings{"path must be an absolute path to a directory (got 'data')"});
}

TEST_CASE("disk_fill targets: bytes, leave and percent, of avail and of size") {
  using Mode = FillAmount::Mode;
  auto target = [](FillAmount a, FillOf of) {
    return REQUIRE_VALUE(compute_fill_target(a, of, kExt4, "/mnt")).target_free;
  };
  // bytes: take that much from what the view counts free.
  CHECK(target({.mode = Mode::Bytes, .bytes = 100 * 4096}, FillOf::Avail) == 450 * 4096);
  CHECK(target({.mode = Mode::Bytes, .bytes = 100 * 4096}, FillOf::Size) == 500 * 4096);
  // leave: the view's free space goes down to it.
  CHECK(target({.mode = Mode::Leave, .bytes = 10 * 4096}, FillOf::Avail) == 10 * 4096);
  // of: size counts root's 50 reserved blocks: leave 0 fills them too (f_bfree 0).
  CHECK(target({.mode = Mode::Leave, .bytes = 0}, FillOf::Size) == 0);
  // percent of avail is df's Use%: used 400 blocks of used + avail = 950; 90% used of 950 is
  // 855, so 95 blocks stay available.
  CHECK(target({.mode = Mode::Percent, .percent = Percent::whole(90)}, FillOf::Avail) == 95 * 4096);
  // percent of size: 90% of 1000 blocks used, 100 blocks free (50 of them root's reserve).
  CHECK(target({.mode = Mode::Percent, .percent = Percent::whole(90)}, FillOf::Size) == 100 * 4096);
  // A share that does not fall on a byte: the used part rounds down, so the free part up.
  const FsSpace odd{.block_size = 1, .size = 1001, .free = 1001, .avail = 1001};
  CHECK(REQUIRE_VALUE(compute_fill_target({.mode = Mode::Percent, .percent = Percent{3333}},
                                          FillOf::Avail, odd, "/x"))
            .target_free == 1001 - 333);
}

TEST_CASE("disk_fill refuses a target with nothing to fill, naming the view") {
  using Mode = FillAmount::Mode;
  auto error = [](FillAmount a, FillOf of) {
    auto t = compute_fill_target(a, of, kExt4, "/mnt");
    REQUIRE_FALSE(t);
    return t.error().message;
  };
  CHECK(error({.mode = Mode::Bytes, .bytes = 551 * 4096}, FillOf::Avail) ==
        "/mnt has 2.15 MiB free (of: avail, statvfs f_bavail: what unprivileged users can use): "
        "less than bytes 2204KiB; ask for less");
  CHECK(error({.mode = Mode::Leave, .bytes = 600 * 4096}, FillOf::Size) ==
        "/mnt has 2.34 MiB free (of: size, statvfs f_bfree: root's reserve included): not more "
        "than leave 2400KiB, so there is nothing to fill");
  CHECK(error({.mode = Mode::Percent, .percent = Percent::whole(40)}, FillOf::Size) ==
        "/mnt is already 40.0% used (of: size, statvfs f_bfree: root's reserve included): not "
        "less than percent 40%, so there is nothing to fill");
  // All that is available: allowed, down to 0.
  CHECK(
      compute_fill_target({.mode = Mode::Bytes, .bytes = 550 * 4096}, FillOf::Avail, kExt4, "/mnt")
          ->target_free == 0);
}

TEST_CASE("disk_fill's host check: the path must exist and be a directory") {
  Params params;
  params.set("path", std::string("/nonexistent/fl-disk-fill"));
  auto missing = descriptor().host_check(params);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        "disk_fill path /nonexistent/fl-disk-fill: No such file or directory; give an existing "
        "directory on the filesystem to fill");
  const std::string file =
      (std::filesystem::temp_directory_path() / ("fl-disk-fill-" + std::to_string(getpid())))
          .string();
  std::FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  params.set("path", file);
  auto not_dir = descriptor().host_check(params);
  std::filesystem::remove(file);
  REQUIRE_FALSE(not_dir);
  CHECK(not_dir.error().message ==
        "disk_fill path " + file +
            " is not a directory; give a directory on the filesystem to fill");
}

}  // namespace faultline
