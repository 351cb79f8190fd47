#include "controller/gameday/suite.h"

#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <map>
#include <memory>

#include "controller/gameday/history.h"
#include "core/suggest.h"
#include "yaml/yaml_reader.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTopKeys[] = {"version",      "title",  "inventory", "stop_on",
                                         "max_duration", "window", "history",   "scenarios"};
constexpr std::string_view kWindowKeys[] = {"days", "from", "to", "time_zone"};
constexpr std::string_view kHistoryKeys[] = {"keep"};
constexpr std::string_view kScenarioKeys[] = {"file", "pause_after"};
constexpr std::string_view kStopOnNames[] = {"deviation", "error", "never"};
constexpr int64_t kMaxHistoryKeep = 1000;

std::string clock_text(std::chrono::minutes m) {
  return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
}

class SuiteParser {
 public:
  SuiteParser(const std::string& file, Diagnostics& errors)
      : r_(file, errors), directory_(fs::absolute(file).parent_path().lexically_normal()) {}

  Suite parse(const yaml::Node& root) {
    Suite s;
    s.file = fs::absolute(r_.file()).lexically_normal().string();
    if (!r_.mapping(root, "the suite", kTopKeys)) return s;
    if (r_.require(root, "version", "the suite")) {
      auto v = r_.integer(root, "version", "version", 1, std::numeric_limits<int64_t>::max());
      if (v && *v != 1)
        r_.error(root["version"],
                 fmt::format("version {} is not supported; this faultline reads version 1", *v));
    }
    if (r_.require(root, "title", "the suite")) {
      s.title = r_.text(root, "title", "title").value_or("");
      if (root["title"].is_scalar() && s.title.empty())
        r_.error(root["title"], "title is empty; give the suite a one-line title for its reports");
    }
    if (root["inventory"]) s.inventory = path(root, "inventory", "inventory");
    if (auto stop_on = r_.text(root, "stop_on", "stop_on"))
      parse_stop_on(root["stop_on"], *stop_on, s);
    if (r_.require(root, "max_duration", "the suite"))
      if (auto d = r_.duration(root, "max_duration", "max_duration", std::chrono::seconds(1)))
        s.max_duration = *d;
    if (root["window"]) s.window = parse_window(root["window"]);
    if (root["history"] && r_.mapping(root["history"], "history", kHistoryKeys) &&
        r_.require(root["history"], "keep", "history"))
      if (auto keep = r_.integer(root["history"], "keep", "history.keep", 1, kMaxHistoryKeep))
        s.history_keep = static_cast<size_t>(*keep);
    if (r_.require(root, "scenarios", "the suite") && r_.sequence(root["scenarios"], "scenarios")) {
      if (root["scenarios"].size() == 0)
        r_.error(root["scenarios"],
                 "scenarios is empty; list the scenario files to run, in order, such as "
                 "- file: web-latency.yaml");
      for (const yaml::Node& entry : root["scenarios"]) parse_scenario(entry, s);
    }
    check_pauses(root, s);
    return s;
  }

 private:
  void parse_stop_on(const yaml::Node& node, const std::string& text, Suite& s) {
    if (text == "deviation") {
      s.stop_on = StopOn::Deviation;
    } else if (text == "error") {
      s.stop_on = StopOn::Error;
    } else if (text == "never") {
      s.stop_on = StopOn::Never;
    } else {
      r_.error(node, fmt::format("stop_on '{}' is not known{}; write deviation (stop after a "
                                 "scenario that did not hold, the default), error (only after "
                                 "an error) or never (run every scenario)",
                                 text, did_you_mean(text, kStopOnNames)));
    }
  }

