// io_throttle and io_stress as data: their parameters and cross checks, the throttle lines they
// write and put back, the kernel's counters as they read them, and the latency buckets.
#include <catch2/catch.hpp>

#include "injectors/block/block_device.h"
#include "injectors/block/io_counters.h"
#include "injectors/injector.h"
#include "injectors/io_stress/latency_histogram.h"
#include "injectors/io_throttle/throttle_files.h"

namespace faultline {
namespace {

const SourceLocation kOwner{"t.yaml", 3, 5};

ParsedParams parse(std::string_view kind, std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<RawParam> raw;
  int line = 10;
  for (auto& [k, v] : kv) raw.push_back({k, v, {"t.yaml", line, 7}, {"t.yaml", line, 15}}), ++line;
  return parse_params(find_injector(kind)->params, raw, kOwner, kind);
}

std::vector<std::string> cross(std::string_view kind, const Params& p,
                               const ProcessSelector& s = {}) {
  return find_injector(kind)->cross_check(p, std::chrono::seconds(10), s);
}

std::string first_error(const ParsedParams& p) {
  return p.errors.empty() ? "" : p.errors.front().message;
}

}  // namespace

TEST_CASE("io_throttle takes byte rates and operation rates, and needs one of them", "[io]") {
  const ParsedParams p = parse("io_throttle", {{"path", "/data"}, {"wbps", "4MiB"}, {"riops", "100"}});
  REQUIRE(p.errors.empty());
  CHECK(p.params.bytes("wbps") == 4 * 1024 * 1024);
  CHECK(p.params.integer("riops") == 100);
  CHECK_FALSE(p.params.has("rbps"));
  CHECK(cross("io_throttle", p.params).empty());

  const ParsedParams none = parse("io_throttle", {{"path", "/data"}});
  REQUIRE(none.errors.empty());
  CHECK(cross("io_throttle", none.params) ==
        std::vector<std::string>{"io_throttle needs at least one limit: rbps, wbps, riops or wiops"});
}

TEST_CASE("io_throttle refuses rates out of range and a missing path", "[io]") {
  CHECK(first_error(parse("io_throttle", {{"path", "/d"}, {"wbps", "512"}})) ==
        "wbps must be between 1KiB and 1TiB (got 512)");
  CHECK(first_error(parse("io_throttle", {{"path", "/d"}, {"wiops", "0"}})) ==
        "wiops must be between 1 and 1000000000 (got 0)");
  CHECK(first_error(parse("io_throttle", {{"wbps", "1MiB"}})) ==
        "io_throttle needs the parameter 'path' (a file or directory on the filesystem whose disk "
        "is throttled)");
}

TEST_CASE("io_stress defaults: one worker, 4KiB blocks, half reads, 64MiB files", "[io]") {
  const ParsedParams p = parse("io_stress", {{"path", "/data"}});
  REQUIRE(p.errors.empty());
  CHECK(p.params.integer("workers") == 1);
  CHECK(p.params.bytes("block_size") == 4096);
  CHECK(p.params.percent("read_percent").basis_points == 5000);
  CHECK(p.params.bytes("bytes") == 64 * 1024 * 1024);
  CHECK(cross("io_stress", p.params).empty());
}

TEST_CASE("io_stress cross checks: aligned blocks, a file of at least a block, no target", "[io]") {
  const ParsedParams odd = parse("io_stress", {{"path", "/d"}, {"block_size", "6000"}});
  REQUIRE(odd.errors.empty());
  CHECK(cross("io_stress", odd.params) ==
        std::vector<std::string>{"block_size must be a multiple of 4KiB for direct I/O (got 6000)"});
  const ParsedParams small = parse("io_stress", {{"path", "/d"}, {"block_size", "4MiB"}, {"bytes", "2MiB"}});
  REQUIRE(small.errors.empty());
  CHECK(cross("io_stress", small.params) ==
        std::vector<std::string>{"bytes (2MiB) must be at least one block_size (4MiB)"});
  ProcessSelector s;
  s.name = "nginx";
  const ParsedParams p = parse("io_stress", {{"path", "/d"}});
  CHECK(cross("io_stress", p.params, s) ==
        std::vector<std::string>{"io_stress takes no process target: its own workers make the load"});
  CHECK(first_error(parse("io_stress", {{"path", "/d"}, {"read_percent", "120%"}})) ==
        "read_percent must be between 0% and 100% (got 120%)");
  CHECK(first_error(parse("io_stress", {{"path", "/d"}, {"block_size", "1KiB"}})) ==
        "block_size must be between 4KiB and 16MiB (got 1KiB)");
}

TEST_CASE("io.max: the device's line, or the line that means no limit", "[io]") {
  const std::string io_max = "8:0 rbps=1048576 wbps=max riops=max wiops=max\n"
                             "7:1 rbps=max wbps=max riops=100 wiops=max\n";
  CHECK(io_max_line(io_max, "8:0") == "8:0 rbps=1048576 wbps=max riops=max wiops=max");
  CHECK(io_max_line(io_max, "7:1") == "7:1 rbps=max wbps=max riops=100 wiops=max");
  CHECK(io_max_line(io_max, "7:10") == "7:10 rbps=max wbps=max riops=max wiops=max");
  CHECK(io_max_line("", "7:0") == "7:0 rbps=max wbps=max riops=max wiops=max");
  CHECK(blkio_line("7:0 4194304\n8:16 100\n", "8:16") == "8:16 100");
  CHECK(blkio_line("7:0 4194304\n", "7:1") == "7:1 0");
  IoLimits l;
  l.wbps = 4194304;
  l.riops = 50;
  CHECK(l.keys() == "wbps=4194304 riops=50");
}

TEST_CASE("I/O counters from io.stat and from v1's blkio files", "[io]") {
  const IoCounters v2 = parse_io_stat(
      "8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n"
      "7:0 rbytes=4096 wbytes=8388608 rios=1 wios=128 dbytes=0 dios=0\n",
      "7:0");
  CHECK(v2.rbytes == 4096);
  CHECK(v2.wbytes == 8388608);
  CHECK(v2.rios == 1);
  CHECK(v2.wios == 128);
  CHECK(parse_io_stat("8:0 rbytes=1\n", "7:0").wbytes == 0);
  const IoCounters v1 = parse_blkio_v1("7:0 Read 6144\n7:0 Write 8388608\n7:0 Total 8394752\nTotal 8394752\n",
                                       "7:0 Read 3\n7:0 Write 8\n", "7:0");
  CHECK(v1.rbytes == 6144);
  CHECK(v1.wbytes == 8388608);
  CHECK(v1.rios == 3);
  CHECK(v1.wios == 8);
}

TEST_CASE("a device's numbers are MAJ:MIN", "[io]") {
  CHECK(parse_device_numbers("259:3")->major == 259);
  CHECK(parse_device_numbers("259:3")->minor == 3);
  CHECK(parse_device_numbers("259").error().message == "'259' is not a device's MAJ:MIN");
  CHECK(parse_device_numbers("a:1").error().message == "'a:1' is not a device's MAJ:MIN");
}

TEST_CASE("latency buckets are within 12.5% and quantiles fall in the right one", "[io]") {
  for (uint64_t ns : {0ull, 3ull, 4ull, 7ull, 1000ull, 123456ull, 999999999ull}) {
    const int b = latency_bucket(ns);
    CHECK(latency_bucket_lower(b) <= ns);
    CHECK(ns < latency_bucket_upper(b));
  }
  CHECK(latency_bucket_lower(latency_bucket(100'000)) == 98'304);
  CHECK(latency_bucket_upper(latency_bucket(100'000)) == 114'688);
  LatencyCounts c{};
  CHECK(latency_quantile(c, 500) == 0);
  c[static_cast<size_t>(latency_bucket(100'000))] = 98;   // 98 operations near 100 us
  c[static_cast<size_t>(latency_bucket(5'000'000))] = 2;  // 2 near 5 ms
  CHECK(latency_quantile(c, 500) == (98'304 + 114'688) / 2);
  CHECK(latency_quantile(c, 980) == (98'304 + 114'688) / 2);
  CHECK(latency_quantile(c, 990) == (latency_bucket_lower(latency_bucket(5'000'000)) +
                                     latency_bucket_upper(latency_bucket(5'000'000))) / 2);
}

}  // namespace faultline
