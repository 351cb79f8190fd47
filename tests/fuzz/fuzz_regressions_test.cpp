// Inputs the fuzzers (fuzz/) found that crashed or hung a parser, each with what it must give
// now. Run in the normal suite, without sanitizers, so each asserts the value that was wrong.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "agent/wire.h"

using namespace faultline;

namespace {

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

// wire_fuzzer, FaultStatus: applied_at_unix_ms 217599998928896 (the year 8865) overflowed the
// nanoseconds of a system_clock time (signed overflow, UBSan). It is clamped to the last time
// a system_clock time holds (2262).
TEST_CASE("an agent's time beyond 2262 is clamped, not overflowed", "[fuzz][wire]") {
  const std::string input(
      "\x0a\x01o\x12\x01"
      "f\x1a\x07network \x01(\x80\xd0\x8e\x95\xff\xbc\x31R\x11{\"dyl_a\x02\x00\x00\x00\x00\x00\x00"
      "\x00"
      "0}Z\x02ok`\x01h\xdc\x0b",
      53);
  wire::v1::FaultStatus status;
  REQUIRE(status.ParseFromString(input));
  REQUIRE(status.applied_at_unix_ms() == 217599998928896);
  const FaultReport r = wire::decode(status);
  REQUIRE(r.applied_at.has_value());
  CHECK(unix_ms(*r.applied_at) == 9223372036854);
  CHECK(r.lease_remaining == std::chrono::milliseconds(1500));
}

// The same overflow through lease_remaining_ms: a uint64 near its end became a negative lease.
TEST_CASE("an agent's lease over a day is clamped to a day", "[fuzz][wire]") {
  wire::v1::FaultStatus status;
  status.set_lease_remaining_ms(UINT64_MAX);
  CHECK(wire::decode(status).lease_remaining == std::chrono::hours(24));
  status.set_lease_remaining_ms(2500);
  CHECK(wire::decode(status).lease_remaining == std::chrono::milliseconds(2500));
}