  std::optional<TimeWindow> parse_window(const yaml::Node& node) {
    if (!r_.mapping(node, "window", kWindowKeys)) return std::nullopt;
    bool ok = true;
    TimeWindow w;
    if (node["days"]) {
      ok &= parse_days(node["days"], w);
    } else {
      w.days.fill(true);
    }
    auto time_of_day = [&](std::string_view key, bool end_of_day_allowed) {
      std::optional<std::chrono::minutes> out;
      if (!r_.require(node, key, "window")) return out;
      const std::string what = fmt::format("window.{}", key);
      if (auto text = r_.text(node, key, what)) {
        if (auto m = parse_time_of_day(*text, end_of_day_allowed))
          out = *m;
        else
          r_.error(node[key], fmt::format("{}: {}", what, m.error().message));
      }
      return out;
    };
    const std::optional<std::chrono::minutes> from = time_of_day("from", false);
    const std::optional<std::chrono::minutes> to = time_of_day("to", true);
    if (from && to && *from == *to)
      r_.error(node["to"],
               fmt::format("window.to is the same time as window.from ({}): the window would "
                           "never be open; give the time it closes, such as to: \"{}\"",
                           clock_text(*from),
                           clock_text((*from + std::chrono::hours(3)) % std::chrono::hours(24))));
    ok &= from && to && *from != *to;
    if (r_.require(node, "time_zone", "window")) {
      if (auto name = r_.text(node, "time_zone", "window.time_zone")) {
        if (auto zone = find_time_zone(*name)) {
          w.time_zone = *name;
          w.zone = *zone;
        } else {
          r_.error(node["time_zone"], fmt::format("window.time_zone: {}", zone.error().message));
        }
      }
    }
    if (!ok || w.zone == nullptr) return std::nullopt;
    w.from = *from;
    w.to = *to;
    return w;
  }

  bool parse_days(const yaml::Node& node, TimeWindow& w) {
    if (!r_.sequence(node, "window.days")) return false;
    if (node.size() == 0) {
      r_.error(node,
               "window.days is empty; list the days an opening may start on, such as "
               "[mon, tue, wed, thu, fri], or leave days out for every day");
      return false;
    }
    bool ok = true;
    for (const yaml::Node& day : node) {
      if (!day.is_scalar()) {
        r_.error(day, "each item of window.days must be one day, such as mon");
        ok = false;
        continue;
      }
      const std::string& name = day.scalar();
      size_t i = 0;
      while (i < kDayNames.size() && kDayNames[i] != name) ++i;
      if (i == kDayNames.size()) {
        r_.error(day, fmt::format("window.days: '{}' is not a day{}; write mon, tue, wed, thu, "
                                  "fri, sat or sun",
                                  name, did_you_mean(name, kDayNames)));
        ok = false;
        continue;
      }
      bool& allowed = w.days[(i + 1) % 7];
      if (allowed) {
        r_.error(day, fmt::format("window.days lists '{}' twice; keep one", name));
        ok = false;
      }
      allowed = true;
    }
    return ok;
  }

  void parse_scenario(const yaml::Node& node, Suite& s) {
    if (node.is_scalar()) {
      r_.error(node, fmt::format("each scenario is a mapping such as '- file: web-latency.yaml'; "
                                 "write '- file: {}'",
                                 node.scalar()));
      return;
    }
    if (!r_.mapping(node, "a scenario of the suite", kScenarioKeys)) return;
    SuiteScenario entry;
    entry.at = r_.where(node);
    bool ok = true;
    if (r_.require(node, "file", "a scenario of the suite")) {
      entry.written = r_.text(node, "file", "scenarios.file").value_or("");
      const std::optional<std::string> file = path(node, "file", "scenarios.file");
      ok &= file.has_value();
      if (file) {
        entry.file = *file;
        entry.history = history_slug(fs::path(*file).stem().string());
        ok &= !listed_twice(node["file"], entry, s);
      }
    } else {
      ok = false;
    }
    if (auto pause = r_.duration(node, "pause_after", "scenarios.pause_after"))
      entry.pause_after = *pause;
    else if (node["pause_after"])
      ok = false;
    broken_ |= !ok;
    // Kept with its problems too, so that later entries are checked against it; a suite with
    // any problem is not returned at all.
    if (!entry.file.empty()) {
      pause_nodes_.push_back(node["pause_after"]);
      s.scenarios.push_back(std::move(entry));
    }
  }

