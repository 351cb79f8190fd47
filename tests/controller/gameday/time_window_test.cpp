// Game-day windows: whether an instant is inside, when the current opening closes and when the
// next one opens, pinned to exact instants, across midnight and both clock changes of
// Europe/Berlin in 2026 (forward on Sunday 29 March at 02:00 CET, back on Sunday 25 October at
// 03:00 CEST).
#include "controller/gameday/time_window.h"

#include <catch2/catch.hpp>

#include "tests/controller/gameday/tzdata.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::year;

WallTime utc(int y, unsigned m, unsigned d, int hour, int minute, int second = 0) {
  return sys_days{year{y} / m / d} + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

// Days as written in a suite ("mon", "fri"), or every day when none are given.
TimeWindow window(std::vector<std::string_view> days, std::string_view from, std::string_view to,
                  std::string_view zone) {
  test::skip_without_tzdata();
  TimeWindow w;
  if (days.empty()) w.days.fill(true);
  for (std::string_view day : days)
    for (size_t i = 0; i < kDayNames.size(); ++i)
      if (kDayNames[i] == day) w.days[(i + 1) % 7] = true;
  w.from = parse_time_of_day(from, false).value();
  w.to = parse_time_of_day(to, true).value();
  w.time_zone = zone;
  w.zone = find_time_zone(zone).value();
  return w;
}

const std::vector<std::string_view> kWeekdays = {"mon", "tue", "wed", "thu", "fri"};

}  // namespace

TEST_CASE("weekdays 02:00-05:00 in Europe/Berlin: inside, its end, the next opening",
          "[gameday][window]") {
  const TimeWindow w = window(kWeekdays, "02:00", "05:00", "Europe/Berlin");
  // Tuesday 8 December 2026, 02:30 CET.
  CHECK(current_opening(w, utc(2026, 12, 8, 1, 30)) ==
        Opening{utc(2026, 12, 8, 1, 0), utc(2026, 12, 8, 4, 0)});
  // The opening's first instant is in, its end is out.
  CHECK(current_opening(w, utc(2026, 12, 8, 1, 0)).has_value());
  CHECK_FALSE(current_opening(w, utc(2026, 12, 8, 4, 0)).has_value());
  CHECK_FALSE(current_opening(w, utc(2026, 12, 8, 0, 59, 59)).has_value());
  // Monday 05:46 CET: the next opening is Tuesday's.
  const WallTime monday = utc(2026, 12, 7, 4, 46);
  CHECK_FALSE(current_opening(w, monday).has_value());
  const auto next = next_opening(w, monday);
  REQUIRE(next.has_value());
  CHECK(*next == Opening{utc(2026, 12, 8, 1, 0), utc(2026, 12, 8, 4, 0)});
  CHECK(format_wall_time(w, next->opens) == "2026-12-08 02:00 CET");
  CHECK(format_wait(next->opens - monday) == "20h 14m");
  // Inside an opening, the next one is the day after.
  CHECK(next_opening(w, utc(2026, 12, 8, 1, 30)) ==
        Opening{utc(2026, 12, 9, 1, 0), utc(2026, 12, 9, 4, 0)});
  // Friday after the window: Monday's, over the weekend.
  const WallTime friday = utc(2026, 12, 11, 4, 0);
  CHECK(next_opening(w, friday) == Opening{utc(2026, 12, 14, 1, 0), utc(2026, 12, 14, 4, 0)});
  CHECK(format_wait(utc(2026, 12, 14, 1, 0) - friday) == "2d 21h");
  // Summer: CEST, UTC+2.
  CHECK(current_opening(w, utc(2026, 7, 1, 0, 0)) ==
        Opening{utc(2026, 7, 1, 0, 0), utc(2026, 7, 1, 3, 0)});
  CHECK(format_wall_time(w, utc(2026, 7, 1, 0, 0)) == "2026-07-01 02:00 CEST");
}

TEST_CASE("a window past midnight belongs to the day it starts on", "[gameday][window]") {
  // Friday 22:00 to Saturday 02:00, UTC.
  const TimeWindow w = window({"fri"}, "22:00", "02:00", "UTC");
  const Opening friday_night{utc(2026, 12, 11, 22, 0), utc(2026, 12, 12, 2, 0)};
  CHECK(current_opening(w, utc(2026, 12, 11, 23, 0)) == friday_night);
  CHECK(current_opening(w, utc(2026, 12, 12, 1, 59, 59)) == friday_night);
  CHECK_FALSE(current_opening(w, utc(2026, 12, 12, 2, 0)).has_value());
  // Saturday 22:30 is not an opening: Saturday is not one of its days.
  CHECK_FALSE(current_opening(w, utc(2026, 12, 12, 22, 30)).has_value());
  CHECK(next_opening(w, utc(2026, 12, 12, 22, 30)) ==
        Opening{utc(2026, 12, 18, 22, 0), utc(2026, 12, 19, 2, 0)});
  // Thursday 23:00: the next is the same Friday's.
  CHECK(next_opening(w, utc(2026, 12, 10, 23, 0)) == friday_night);
}

