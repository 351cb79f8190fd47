// Game-day suite files: a good file read field by field with its paths resolved against the
// suite's folder, and every mistake reported at its place with the fix.
#include "controller/gameday/suite.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/controller/gameday/tzdata.h"
#include "tests/support/temp_dir.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;

// A folder holding a suite's neighbours: two scenarios, one more in a subfolder, an inventory
// and a folder that is not a file. The scenarios are not read by the suite's parser.
struct SuiteFolder {
  SuiteFolder() {
    test::skip_without_tzdata();
    std::filesystem::create_directories(dir.file("sub"));
    std::filesystem::create_directories(dir.file("folder.yaml"));
    for (const char* name : {"web-latency.yaml", "kill-worker.yaml", "sub/other.yaml",
                             "sub/web-latency.yaml", "sub/absolute.yaml", "inventory.yaml"})
      std::ofstream(dir.file(name)) << "version: 1\n";
  }
  std::string suite() const { return dir.file("suite.yaml"); }

  test::TempDir dir;
};

Suite parse_valid(const std::string& text, const std::string& file) {
  ParsedSuite parsed = parse_suite_text(text, file);
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.errors.empty());
  REQUIRE(parsed.suite.has_value());
  return std::move(*parsed.suite);
}

std::vector<std::string> errors_of(const std::string& text, const std::string& file) {
  const ParsedSuite parsed = parse_suite_text(text, file);
  CHECK_FALSE(parsed.suite.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

constexpr const char* kHead = "version: 1\ntitle: t\nmax_duration: 1h\n";

}  // namespace

TEST_CASE("the example suite reads as written", "[gameday][suite]") {
  test::skip_without_tzdata();
  const std::string dir = FAULTLINE_SOURCE_DIR "/scenarios";
  const ParsedSuite parsed = parse_suite_file(dir + "/gameday-nightly.yaml");
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.suite.has_value());
  const Suite& s = *parsed.suite;
  CHECK(s.file == dir + "/gameday-nightly.yaml");
  CHECK(s.title == "Nightly game day against staging");
  CHECK_FALSE(s.inventory.has_value());
  CHECK(s.stop_on == StopOn::Deviation);
  CHECK(s.max_duration == 30min);
  REQUIRE(s.window.has_value());
  CHECK(describe_window(*s.window) == "mon-fri 02:00-05:00 Europe/Berlin");
  CHECK(s.window->from == 2h);
  CHECK(s.window->to == 5h);
  CHECK(s.window->days == std::array<bool, 7>{false, true, true, true, true, true, false});
  CHECK(s.history_keep == 7);
  REQUIRE(s.scenarios.size() == 3);
  CHECK(s.scenarios[0].file == dir + "/process-kill-repeat.yaml");
  CHECK(s.scenarios[0].written == "process-kill-repeat.yaml");
  CHECK(s.scenarios[0].history == "process-kill-repeat");
  CHECK(s.scenarios[0].pause_after == 30s);
  CHECK(s.scenarios[0].at.line == 15);
  CHECK(s.scenarios[0].at.column == 5);
  CHECK(s.scenarios[1].file == dir + "/cpu-stress.yaml");
  CHECK(s.scenarios[1].pause_after == 1min);
  CHECK(s.scenarios[2].file == dir + "/network-partition.yaml");
  CHECK(s.scenarios[2].pause_after == 0s);
}

TEST_CASE("a suite's paths start from its folder, and the defaults", "[gameday][suite]") {
  const SuiteFolder f;
  const std::string text = fmt::format(R"({}inventory: ./inventory.yaml
scenarios:
  - file: web-latency.yaml
  - file: sub/../kill-worker.yaml
  - {{file: sub/other.yaml, pause_after: 0s}}
  - file: {}
)",
                                       kHead, f.dir.file("sub/absolute.yaml"));
  const Suite s = parse_valid(text, f.suite());
  CHECK(s.file == f.suite());
  CHECK(s.inventory == f.dir.file("inventory.yaml"));
  CHECK(s.stop_on == StopOn::Deviation);
  CHECK_FALSE(s.window.has_value());
  CHECK(s.history_keep == Suite::kDefaultHistoryKeep);
  REQUIRE(s.scenarios.size() == 4);
  CHECK(s.scenarios[0].file == f.dir.file("web-latency.yaml"));
  CHECK(s.scenarios[1].file == f.dir.file("kill-worker.yaml"));
  CHECK(s.scenarios[1].written == "sub/../kill-worker.yaml");
  CHECK(s.scenarios[2].file == f.dir.file("sub/other.yaml"));
  CHECK(s.scenarios[2].history == "other");
  CHECK(s.scenarios[3].file == f.dir.file("sub/absolute.yaml"));
  CHECK(s.scenarios[3].written == f.dir.file("sub/absolute.yaml"));
  CHECK(s.scenarios[3].history == "absolute");
}

