// Sizes as users write them: binary units are powers of 1024, decimal ones of 1000.
#include "core/byte_size.h"

#include <catch2/catch.hpp>

namespace faultline {

TEST_CASE("parse_byte_size reads bytes, binary and decimal units exactly", "[byte-size]") {
  CHECK(parse_byte_size("4096").value().bytes == 4096);
  CHECK(parse_byte_size("0").value().bytes == 0);
  CHECK(parse_byte_size("512MiB").value().bytes == 512 * kMiB);
  CHECK(parse_byte_size("512Mi").value().bytes == 512 * kMiB);
  CHECK(parse_byte_size("2GiB").value().bytes == 2 * kGiB);
  CHECK(parse_byte_size("1TiB").value().bytes == 1024 * kGiB);
  CHECK(parse_byte_size("64KiB").value().bytes == 64 * 1024);
  CHECK(parse_byte_size("1G").value().bytes == 1'000'000'000);
  CHECK(parse_byte_size("1GB").value().bytes == 1'000'000'000);
  CHECK(parse_byte_size("10MB").value().bytes == 10'000'000);
  CHECK(parse_byte_size("3k").value().bytes == 3000);
  CHECK(parse_byte_size("7B").value().bytes == 7);
  CHECK(parse_byte_size("100 MiB").value().bytes == 100 * kMiB);
}

TEST_CASE("parse_byte_size refuses what is not a whole size, quoting it", "[byte-size]") {
  const std::string hint =
      " is not a size; write a whole number of bytes or one with a unit, e.g. 4096, 512MiB, "
      "2GiB (KiB, MiB, GiB, TiB: powers of 1024; kB, MB, GB, TB: of 1000)";
  CHECK(parse_byte_size("1.5GiB").error().message == "'1.5GiB'" + hint);
  CHECK(parse_byte_size("-1").error().message == "'-1'" + hint);
  CHECK(parse_byte_size("MiB").error().message == "'MiB'" + hint);
  CHECK(parse_byte_size("").error().message == "''" + hint);
  CHECK(parse_byte_size("12mb").error().message == "'12mb'" + hint);
  CHECK(parse_byte_size("5PiB").error().message == "'5PiB'" + hint);
  CHECK(parse_byte_size("99999999TiB").error().message == "'99999999TiB' is too large (at most 4EiB)");
  CHECK(parse_byte_size("99999999999999999999").error().message == "'99999999999999999999'" + hint);
}

TEST_CASE("format_byte_size writes the largest exact binary unit and reads back", "[byte-size]") {
  CHECK(format_byte_size({512 * kMiB}) == "512MiB");
  CHECK(format_byte_size({kGiB}) == "1GiB");
  CHECK(format_byte_size({1536 * kKiB}) == "1536KiB");
  CHECK(format_byte_size({1'000'000}) == "1000000");
  CHECK(format_byte_size({0}) == "0");
  for (int64_t b : {int64_t{0}, int64_t{1}, 3 * kGiB, 1000 * kMiB + 1, int64_t{1'000'000'000}})
    CHECK(parse_byte_size(format_byte_size({b})).value().bytes == b);
}

TEST_CASE("human_bytes rounds for people", "[byte-size]") {
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(1.5 * kGiB) == "1.50 GiB");
  CHECK(human_bytes(12 * kMiB) == "12.0 MiB");
  CHECK(human_bytes(300 * kMiB) == "300 MiB");
}

}  // namespace faultline
