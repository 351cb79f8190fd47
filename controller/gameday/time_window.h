#pragma once
// When a game-day suite may run: on some days of the week, between two times of day on the
// clock of an IANA time zone ("mon-fri 02:00-05:00 Europe/Berlin"). Time zones come from the
// system's tzdata through Howard Hinnant's date library (g++ 12 has no std::chrono tzdb); its
// types stay in time_window.cpp.
//
// An opening starts on an allowed day at `from` and ends at the next `to`: the same day when
// `to` is later, else the next day (22:00-02:00 on fri ends on Saturday at 02:00). Local times
// become instants the way a wall clock reads them:
// - a time that does not exist (the hour skipped when clocks go forward) is the instant the
//   clocks jump: a 02:00-03:00 window in Europe/Berlin does not open on the last Sunday of
//   March (both ends are 03:00 CEST), and 02:00-05:00 opens at 03:00 CEST that day;
// - a time that happens twice (the hour repeated when clocks go back) is its first
//   occurrence: 02:00-03:00 on the last Sunday of October opens at 02:00 CEST and closes at
//   03:00 CET, two hours later.
// Openings that touch are one: sat and sun 00:00-24:00 is open from Saturday 00:00 to Monday
// 00:00, and a scenario may run across the midnight in between.
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/duration.h"
#include "core/result.h"

namespace date {
class time_zone;
}

namespace faultline {

using WallTime = std::chrono::system_clock::time_point;

// The names a window's days are written with, Monday first: kDayNames[i] is the day whose
// std::chrono::weekday::c_encoding() is (i + 1) % 7.
inline constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                              "fri", "sat", "sun"};

struct TimeWindow {
  // The days an opening may start on, by std::chrono::weekday::c_encoding(): [0] is Sunday,
  // [6] Saturday.
  std::array<bool, 7> days{};
  std::chrono::minutes from{0};  // since local midnight: 00:00 to 23:59
  std::chrono::minutes to{0};    // 00:00 to 24:00; not after `from`: the opening ends next day
  std::string time_zone;         // the IANA name as written, e.g. "Europe/Berlin"
  // `time_zone` found in the database (find_time_zone); the database lives as long as the
  // program, so the pointer does too.
  const date::time_zone* zone = nullptr;
};

// The functions below take a window whose `zone` is set: one from a parsed suite, or filled
// with find_time_zone.

// One stretch of time in which the window is open: [opens, closes).
struct Opening {
  WallTime opens;
  WallTime closes;
  bool operator==(const Opening&) const = default;
};

// The zone of an IANA name ("Europe/Berlin", "UTC") from the system's tzdata; the error
// quotes the name and suggests the closest one.
Result<const date::time_zone*> find_time_zone(std::string_view name);

// "HH:MM" with two digits each, 00:00 to 23:59; "24:00" (the end of the day) too when
// `end_of_day_allowed`.
Result<std::chrono::minutes> parse_time_of_day(std::string_view text, bool end_of_day_allowed);

// The opening that `now` is in, if any: its end is when the suite must be done.
std::optional<Opening> current_opening(const TimeWindow& window, WallTime now);

// The first opening that starts after `now`; nullopt only for a window with no day.
std::optional<Opening> next_opening(const TimeWindow& window, WallTime now);

// `t` on the window's clock: "2026-12-08 02:00 CET".
std::string format_wall_time(const TimeWindow& window, WallTime t);

// How long until something, for people: "21h 14m", "2d 3h", "45s"; rounded up (to the minute
// from one minute on), so that what is said is never sooner than what happens.
std::string format_wait(Duration d);

// The window as a person would write it: "mon-fri 02:00-05:00 Europe/Berlin",
// "every day 22:00-02:00 UTC", "mon, wed, sat 01:00-24:00 Europe/Paris".
std::string describe_window(const TimeWindow& window);

}  // namespace faultline