TEST_CASE("a relative suite path is made absolute from the working folder", "[gameday][suite]") {
  const SuiteFolder f;
  const std::filesystem::path was = std::filesystem::current_path();
  std::filesystem::current_path(f.dir.path());
  const ParsedSuite parsed = parse_suite_text(
      std::string(kHead) + "scenarios: [{file: kill-worker.yaml}]\n", "suite.yaml");
  std::filesystem::current_path(was);
  REQUIRE(parsed.suite.has_value());
  CHECK(parsed.suite->file == f.suite());
  CHECK(parsed.suite->scenarios[0].file == f.dir.file("kill-worker.yaml"));
}

TEST_CASE("stop_on, the window's days and the history's keep", "[gameday][suite]") {
  const SuiteFolder f;
  const Suite s = parse_valid(R"(version: 1
title: weekend nights
stop_on: never
max_duration: 90m
window: {days: [sun, sat], from: "22:00", to: "02:00", time_zone: UTC}
history: {keep: 30}
scenarios: [{file: web-latency.yaml}]
)",
                              f.suite());
  CHECK(s.stop_on == StopOn::Never);
  CHECK(s.max_duration == 90min);
  REQUIRE(s.window.has_value());
  CHECK(describe_window(*s.window) == "sat, sun 22:00-02:00 UTC");
  CHECK(s.window->time_zone == "UTC");
  CHECK(s.history_keep == 30);
  CHECK(parse_valid(std::string(kHead) + "stop_on: error\nscenarios: [{file: web-latency.yaml}]\n",
                    f.suite())
            .stop_on == StopOn::Error);
  // Without days: every day. 24:00 ends at midnight.
  const Suite every = parse_valid(std::string(kHead) +
                                      "window: {from: \"00:00\", to: \"24:00\", time_zone: "
                                      "Europe/Berlin}\nscenarios: [{file: web-latency.yaml}]\n",
                                  f.suite());
  CHECK(describe_window(*every.window) == "every day 00:00-24:00 Europe/Berlin");
}

