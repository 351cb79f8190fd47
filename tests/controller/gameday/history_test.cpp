// --history DIR: finished journals copied in whole under names that sort by time, the oldest
// beyond `keep` removed, listed back oldest first with the fields a report needs.
#include "controller/gameday/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

// A journal as a run writes it (controller/report/journal.cpp), cut to the fields read here
// and one more that is carried along untouched.
std::string journal(std::string_view started_at, uint64_t seed, std::string_view status,
                    std::string_view ttr = "") {
  return fmt::format(
      R"({{"faultline_version":"0.1.0","scenario":{{"file":"scenarios/web-latency.yaml","title":"web latency"}},)"
      R"("seed":{},"started_at":"{}","status":"{}"{},"probes":[]}})",
      seed, started_at, status, ttr.empty() ? "" : fmt::format(R"(,"time_to_recover_ms":{})", ttr));
}

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(folder)) out.push_back(entry.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a finished journal is copied in whole under its start time and seed",
          "[gameday][history]") {
  const test::TempDir runs, history;
  const std::string text = journal("2026-12-08T01:00:00.123Z", 42, "held", "412.5");
  const std::string source = write(runs, "journal.json", text);
  const auto stored = store_journal(history.path(), "web-latency", source, 7);
  REQUIRE(stored.has_value());
  const std::string expected_path = history.path() + "/web-latency/20261208T010000.123Z-42.json";
  CHECK(*stored == StoredJournal{expected_path, "2026-12-08T01:00:00.123Z", 42, "web latency",
                                 "scenarios/web-latency.yaml", "held", 412.5});
  CHECK(read(expected_path) == text);
  CHECK(names_in(history.path() + "/web-latency") ==
        std::vector<std::string>{"20261208T010000.123Z-42.json"});
  // Storing the same run again replaces it.
  REQUIRE(store_journal(history.path(), "web-latency", source, 7).has_value());
  CHECK(names_in(history.path() + "/web-latency") ==
        std::vector<std::string>{"20261208T010000.123Z-42.json"});
}

TEST_CASE("the history keeps the newest journals and lists them oldest first",
          "[gameday][history]") {
  const test::TempDir runs, history;
  const std::string folder = history.path() + "/web-latency";
  auto store = [&](std::string_view started_at, uint64_t seed, std::string_view status,
                   std::string_view ttr, size_t keep) {
    const std::string source = write(runs, "j.json", journal(started_at, seed, status, ttr));
    const auto stored = store_journal(history.path(), "web-latency", source, keep);
    REQUIRE(stored.has_value());
    return stored->path;
  };
  store("2026-12-08T01:00:00.000Z", 1, "held", "400", 3);
  store("2026-12-09T01:00:00.000Z", 2, "held", "650", 3);
  store("2026-12-10T01:00:00.000Z", 3, "deviated", "", 3);
  // Some other file in the folder is not ours: never counted, never removed.
  std::ofstream(folder + "/notes.txt") << "kept\n";
  std::ofstream(folder + "/20261207T010000.000Z-9.json.tmp.123") << "{}";
  store("2026-12-11T01:00:00.000Z", 4, "held", "1900", 3);
  CHECK(names_in(folder) == std::vector<std::string>{"20261207T010000.000Z-9.json.tmp.123",
                                                     "20261209T010000.000Z-2.json",
                                                     "20261210T010000.000Z-3.json",
                                                     "20261211T010000.000Z-4.json", "notes.txt"});
  const auto listed = list_history(history.path(), "web-latency");
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[0].started_at == "2026-12-09T01:00:00.000Z");
  CHECK((*listed)[0].time_to_recover_ms == 650.0);
  CHECK((*listed)[1].status == "deviated");
  CHECK_FALSE((*listed)[1].time_to_recover_ms.has_value());
  CHECK((*listed)[2].seed == 4);
  CHECK((*listed)[2].time_to_recover_ms == 1900.0);
  CHECK((*listed)[2].path == folder + "/20261211T010000.000Z-4.json");

  // A journal older than all that are kept is itself the oldest beyond keep.
  const std::string late = store("2026-12-01T01:00:00.000Z", 5, "held", "", 3);
  CHECK_FALSE(fs::exists(late));
  // Same start, two seeds: ordered by seed as a number.
  store("2026-12-11T01:00:00.000Z", 10, "held", "", 4);
  CHECK(list_history(history.path(), "web-latency")->back().seed == 10);

  const auto removed = prune_history(history.path(), "web-latency", 1);
  REQUIRE(removed.has_value());
  CHECK(*removed == std::vector<std::string>{folder + "/20261209T010000.000Z-2.json",
                                             folder + "/20261210T010000.000Z-3.json",
                                             folder + "/20261211T010000.000Z-4.json"});
  CHECK(names_in(folder) == std::vector<std::string>{"20261207T010000.000Z-9.json.tmp.123",
                                                     "20261211T010000.000Z-10.json", "notes.txt"});
}