TEST_CASE("openings that touch are one, across midnight", "[gameday][window]") {
  const TimeWindow weekend = window({"sat", "sun"}, "00:00", "24:00", "UTC");
  const Opening whole{utc(2026, 12, 12, 0, 0), utc(2026, 12, 14, 0, 0)};
  CHECK(current_opening(weekend, utc(2026, 12, 12, 23, 50)) == whole);
  CHECK(current_opening(weekend, utc(2026, 12, 13, 10, 0)) == whole);
  CHECK(next_opening(weekend, utc(2026, 12, 13, 10, 0)) ==
        Opening{utc(2026, 12, 19, 0, 0), utc(2026, 12, 21, 0, 0)});
  CHECK(next_opening(weekend, utc(2026, 12, 11, 23, 0)) == whole);
  // Open at every hour: the opening reaches a week ahead and no further.
  const TimeWindow always = window({}, "00:00", "24:00", "UTC");
  CHECK(current_opening(always, utc(2026, 12, 12, 12, 0)) ==
        Opening{utc(2026, 12, 5, 0, 0), utc(2026, 12, 20, 0, 0)});
}

TEST_CASE("clocks going forward: a window inside the skipped hour does not open that day",
          "[gameday][window][dst]") {
  // 02:00-03:00 CET does not exist on Sunday 29 March 2026: at 02:00 CET (01:00 UTC) the clocks
  // read 03:00 CEST.
  const TimeWindow hour = window({}, "02:00", "03:00", "Europe/Berlin");
  CHECK(current_opening(hour, utc(2026, 3, 28, 1, 30)) ==
        Opening{utc(2026, 3, 28, 1, 0), utc(2026, 3, 28, 2, 0)});
  CHECK_FALSE(current_opening(hour, utc(2026, 3, 29, 0, 59)).has_value());
  CHECK_FALSE(current_opening(hour, utc(2026, 3, 29, 1, 0)).has_value());
  // Saturday after its opening: the next is Monday's, 02:00 CEST.
  const auto next = next_opening(hour, utc(2026, 3, 28, 2, 0));
  REQUIRE(next.has_value());
  CHECK(*next == Opening{utc(2026, 3, 30, 0, 0), utc(2026, 3, 30, 1, 0)});
  CHECK(format_wall_time(hour, next->opens) == "2026-03-30 02:00 CEST");

  // 02:00-05:00 that day opens when the clocks jump, 03:00 CEST, and lasts two hours.
  const TimeWindow longer = window({}, "02:00", "05:00", "Europe/Berlin");
  const Opening sunday{utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 3, 0)};
  CHECK(current_opening(longer, utc(2026, 3, 29, 1, 0)) == sunday);
  CHECK(next_opening(longer, utc(2026, 3, 28, 23, 0)) == sunday);
  CHECK(format_wall_time(longer, sunday.opens) == "2026-03-29 03:00 CEST");

  // Past midnight into the jump: Saturday 22:00 CET to the jump, four hours.
  const TimeWindow night = window({"sat"}, "22:00", "02:30", "Europe/Berlin");
  CHECK(current_opening(night, utc(2026, 3, 28, 23, 0)) ==
        Opening{utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 1, 0)});
}

TEST_CASE("clocks going back: a repeated time is its first occurrence", "[gameday][window][dst]") {
  // On Sunday 25 October 2026, 02:00-03:00 happens twice: CEST (00:00-01:00 UTC), then CET
  // (01:00-02:00 UTC). The window opens at the first 02:00 and closes at 03:00 CET.
  const TimeWindow hour = window({}, "02:00", "03:00", "Europe/Berlin");
  const Opening sunday{utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0)};
  CHECK(current_opening(hour, utc(2026, 10, 25, 0, 0)) == sunday);
  CHECK(current_opening(hour, utc(2026, 10, 25, 1, 30)) == sunday);
  CHECK_FALSE(current_opening(hour, utc(2026, 10, 25, 2, 0)).has_value());
  CHECK(format_wall_time(hour, sunday.opens) == "2026-10-25 02:00 CEST");
  CHECK(format_wall_time(hour, sunday.closes) == "2026-10-25 03:00 CET");
  CHECK(next_opening(hour, utc(2026, 10, 24, 23, 0)) == sunday);
  // An end inside the repeated hour is its first occurrence too: 01:00-02:30 closes at
  // 02:30 CEST.
  const TimeWindow early = window({"sun"}, "01:00", "02:30", "Europe/Berlin");
  CHECK(current_opening(early, utc(2026, 10, 24, 23, 30)) ==
        Opening{utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30)});
  CHECK_FALSE(current_opening(early, utc(2026, 10, 25, 1, 10)).has_value());
}

