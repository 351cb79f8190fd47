#include "controller/gameday/time_window.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "core/suggest.h"

namespace faultline {
namespace {

using std::chrono::minutes;

// kDayNames' index -> TimeWindow::days' (c_encoding, Sunday 0).
unsigned c_encoding_of(size_t monday_first) {
  return static_cast<unsigned>((monday_first + 1) % 7);
}

// The opening that starts on local day `day`, when the window allows that day and the opening
// is not empty (both ends in the hour skipped by a clock change).
std::optional<Opening> opening_on(const TimeWindow& w, date::local_days day) {
  if (!w.days[date::weekday(day).c_encoding()]) return std::nullopt;
  const date::local_time<minutes> from = day + w.from;
  const date::local_time<minutes> to = w.to > w.from ? day + w.to : day + date::days{1} + w.to;
  // choose::earliest: a repeated time is its first occurrence. A skipped time is the moment
  // of the jump whichever is chosen.
  const Opening o{w.zone->to_sys(from, date::choose::earliest),
                  w.zone->to_sys(to, date::choose::earliest)};
  if (o.opens >= o.closes) return std::nullopt;
  return o;
}

// The opening of `day` joined with the openings of the days around it that touch it (sat and
// sun 00:00-24:00 is one opening from Saturday to Monday), so that a scenario may run across
// midnight. At most a week each way: a window open at every hour of every day has no end.
Opening joined(const TimeWindow& w, date::local_days day, Opening o) {
  for (int back = 1; back <= 7; ++back) {
    const auto before = opening_on(w, day - date::days{back});
    if (!before || before->closes != o.opens) break;
    o.opens = before->opens;
  }
  for (int ahead = 1; ahead <= 7; ++ahead) {
    const auto after = opening_on(w, day + date::days{ahead});
    if (!after || after->opens != o.closes) break;
    o.closes = after->closes;
  }
  return o;
}

date::local_days local_day(const TimeWindow& w, WallTime t) {
  return date::floor<date::days>(w.zone->to_local(t));
}

}  // namespace

Result<const date::time_zone*> find_time_zone(std::string_view name) {
  const date::tzdb* db = nullptr;
  try {
    db = &date::get_tzdb();
  } catch (const std::exception& e) {
    return fail("cannot read the time zone database (tzdata in /usr/share/zoneinfo): {}", e.what());
  }
  for (const date::time_zone& z : db->zones)
    if (z.name() == name) return &z;
  std::vector<std::string_view> names;
  names.reserve(db->zones.size());
  for (const date::time_zone& z : db->zones) names.push_back(z.name());
  return fail(
      "unknown time zone '{}'{}; write an IANA name such as Europe/Berlin, "
      "America/New_York or UTC (the names are the files under /usr/share/zoneinfo)",
      name, did_you_mean(name, names));
}

Result<minutes> parse_time_of_day(std::string_view text, bool end_of_day_allowed) {
  const bool shape = text.size() == 5 && text[2] == ':' &&
                     std::all_of(text.begin(), text.begin() + 2, ::isdigit) &&
                     std::all_of(text.begin() + 3, text.end(), ::isdigit);
  const int hours = shape ? (text[0] - '0') * 10 + (text[1] - '0') : -1;
  const int mins = shape ? (text[3] - '0') * 10 + (text[4] - '0') : -1;
  if (shape && end_of_day_allowed && hours == 24 && mins == 0) return std::chrono::hours(24);
  if (!shape || hours > 23 || mins > 59)
    return fail("'{}' is not a time of day; write HH:MM on the 24-hour clock, from 00:00 to {}",
                text, end_of_day_allowed ? "24:00" : "23:59");
  return std::chrono::hours(hours) + minutes(mins);
}

std::optional<Opening> current_opening(const TimeWindow& w, WallTime now) {
  const date::local_days today = local_day(w, now);
  // An opening lasts at most a day and an hour: the one containing `now` started today or
  // yesterday; the day before is looked at too, so that no clock change can hide one.
  for (int back = 2; back >= 0; --back) {
    const date::local_days day = today - date::days{back};
    if (auto o = opening_on(w, day); o && o->opens <= now && now < o->closes)
      return joined(w, day, *o);
  }
  return std::nullopt;
}

std::optional<Opening> next_opening(const TimeWindow& w, WallTime now) {
  if (std::none_of(w.days.begin(), w.days.end(), [](bool d) { return d; })) return std::nullopt;
  const date::local_days today = local_day(w, now);
  // Every allowed weekday comes round within a week; one of its days may open on no day of
  // the year (a skipped hour), so look two weeks ahead.
  for (int ahead = -1; ahead <= 15; ++ahead) {
    const date::local_days day = today + date::days{ahead};
    // An opening that touches the one before it is part of that one: the current one.
    if (auto o = opening_on(w, day); o && o->opens > now) {
      const Opening whole = joined(w, day, *o);
      if (whole.opens > now) return whole;
    }
  }
  return std::nullopt;
}

std::string format_wall_time(const TimeWindow& w, WallTime t) {
  const auto seconds = date::floor<std::chrono::seconds>(t);
  return date::format("%Y-%m-%d %H:%M %Z", date::make_zoned(w.zone, seconds));
}

std::string format_wait(Duration d) {
  using std::chrono::ceil;
  if (d <= Duration::zero()) return "0s";
  if (d < minutes(1)) return fmt::format("{}s", ceil<std::chrono::seconds>(d).count());
  const int64_t total = ceil<minutes>(d).count();
  const int64_t days = total / (24 * 60), hours = total / 60 % 24, mins = total % 60;
  std::vector<std::string> parts;
  if (days > 0) parts.push_back(fmt::format("{}d", days));
  if (hours > 0) parts.push_back(fmt::format("{}h", hours));
  if (mins > 0) parts.push_back(fmt::format("{}m", mins));
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string describe_window(const TimeWindow& w) {
  std::vector<std::string> runs;  // "mon-fri", "sun": runs of three or more days as ranges
  for (size_t i = 0; i < 7;) {
    if (!w.days[c_encoding_of(i)]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end + 1 < 7 && w.days[c_encoding_of(end + 1)]) ++end;
    if (end - i >= 2) {
      runs.push_back(fmt::format("{}-{}", kDayNames[i], kDayNames[end]));
    } else {
      for (size_t d = i; d <= end; ++d) runs.emplace_back(kDayNames[d]);
    }
    i = end + 1;
  }
  const bool every_day = std::all_of(w.days.begin(), w.days.end(), [](bool d) { return d; });
  auto clock = [](minutes m) { return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60); };
  return fmt::format("{} {}-{} {}",
                     every_day ? "every day" : fmt::format("{}", fmt::join(runs, ", ")),
                     clock(w.from), clock(w.to), w.time_zone);
}

}  // namespace faultline