TEST_CASE("a scenario without a history lists none", "[gameday][history]") {
  const test::TempDir history;
  const auto listed = list_history(history.path() + "/absent", "web-latency");
  REQUIRE(listed.has_value());
  CHECK(listed->empty());
  CHECK(prune_history(history.path(), "web-latency", 3)->empty());
}

TEST_CASE("what a history refuses to store, and why", "[gameday][history]") {
  const test::TempDir runs, history;
  auto refusal = [&](const std::string& text, std::string_view name = "web-latency",
                     size_t keep = 7) {
    const std::string source = write(runs, "journal.json", text);
    const auto stored = store_journal(history.path(), name, source, keep);
    REQUIRE_FALSE(stored.has_value());
    return stored.error().message;
  };
  const std::string source = runs.file("journal.json");
  CHECK(refusal(journal("2026-12-08T01:00:00.123Z", 42, "running")) ==
        source +
            " is the journal of a run that has not finished (status running); a history "
            "keeps finished runs only");
  CHECK(refusal("{\"seed\": 1") == source + " is not a journal: it is not a JSON object");
  CHECK(refusal(R"({"started_at":"2026-12-08T01:00:00.123Z","status":"held"})") ==
        source + " is not a journal: it has no seed (a whole number)");
  CHECK(refusal(R"({"started_at":"2026-12-08T01:00:00.123Z","seed":-1,"status":"held"})") ==
        source + " is not a journal: it has no seed (a whole number)");
  CHECK(refusal(R"({"seed":1,"status":"held"})") ==
        source + " is not a journal: it has no started_at (a string)");
  CHECK(refusal(R"({"seed":1,"started_at":"2026-12-08 01:00:00","status":"held"})") ==
        source +
            ": started_at '2026-12-08 01:00:00' is not a UTC time such as "
            "2026-12-08T01:00:00.123Z");
  CHECK(refusal(R"({"seed":1,"started_at":"2026-12-08T01:00:00.123Z","status":"held"})") ==
        source + " is not a journal: it has no scenario (an object)");
  CHECK(refusal(R"({"seed":1,"started_at":"2026-12-08T01:00:00.123Z","status":"held",)"
                R"("scenario":{"file":"x.yaml"}})") ==
        source + " is not a journal: it has no scenario.title (a string)");
  CHECK(refusal(journal("2026-12-08T01:00:00.123Z", 42, "held"), "../elsewhere") ==
        "'../elsewhere' is not a history folder name; names are lower-case letters, digits and "
        "'-' (history_slug)");
  CHECK(refusal(journal("2026-12-08T01:00:00.123Z", 42, "held"), "web-latency", 0) ==
        "a history keeps at least one journal (keep: 0)");
  const auto absent = store_journal(history.path(), "web", runs.file("none.json"), 7);
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().message ==
        "cannot read " + runs.file("none.json") + ": No such file or directory");
  // Nothing was written for any of them.
  CHECK(fs::is_empty(history.path()));
}

TEST_CASE("a journal in the history that cannot be read is named", "[gameday][history]") {
  const test::TempDir history;
  fs::create_directories(history.file("web"));
  const std::string broken = history.file("web/20261208T010000.123Z-42.json");
  std::ofstream(broken) << "{\"seed\": 42";
  const auto listed = list_history(history.path(), "web");
  REQUIRE_FALSE(listed.has_value());
  CHECK(listed.error().message == broken + " is not a journal: it is not a JSON object");
}

TEST_CASE("history folder names are slugs", "[gameday][history]") {
  CHECK(history_slug("web-latency") == "web-latency");
  CHECK(history_slug("Web Latency (p99)") == "web-latency-p99");
  CHECK(history_slug("  kill_worker.v2  ") == "kill-worker-v2");
  CHECK(history_slug("Ünïcode") == "n-code");
  CHECK(history_slug("") == "scenario");
  CHECK(history_slug("---") == "scenario");
}

}  // namespace faultline