TEST_CASE("a window with no day never opens", "[gameday][window]") {
  TimeWindow w = window({"mon"}, "02:00", "05:00", "UTC");
  w.days.fill(false);
  CHECK_FALSE(current_opening(w, utc(2026, 12, 7, 3, 0)).has_value());
  CHECK_FALSE(next_opening(w, utc(2026, 12, 7, 3, 0)).has_value());
}

TEST_CASE("times of day are HH:MM on the 24-hour clock", "[gameday][window]") {
  CHECK(parse_time_of_day("00:00", false).value() == 0min);
  CHECK(parse_time_of_day("23:59", false).value() == 23h + 59min);
  CHECK(parse_time_of_day("24:00", true).value() == 24h);
  CHECK(parse_time_of_day("24:00", false).error().message ==
        "'24:00' is not a time of day; write HH:MM on the 24-hour clock, from 00:00 to 23:59");
  CHECK(parse_time_of_day("2:00", true).error().message ==
        "'2:00' is not a time of day; write HH:MM on the 24-hour clock, from 00:00 to 24:00");
  for (std::string_view bad : {"24:01", "23:60", "ab:cd", "0200", "02:00:00", "", " 2:00"})
    CHECK_FALSE(parse_time_of_day(bad, true).has_value());
}

TEST_CASE("time zones are IANA names from the system's tzdata", "[gameday][window]") {
  test::skip_without_tzdata();
  CHECK(find_time_zone("Europe/Berlin").has_value());
  CHECK(find_time_zone("UTC").has_value());
  CHECK(find_time_zone("America/New_York").has_value());
  CHECK(find_time_zone("Europe/Berln").error().message ==
        "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?); write an IANA name "
        "such as Europe/Berlin, America/New_York or UTC (the names are the files under "
        "/usr/share/zoneinfo)");
  CHECK(find_time_zone("Mars/Olympus_Mons").error().message ==
        "unknown time zone 'Mars/Olympus_Mons'; write an IANA name such as Europe/Berlin, "
        "America/New_York or UTC (the names are the files under /usr/share/zoneinfo)");
  CHECK_FALSE(find_time_zone("../../etc/passwd").has_value());
  CHECK_FALSE(find_time_zone("").has_value());
}

TEST_CASE("waits are said in whole units, rounded up", "[gameday][window]") {
  CHECK(format_wait(0s) == "0s");
  CHECK(format_wait(-5s) == "0s");
  CHECK(format_wait(40s + 200ms) == "41s");
  CHECK(format_wait(59s) == "59s");
  CHECK(format_wait(60s) == "1m");
  CHECK(format_wait(3h) == "3h");
  CHECK(format_wait(21h + 14min) == "21h 14m");
  CHECK(format_wait(21h + 13min + 1s) == "21h 14m");
  CHECK(format_wait(48h + 5min) == "2d 5m");
  CHECK(format_wait(71h + 59min + 30s) == "3d");
}

TEST_CASE("a window reads back as a person would write it", "[gameday][window]") {
  CHECK(describe_window(window(kWeekdays, "02:00", "05:00", "Europe/Berlin")) ==
        "mon-fri 02:00-05:00 Europe/Berlin");
  CHECK(describe_window(window({}, "22:00", "02:00", "UTC")) == "every day 22:00-02:00 UTC");
  CHECK(describe_window(window({"sat", "mon", "wed"}, "01:00", "24:00", "UTC")) ==
        "mon, wed, sat 01:00-24:00 UTC");
  CHECK(describe_window(window({"sat", "sun"}, "00:00", "24:00", "UTC")) ==
        "sat, sun 00:00-24:00 UTC");
  CHECK(describe_window(window({"mon", "tue", "wed", "fri", "sat", "sun"}, "00:00", "06:30",
                               "UTC")) == "mon-wed, fri-sun 00:00-06:30 UTC");
}

}  // namespace faultline