// The misspelt max_duraton is reported once, with the suggestion, not also as missing; a
// scenario entry with a problem is still compared with the later ones.
TEST_CASE("every problem of a suite is reported at its place", "[gameday][suite]") {
  const SuiteFolder f;
  const std::string s = f.suite();
  const std::string d = f.dir.path();
  CHECK(errors_of(R"(version: 2
title: ""
stop_on: deviaton
max_duraton: 2h
window:
  days: [mon, tues, mon, 3]
  from: "2:00"
  to: "25:00"
  time_zone: Europe/Berln
histroy: {keep: 7}
inventory: inventroy.yaml
scenarios:
  - file: web-latency.yaml
    pause_after: 30
  - file: missing.yaml
  - file: sub
  - file: folder.yaml
  - file: /nowhere/x.yaml
  - web-latency.yaml
  - {file: kill-worker.yaml, puase_after: 1m}
  - {pause_after: 1s}
  - file: ./web-latency.yaml
  - file: sub/web-latency.yaml
)",
                  s) == std::vector<std::string>{
                            s + ":1:10: error: version 2 is not supported; this faultline reads "
                                "version 1",
                            s + ":2:8: error: title is empty; give the suite a one-line title for "
                                "its reports",
                            s + ":3:10: error: stop_on 'deviaton' is not known (did you mean "
                                "'deviation'?); write deviation (stop after a scenario that did "
                                "not hold, the default), error (only after an error) or never (run "
                                "every scenario)",
                            s + ":4:1: error: unknown key 'max_duraton' in the suite (did you mean "
                                "'max_duration'?); allowed keys: version, title, inventory, "
                                "stop_on, max_duration, window, history, scenarios",
                            s + ":6:15: error: window.days: 'tues' is not a day (did you mean "
                                "'tue'?); write mon, tue, wed, thu, fri, sat or sun",
                            s + ":6:21: error: window.days lists 'mon' twice; keep one",
                            s + ":6:26: error: window.days: '3' is not a day; write mon, tue, wed, "
                                "thu, fri, sat or sun",
                            s + ":7:9: error: window.from: '2:00' is not a time of day; write "
                                "HH:MM on the 24-hour clock, from 00:00 to 23:59",
                            s + ":8:7: error: window.to: '25:00' is not a time of day; write HH:MM "
                                "on the 24-hour clock, from 00:00 to 24:00",
                            s + ":9:14: error: window.time_zone: unknown time zone 'Europe/Berln' "
                                "(did you mean 'Europe/Berlin'?); write an IANA name such as "
                                "Europe/Berlin, America/New_York or UTC (the names are the files "
                                "under /usr/share/zoneinfo)",
                            s + ":10:1: error: unknown key 'histroy' in the suite (did you mean "
                                "'history'?); allowed keys: version, title, inventory, stop_on, "
                                "max_duration, window, history, scenarios",
                            fmt::format("{}:11:12: error: inventory inventroy.yaml does not "
                                        "exist: there is no {}/inventroy.yaml (a relative path "
                                        "starts from the suite file's folder, {})",
                                        s, d, d),
                            s + ":14:18: error: scenarios.pause_after: duration '30' has no "
                                "unit; add one of ns, us, ms, s, m, h (e.g. '30s')",
                            fmt::format("{}:15:11: error: scenarios.file missing.yaml does not "
                                        "exist: there is no {}/missing.yaml (a relative path "
                                        "starts from the suite file's folder, {})",
                                        s, d, d),
                            fmt::format("{}:16:11: error: scenarios.file sub is not a file: "
                                        "{}/sub is a folder (a relative path starts from the "
                                        "suite file's folder, {})",
                                        s, d, d),
                            fmt::format("{}:17:11: error: scenarios.file folder.yaml is not a "
                                        "file: {}/folder.yaml is a folder (a relative path starts "
                                        "from the suite file's folder, {})",
                                        s, d, d),
                            s + ":18:11: error: scenarios.file /nowhere/x.yaml does not exist: "
                                "there is no /nowhere/x.yaml",
                            s + ":19:5: error: each scenario is a mapping such as '- file: "
                                "web-latency.yaml'; write '- file: web-latency.yaml'",
                            s + ":20:30: error: unknown key 'puase_after' in a scenario of the "
                                "suite (did you mean 'pause_after'?); allowed keys: file, "
                                "pause_after",
                            s + ":21:5: error: a scenario of the suite is missing the required key "
                                "'file'",
                            s + ":22:11: error: scenario ./web-latency.yaml is already listed at "
                                "line 13; a suite runs each scenario once (copy the file to run it "
                                "twice)",
                            s + ":23:11: error: scenarios sub/web-latency.yaml and "
                                "web-latency.yaml (line 13) would share the history folder "
                                "'web-latency'; rename one of the files",
                        });
}

