// Durations as written in scenario files, and their one canonical rendering.
#include "core/duration.h"

#include <catch2/catch.hpp>

namespace faultline {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

}  // namespace

TEST_CASE("parse_duration reads every unit, groups and decimals exactly", "[duration]") {
  CHECK(parse_duration("250ms").value() == milliseconds(250));
  CHECK(parse_duration("1m30s").value() == seconds(90));
  CHECK(parse_duration("1.5s").value() == milliseconds(1500));
  CHECK(parse_duration("0s").value() == Duration::zero());
  CHECK(parse_duration("2h").value() == hours(2));
  CHECK(parse_duration("1h2m3s").value() == hours(1) + minutes(2) + seconds(3));
  CHECK(parse_duration("100us").value() == microseconds(100));
  CHECK(parse_duration("7ns").value() == nanoseconds(7));
  CHECK(parse_duration("3.2ms").value() == microseconds(3200));
  CHECK(parse_duration("0.001ms").value() == microseconds(1));
  CHECK(parse_duration(".5s").value() == milliseconds(500));
  CHECK(parse_duration("1.s").value() == seconds(1));
}

TEST_CASE("parse_duration refuses what is not a duration, quoting it", "[duration]") {
  CHECK(parse_duration("-5s").error().message == "duration '-5s' must not be negative");
  CHECK(parse_duration("5").error().message ==
        "duration '5' has no unit; add one of ns, us, ms, s, m, h (e.g. '5s')");
  CHECK(parse_duration("5x").error().message ==
        "duration '5x' has unknown unit 'x'; use one of ns, us, ms, s, m, h");
  CHECK(parse_duration("5sec").error().message ==
        "duration '5sec' has unknown unit 'sec'; use one of ns, us, ms, s, m, h");
  CHECK(parse_duration("ms").error().message ==
        "duration 'ms' is not a number with a unit, e.g. 500ms or 2s");
  CHECK(parse_duration("").error().message ==
        "empty duration; write it with a unit, e.g. 500ms or 2s");
  CHECK(parse_duration("99999999999h").error().message == "duration '99999999999h' is too large");
}

TEST_CASE("parse_duration is exact for long fractions and refuses spaces", "[duration]") {
  // 0.123456789 h = 444.4444404 s: the fraction times an hour in nanoseconds needs 128 bits.
  CHECK(parse_duration("1.123456789h").value() == nanoseconds(4'044'444'440'400LL));
  CHECK(parse_duration("2562047h2562047h").error().message ==
        "duration '2562047h2562047h' is too large");
  CHECK(parse_duration("5 s").error().message ==
        "duration '5 s' contains a space; write it without one, e.g. 500ms or 1m30s");
  CHECK(parse_duration("1m30").error().message ==
        "duration '1m30' has no unit; add one of ns, us, ms, s, m, h (e.g. '1m30s')");
}

TEST_CASE("format_duration writes the shortest exact form", "[duration]") {
  CHECK(format_duration(Duration::zero()) == "0s");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(1500)) == "1.5s");
  CHECK(format_duration(seconds(90)) == "1m30s");
  CHECK(format_duration(minutes(2)) == "2m");
  CHECK(format_duration(minutes(90)) == "90m");
  CHECK(format_duration(hours(3)) == "3h");
  CHECK(format_duration(microseconds(3200)) == "3.2ms");
  CHECK(format_duration(nanoseconds(1500)) == "1.5us");
  CHECK(format_duration(nanoseconds(7)) == "7ns");
  CHECK(format_duration(milliseconds(-250)) == "-250ms");
  CHECK(format_duration(milliseconds(1234)) == "1.234s");
}

TEST_CASE("format_duration rounds three decimals half up, in integers", "[duration]") {
  // Found by values_fuzzer: through a double, 999999700.999499989 s became 999999700.9995 and
  // then "999999701s", 500011 ns away from the value, more than half of the last digit.
  CHECK(format_duration(nanoseconds(999'999'700'999'499'989LL)) == "999999700.999s");
  CHECK(format_duration(nanoseconds(1'234'500'000)) == "1.235s");  // 1.2345 as a double is below
  CHECK(format_duration(nanoseconds(1'234'499'999)) == "1.234s");
  CHECK(format_duration(nanoseconds(999'999'500)) == "1000ms");
  CHECK(format_duration(nanoseconds(1'000'499)) == "1ms");
}

TEST_CASE("format_duration and parse_duration round-trip", "[duration]") {
  for (const char* text : {"0s", "7ns", "1.5us", "250ms", "3.2ms", "1s", "1.5s", "59s", "1m",
                           "1m30s", "2m", "90m", "1h", "24h"}) {
    INFO(text);
    const auto parsed = parse_duration(text);
    REQUIRE(parsed.has_value());
    CHECK(format_duration(*parsed) == text);
  }
  CHECK(to_ms(microseconds(1500)) == 1.5);
}

}  // namespace faultline