  // A scenario listed again, or one whose history would mix with another's.
  bool listed_twice(const yaml::Node& at, const SuiteScenario& entry, const Suite& s) {
    for (const SuiteScenario& other : s.scenarios) {
      if (other.file == entry.file) {
        r_.error(at, fmt::format("scenario {} is already listed at line {}; a suite runs each "
                                 "scenario once (copy the file to run it twice)",
                                 entry.written, other.at.line));
        return true;
      }
      if (other.history == entry.history) {
        r_.error(at, fmt::format("scenarios {} and {} (line {}) would share the history folder "
                                 "'{}'; rename one of the files",
                                 entry.written, other.written, other.at.line, entry.history));
        return true;
      }
    }
    return false;
  }

  // Pauses that cannot matter, or that leave no time for the scenarios.
  void check_pauses(const yaml::Node& root, const Suite& s) {
    if (broken_ || s.scenarios.empty()) return;
    if (pause_nodes_.back())
      r_.error(pause_nodes_.back(),
               "pause_after on the last scenario has nothing to wait for; "
               "remove it");
    Duration pauses{};
    for (size_t i = 0; i + 1 < s.scenarios.size(); ++i) pauses += s.scenarios[i].pause_after;
    if (s.max_duration > Duration::zero() && pauses >= s.max_duration)
      r_.error(root["max_duration"],
               fmt::format("max_duration {} leaves no time for the scenarios: the pauses between "
                           "them alone take {}; raise max_duration or shorten the pauses",
                           format_duration(s.max_duration), format_duration(pauses)));
  }

  // A file the suite names, absolute; reported when it is not there.
  std::optional<std::string> path(const yaml::Node& map, std::string_view key,
                                  std::string_view what) {
    auto text = r_.text(map, key, what);
    if (!text) return std::nullopt;
    if (text->empty()) {
      r_.error(map[key], fmt::format("{} is empty; name a file", what));
      return std::nullopt;
    }
    const fs::path written(*text);
    const fs::path full =
        (written.is_absolute() ? written : directory_ / written).lexically_normal();
    std::error_code error;
    const fs::file_status status = fs::status(full, error);
    const std::string relative_note =
        written.is_absolute()
            ? ""
            : fmt::format(" (a relative path starts from the suite file's folder, {})",
                          directory_.string());
    if (!fs::exists(status)) {
      r_.error(map[key], fmt::format("{} {} does not exist: there is no {}{}", what, *text,
                                     full.string(), relative_note));
      return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
      r_.error(map[key],
               fmt::format("{} {} is not a file: {} is a {}{}", what, *text, full.string(),
                           fs::is_directory(status) ? "folder" : "special file", relative_note));
      return std::nullopt;
    }
    return full.string();
  }

  YamlReader r_;
  fs::path directory_;
  std::vector<yaml::Node> pause_nodes_;  // of each scenario kept, in order; undefined if none
  bool broken_ = false;                  // a scenario entry had a problem
};

}  // namespace

std::string_view stop_on_name(StopOn s) {
  switch (s) {
    case StopOn::Deviation:
      return "deviation";
    case StopOn::Error:
      return "error";
    case StopOn::Never:
      return "never";
  }
  return "deviation";
}

bool stops_suite(StopOn stop_on, RunStatus status) {
  if (status == RunStatus::RevertFailed) return true;
  switch (stop_on) {
    case StopOn::Deviation:
      return status != RunStatus::Held;
    case StopOn::Error:
      return status == RunStatus::Error;
    case StopOn::Never:
      return false;
  }
  return true;
}

ParsedSuite parse_suite_text(const std::string& text, const std::string& file) {
  ParsedSuite out;
  const std::unique_ptr<yaml::Document> doc = load_yaml_document(
      text, file, "a suite starts with 'version: 1' (see docs/gameday.md)", out.errors);
  if (!doc) return out;
  Suite s = SuiteParser(file, out.errors).parse(doc->root());
  if (out.errors.empty()) out.suite = std::move(s);
  sort_by_place(out.errors);
  return out;
}

ParsedSuite parse_suite_file(const std::string& path) {
  ParsedSuite out;
  if (std::optional<std::string> text = read_text_file(path, out.errors))
    return parse_suite_text(*text, path);
  return out;
}

}  // namespace faultline