TEST_CASE("a suite's required parts and the shape of its window", "[gameday][suite]") {
  const SuiteFolder f;
  const std::string s = f.suite();
  CHECK(errors_of("stop_on: never\n", s) ==
        std::vector<std::string>{
            s + ":1:1: error: the suite is missing the required key 'version'",
            s + ":1:1: error: the suite is missing the required key 'title'",
            s + ":1:1: error: the suite is missing the required key 'max_duration'",
            s + ":1:1: error: the suite is missing the required key 'scenarios'"});
  CHECK(errors_of(std::string(kHead) + "scenarios: []\n", s) ==
        std::vector<std::string>{s + ":4:12: error: scenarios is empty; list the scenario files "
                                     "to run, in order, such as - file: web-latency.yaml"});
  CHECK(errors_of(std::string(kHead) + "scenarios: {file: web-latency.yaml}\n", s) ==
        std::vector<std::string>{s + ":4:12: error: scenarios must be a list, not a mapping; "
                                     "start each item with '- '"});
  CHECK(errors_of(std::string(kHead) + R"(window: {days: [], from: "02:00", to: "02:00"}
scenarios: [{file: web-latency.yaml}]
)",
                  s) ==
        std::vector<std::string>{
            s + ":4:9: error: window is missing the required key 'time_zone'",
            s + ":4:16: error: window.days is empty; list the days an opening may start on, such "
                "as [mon, tue, wed, thu, fri], or leave days out for every day",
            s + ":4:39: error: window.to is the same time as window.from (02:00): the window "
                "would never be open; give the time it closes, such as to: \"05:00\""});
  CHECK(errors_of(std::string(kHead) + R"(window: {days: mon, time_zone: UTC, form: "01:00"}
history: {keep: 0}
scenarios: [{file: web-latency.yaml}]
)",
                  s) ==
        std::vector<std::string>{
            s + ":4:9: error: window is missing the required key 'to'",
            s + ":4:16: error: window.days must be a list, not a scalar; start each item with '- '",
            s + ":4:37: error: unknown key 'form' in window (did you mean 'from'?); allowed keys: "
                "days, from, to, time_zone",
            s + ":5:17: error: history.keep must be between 1 and 1000 (got 0)"});
  CHECK(errors_of("version: 1\ntitle: t\nmax_duration: 500ms\nscenarios: [{file: "
                  "web-latency.yaml}]\n",
                  s) == std::vector<std::string>{s + ":3:15: error: max_duration must be at "
                                                     "least 1s (got 500ms)"});
}

TEST_CASE("pauses must leave time for the scenarios and have something to wait for",
          "[gameday][suite]") {
  const SuiteFolder f;
  const std::string s = f.suite();
  CHECK(errors_of(R"(version: 1
title: t
max_duration: 2m
scenarios:
  - {file: web-latency.yaml, pause_after: 1m}
  - {file: kill-worker.yaml, pause_after: 1m}
  - {file: sub/other.yaml, pause_after: 5s}
)",
                  s) ==
        std::vector<std::string>{
            s + ":3:15: error: max_duration 2m leaves no time for the scenarios: the pauses "
                "between them alone take 2m; raise max_duration or shorten the pauses",
            s + ":7:41: error: pause_after on the last scenario has nothing to wait for; remove "
                "it"});
}

TEST_CASE("a suite that is not YAML, or not there", "[gameday][suite]") {
  const SuiteFolder f;
  const std::string s = f.suite();
  CHECK(errors_of("", s) == std::vector<std::string>{s + ":1:1: error: the file is empty; a suite "
                                                         "starts with 'version: 1' (see "
                                                         "docs/gameday.md)"});
  CHECK(errors_of("- a\n- b\n", s) ==
        std::vector<std::string>{s + ":1:1: error: the suite must be a mapping of keys to values, "
                                     "not a list"});
  const ParsedSuite missing = parse_suite_file(f.dir.file("none.yaml"));
  CHECK_FALSE(missing.suite.has_value());
  REQUIRE(missing.errors.size() == 1);
  CHECK(format_diagnostic(missing.errors[0]) ==
        f.dir.file("none.yaml") + ": error: cannot read the file: No such file or directory");
}

TEST_CASE("which results stop a suite", "[gameday][suite]") {
  using enum RunStatus;
  const RunStatus all[] = {Held, Deviated, Aborted, Error, RevertFailed};
  auto stopping = [&](StopOn on) {
    std::vector<std::string_view> out;
    for (RunStatus st : all)
      if (stops_suite(on, st)) out.push_back(status_name(st));
    return out;
  };
  CHECK(stopping(StopOn::Deviation) ==
        std::vector<std::string_view>{"deviated", "aborted", "error", "revert_failed"});
  CHECK(stopping(StopOn::Error) == std::vector<std::string_view>{"error", "revert_failed"});
  CHECK(stopping(StopOn::Never) == std::vector<std::string_view>{"revert_failed"});
  CHECK(stop_on_name(StopOn::Deviation) == "deviation");
  CHECK(stop_on_name(StopOn::Error) == "error");
  CHECK(stop_on_name(StopOn::Never) == "never");
}

}  // namespace faultline
